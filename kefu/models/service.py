"""Service-centre data: customers, registered products, orders, tickets, events, surveys.

Status, priority and tier values are the Chinese words used by staff; the
constants below are the only place they are spelt out in code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, relationship

from kefu import clock
from kefu.models.base import Base, JSONType, UTCDateTime
from kefu.settings import PRIORITIES, TICKET_TYPES

TIERS = ("普通", "银卡", "金卡", "VIP")
PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}

ACCEPTED, DISPATCHED, IN_PROGRESS, RESOLVED, SURVEYED, CLOSED, CANCELLED = (
    "受理", "已派单", "处理中", "已解决", "已回访", "已关闭", "已取消",
)
STATUSES = (ACCEPTED, DISPATCHED, IN_PROGRESS, RESOLVED, SURVEYED, CLOSED, CANCELLED)
OPEN_STATUSES = (ACCEPTED, DISPATCHED, IN_PROGRESS)  # work still to do; may be cancelled
FINAL_STATUSES = (CLOSED, CANCELLED)
# Legal moves. Reopening (已解决/已回访 -> 处理中) covers "it broke again".
TRANSITIONS: Dict[str, tuple] = {
    ACCEPTED: (DISPATCHED, IN_PROGRESS, CANCELLED),
    DISPATCHED: (IN_PROGRESS, CANCELLED),
    IN_PROGRESS: (RESOLVED, DISPATCHED, CANCELLED),
    RESOLVED: (SURVEYED, CLOSED, IN_PROGRESS),
    SURVEYED: (CLOSED, IN_PROGRESS),
    CLOSED: (),
    CANCELLED: (),
}

EVENT_KINDS = (
    "created", "status_changed", "urged", "assigned", "note",
    "rescheduled", "cancelled", "escalated", "survey",
)

ORDER_STATUSES = ("待付款", "已付款", "已完成", "已取消", "退款中", "已退款")
SHIPPING_STATUSES = ("待发货", "已发货", "运输中", "派送中", "已签收", "已退回")


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (CheckConstraint(_in("tier", TIERS), name="tier"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    phone: Mapped[str] = Column(String(20), nullable=False, unique=True)
    name: Mapped[Optional[str]] = Column(String(50))
    tier: Mapped[str] = Column(String(8), nullable=False, default="普通")
    city: Mapped[Optional[str]] = Column(String(32))
    address: Mapped[Optional[str]] = Column(String(255))
    created_at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)

    products: Mapped[List["RegisteredProduct"]] = relationship(
        "RegisteredProduct", back_populates="customer", order_by="RegisteredProduct.id"
    )

    def __repr__(self) -> str:
        return f"Customer(id={self.id}, phone={self.phone!r})"


class RegisteredProduct(Base):
    """A product the customer owns -- the maintenance card (保养卡)."""

    __tablename__ = "registered_products"

    id: Mapped[int] = Column(Integer, primary_key=True)
    customer_id: Mapped[int] = Column(
        Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    category: Mapped[str] = Column(String(16), nullable=False)  # canonical catalogue product
    model: Mapped[Optional[str]] = Column(String(64))
    serial: Mapped[Optional[str]] = Column(String(64))
    purchase_date: Mapped[Optional[dt.date]] = Column(Date)
    install_date: Mapped[Optional[dt.date]] = Column(Date)
    installer: Mapped[Optional[str]] = Column(String(50))
    warranty_end: Mapped[Optional[dt.date]] = Column(Date)
    next_maintenance: Mapped[Optional[dt.date]] = Column(Date)
    maintenance_note: Mapped[Optional[str]] = Column(String(255))  # e.g. 更换 RO 膜滤芯
    created_at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)

    customer: Mapped[Customer] = relationship(Customer, back_populates="products")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint(_in("shipping_status", SHIPPING_STATUSES), name="shipping_status"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    order_no: Mapped[str] = Column(String(14), nullable=False, unique=True)  # DD + 12 digits
    customer_id: Mapped[int] = Column(
        Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    items: Mapped[List[Dict[str, Any]]] = Column(JSONType, nullable=False, default=list)
    total_amount: Mapped[Optional[int]] = Column(Integer)  # in fen (分), no float money
    status: Mapped[str] = Column(String(8), nullable=False, default="已付款")
    shipping_status: Mapped[str] = Column(String(8), nullable=False, default="待发货")
    carrier: Mapped[Optional[str]] = Column(String(32))
    tracking_no: Mapped[Optional[str]] = Column(String(64))
    ordered_at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)
    paid_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    shipped_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    delivered_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    expected_delivery: Mapped[Optional[dt.date]] = Column(Date)
    updated_at: Mapped[dt.datetime] = Column(
        UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now
    )

    customer: Mapped[Customer] = relationship(Customer)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(_in("type", TICKET_TYPES), name="type"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index("ix_tickets_customer_created", "customer_id", "created_at"),
        Index("ix_tickets_status_resolution_due", "status", "resolution_due"),
        Index("ix_tickets_created_at", "created_at"),  # analytics (0005)
        Index("ix_tickets_resolved_at", "resolved_at"),  # analytics (0005)
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    ticket_no: Mapped[str] = Column(String(24), nullable=False, unique=True)
    type: Mapped[str] = Column(String(16), nullable=False)
    customer_id: Mapped[Optional[int]] = Column(
        Integer, ForeignKey("customers.id", ondelete="SET NULL")
    )  # anonymous suggestions have none
    product: Mapped[Optional[str]] = Column(String(16))
    product_model: Mapped[Optional[str]] = Column(String(64))
    fault: Mapped[Optional[str]] = Column(String(32))
    description: Mapped[str] = Column(Text, nullable=False, default="")
    address: Mapped[Optional[str]] = Column(String(255))
    contact_name: Mapped[Optional[str]] = Column(String(50))
    priority: Mapped[str] = Column(String(4), nullable=False, default="普通")
    status: Mapped[str] = Column(String(8), nullable=False, default=ACCEPTED)
    department: Mapped[Optional[str]] = Column(String(32))
    group_name: Mapped[Optional[str]] = Column(String(32))
    assignee: Mapped[Optional[str]] = Column(String(64))
    appointment_start: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    appointment_end: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    first_response_due: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False)
    resolution_due: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False)
    first_responded_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    urge_count: Mapped[int] = Column(Integer, nullable=False, default=0)
    last_urged_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    escalated: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    escalation_reason: Mapped[Optional[str]] = Column(String(255))
    conversation_id: Mapped[Optional[str]] = Column(String(128), index=True)
    channel: Mapped[Optional[str]] = Column(String(32))
    idempotency_key: Mapped[Optional[str]] = Column(String(128), unique=True)
    extra: Mapped[Dict[str, Any]] = Column(JSONType, nullable=False, default=dict)
    created_at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at: Mapped[dt.datetime] = Column(
        UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now
    )
    resolved_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)
    closed_at: Mapped[Optional[dt.datetime]] = Column(UTCDateTime)  # closed or cancelled

    customer: Mapped[Optional[Customer]] = relationship(Customer)
    events: Mapped[List["TicketEvent"]] = relationship(
        "TicketEvent", back_populates="ticket", order_by="TicketEvent.id"
    )
    survey: Mapped[Optional["Survey"]] = relationship("Survey", back_populates="ticket", uselist=False)

    def __repr__(self) -> str:
        return f"Ticket({self.ticket_no!r}, {self.type}, {self.status})"


class TicketEvent(Base):
    """Append-only history of a ticket: every change adds a row, none is edited."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        Index("ix_ticket_events_kind_to_value", "kind", "to_value"),  # analytics: reopened tickets (0005)
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    ticket_id: Mapped[int] = Column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)
    actor: Mapped[str] = Column(String(64), nullable=False)  # customer / bot / agent:zhang
    kind: Mapped[str] = Column(String(16), nullable=False)
    from_value: Mapped[Optional[str]] = Column(String(255))
    to_value: Mapped[Optional[str]] = Column(String(255))
    note: Mapped[Optional[str]] = Column(Text)

    ticket: Mapped[Ticket] = relationship(Ticket, back_populates="events")


