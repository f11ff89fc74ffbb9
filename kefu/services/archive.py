"""A signed-in customer's archive (客户档案) and maintenance reminders (保养提醒).

Everything here is keyed by a customer id that the caller proved with a signed
customer token (kefu.tokens); nothing looks a customer up by a phone or name typed
in chat. Plain data only: actions turn it into messages, the desk into tables/CSV.

Maintenance: a registered product's due date is its maintenance card's
``next_maintenance`` when set, else the latest period boundary
(installation or purchase date + k x ``every_days`` from config/catalogue.yml) that
has been reached. A product is *due* from ``remind_days_before`` days ahead of that
date. The bot mentions each due date once (``maintenance_reminders``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefu import clock
from kefu.models import Customer, MaintenanceReminder, Order, RegisteredProduct, Ticket
from kefu.models.service import OPEN_STATUSES
from kefu.nlp.catalogue import Catalogue, Maintenance, load_catalogue
from kefu.services import customers, surveys
from kefu.services.orders import order_summary
from kefu.services.tickets import ticket_summary
from kefu.settings import service_config

IN_TRANSIT = ("已发货", "运输中", "派送中")
OPEN_TICKETS_SHOWN = 3
ORDERS_SHOWN = 3


@dataclass
class MaintenanceDue:
    product: RegisteredProduct
    item: str  # 更换滤芯
    due_on: dt.date
    reminded: bool  # the bot already mentioned this due date

    def as_dict(self) -> Dict[str, Any]:
        return {
            "product_id": self.product.id,
            "category": self.product.category,
            "model": self.product.model,
            "item": self.item,
            "due_on": self.due_on.isoformat(),
            "reminded": self.reminded,
        }


def _today(now: Optional[dt.datetime] = None) -> dt.date:
    return (now or clock.now()).astimezone(service_config().tz).date()


def maintenance_date(product: RegisteredProduct, spec: Optional[Maintenance], today: dt.date) -> Optional[dt.date]:
    """The product's maintenance date as of today: the card's ``next_maintenance``, else the
    latest period boundary reached (counting the reminder lead), else the first one ahead.
    None without a maintenance spec or a date to count from."""
    if spec is None:
        return None
    if product.next_maintenance is not None:
        return product.next_maintenance
    base = product.install_date or product.purchase_date
    if base is None:
        return None
    lead = dt.timedelta(days=spec.remind_days_before)
    every = dt.timedelta(days=spec.every_days)
    due = base + every
    while due + every <= today + lead:  # the latest boundary reached: one reminder per period
        due += every
    return due


def due_date(product: RegisteredProduct, spec: Optional[Maintenance], today: dt.date) -> Optional[dt.date]:
    """The product's current maintenance due date if it is due (or within the reminder lead), else None."""
    due = maintenance_date(product, spec, today)
    if due is None or spec is None:
        return None
    return due if due <= today + dt.timedelta(days=spec.remind_days_before) else None


def product_card(product: RegisteredProduct, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """A registered product (保养卡) as the bot quotes it: model, warranty end, maintenance date."""
    spec = getattr(load_catalogue().products.get(product.category), "maintenance", None)
    due = maintenance_date(product, spec, _today(now))
    return {
        "id": product.id,
        "category": product.category,
        "model": product.model,
        "warranty_end": product.warranty_end.isoformat() if product.warranty_end else None,
        "maintenance_item": spec.item if spec is not None else None,
        "maintenance_on": due.isoformat() if due else None,
    }


def _due_items(session: Session, products: Iterable[RegisteredProduct], today: dt.date,
               catalogue: Catalogue) -> List[MaintenanceDue]:
    found: List[MaintenanceDue] = []
    for product in products:
        spec = getattr(catalogue.products.get(product.category), "maintenance", None)
        due = due_date(product, spec, today)
        if due is not None:
            found.append(MaintenanceDue(product, spec.item, due, False))
    if found:
        reminded = set(session.execute(
            select(MaintenanceReminder.product_id, MaintenanceReminder.due_on)
            .where(MaintenanceReminder.product_id.in_([d.product.id for d in found]))
        ).all())
        for item in found:
            item.reminded = (item.product.id, item.due_on) in reminded
    return sorted(found, key=lambda d: (d.due_on, d.product.id))


def maintenance_due(session: Session, *, customer_id: Optional[int] = None,
                    now: Optional[dt.datetime] = None) -> List[MaintenanceDue]:
    """Products due for maintenance: one customer's (the bot), or everyone's (the supervisor's campaign list)."""
    catalogue = load_catalogue()
    categories = [name for name, p in catalogue.products.items() if p.maintenance is not None]
    query = select(RegisteredProduct).where(RegisteredProduct.category.in_(categories))
    if customer_id is not None:
        query = query.where(RegisteredProduct.customer_id == customer_id)
    products = session.execute(query.order_by(RegisteredProduct.id)).scalars()
    return _due_items(session, products, _today(now), catalogue)


def record_reminders(session: Session, items: Iterable[MaintenanceDue], *, conversation_id: Optional[str] = None,
                     now: Optional[dt.datetime] = None) -> int:
    """Remember that these due dates were mentioned; a repeat (parallel chat) is ignored. Returns rows added."""
    added = 0
    for item in items:
        try:
            with session.begin_nested():
                session.add(MaintenanceReminder(product_id=item.product.id, due_on=item.due_on,
                                                conversation_id=conversation_id, reminded_at=now or clock.now()))
            added += 1
        except IntegrityError:
            pass
        item.reminded = True
    return added


def customer_archive(session: Session, customer_id: int, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """What the bot starts from for a verified customer: name, tier, open tickets, orders
    in transit, registered products, maintenance to mention (not yet mentioned) and a
    resolved ticket waiting for its 回访 survey."""
    now = now or clock.now()
    customer: Customer = customers.get_customer(session, customer_id)
    open_tickets = list(session.execute(
        select(Ticket).where(Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(OPEN_TICKETS_SHOWN)
    ).scalars())
    orders = list(session.execute(
        select(Order).where(Order.customer_id == customer_id, Order.shipping_status.in_(IN_TRANSIT))
        .order_by(Order.ordered_at.desc(), Order.id.desc()).limit(ORDERS_SHOWN)
    ).scalars())
    products = customers.registered_products(session, customer_id)
    due = [d for d in maintenance_due(session, customer_id=customer_id, now=now) if not d.reminded]
    survey_ticket = surveys.followup_for_customer(session, customer_id, now=now)
    return {
        "customer_id": customer.id,
        "name": customer.name,
        "tier": customer.tier,
        "open_tickets": [ticket_summary(t, now) for t in open_tickets],
        "orders_in_transit": [order_summary(o) for o in orders],
        "products": [{"id": p.id, "category": p.category, "model": p.model,
                      "warranty_end": p.warranty_end.isoformat() if p.warranty_end else None} for p in products],
        "maintenance": [d.as_dict() for d in due],
        "survey_ticket": ticket_summary(survey_ticket, now) if survey_ticket is not None else None,
    }


def mark_archive_reminders(session: Session, customer_id: int, product_ids: Iterable[int], *,
                           conversation_id: Optional[str] = None, now: Optional[dt.datetime] = None) -> int:
    """Record that the greeting mentioned these products' current due dates (once per period)."""
    wanted = set(product_ids)
    items = [d for d in maintenance_due(session, customer_id=customer_id, now=now) if d.product.id in wanted]
    return record_reminders(session, items, conversation_id=conversation_id, now=now)
