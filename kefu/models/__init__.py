"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from kefu.models import analytics  # noqa: F401  (per-day tracker rollups for the dashboard)
from kefu.models import desk  # noqa: F401  (agents, handoffs -- desk engineer's tables)
from kefu.models.base import Base
from kefu.models.service import (
    Customer,
    MaintenanceReminder,
    Order,
    RegisteredProduct,
    Survey,
    Ticket,
    TicketCounter,
    TicketEvent,
)

__all__ = [
    "Base",
    "Customer",
    "MaintenanceReminder",
    "Order",
    "RegisteredProduct",
    "Survey",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
]