@event.listens_for(TicketEvent, "before_update")
@event.listens_for(TicketEvent, "before_delete")
def _events_are_append_only(mapper, connection, target) -> None:
    raise RuntimeError("ticket events are append-only")


class Survey(Base):
    """Satisfaction survey (回访): one per ticket."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        Index("ix_surveys_created_at", "created_at"),  # analytics (0005)
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    ticket_id: Mapped[int] = Column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    score: Mapped[int] = Column(SmallInteger, nullable=False)
    comment: Mapped[Optional[str]] = Column(Text)
    dimensions: Mapped[Optional[Dict[str, int]]] = Column(JSONType)
    created_at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)

    ticket: Mapped[Ticket] = relationship(Ticket, back_populates="survey")


class MaintenanceReminder(Base):
    """A maintenance/consumable reminder given for one due date of a registered product:
    the bot mentions each due period once (kefu/services/archive.py)."""

    __tablename__ = "maintenance_reminders"
    __table_args__ = (UniqueConstraint("product_id", "due_on", name="uq_maintenance_reminders_product_due"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    product_id: Mapped[int] = Column(
        Integer, ForeignKey("registered_products.id", ondelete="CASCADE"), nullable=False
    )
    due_on: Mapped[dt.date] = Column(Date, nullable=False)
    conversation_id: Mapped[Optional[str]] = Column(String(128))
    reminded_at: Mapped[dt.datetime] = Column(UTCDateTime, nullable=False, default=clock.now)


class TicketCounter(Base):
    """Per-prefix, per-day serial behind ticket numbers (BX20261122-0042)."""

    __tablename__ = "ticket_counters"

    prefix: Mapped[str] = Column(String(2), primary_key=True)
    day: Mapped[str] = Column(String(8), primary_key=True)  # YYYYMMDD, local date
    last_serial: Mapped[int] = Column(Integer, nullable=False)
