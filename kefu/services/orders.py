"""Orders: ownership-checked look-ups and plain summaries."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu import numbers
from kefu.errors import InvalidOrderNo, NotFound
from kefu.models import Order
from kefu.services.customers import owned_by
from kefu.settings import service_config

_ORDER_NO = numbers.ORDER_NO_RE


def normalize_order_no(raw: object) -> str:
    """``DD`` + 12 digits, upper case, spaces removed; InvalidOrderNo otherwise."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(raw or ""))).upper()
    if not _ORDER_NO.fullmatch(text):
        raise InvalidOrderNo("malformed order number", value=str(raw or ""))
    return text


def get_order_for_customer(
    session: Session,
    order_no: str,
    phone: Optional[str] = None,
    customer_id: Optional[int] = None,
) -> Order:
    """The order if it belongs to this customer; ``not_found`` for unknown AND for others' orders."""
    number = normalize_order_no(order_no)
    query = owned_by(select(Order).where(Order.order_no == number), Order.customer_id, phone, customer_id)
    order = session.execute(query).scalar_one_or_none()
    if order is None:
        raise NotFound("order not found", order_no=number)
    return order


def list_recent_orders(session: Session, customer_id: int, limit: int = 5) -> List[Order]:
    query = (
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.ordered_at.desc(), Order.id.desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def order_summary(order: Order) -> Dict[str, Any]:
    """JSON-ready facts about an order; times are ISO 8601 in the centre's time zone."""
    iso = service_config().local_iso
    return {
        "order_no": order.order_no,
        "items": order.items,
        "total_amount_yuan": None if order.total_amount is None else order.total_amount / 100,
        "status": order.status,
        "shipping_status": order.shipping_status,
        "carrier": order.carrier,
        "tracking_no": order.tracking_no,
        "ordered_at": iso(order.ordered_at),
        "paid_at": iso(order.paid_at),
        "shipped_at": iso(order.shipped_at),
        "delivered_at": iso(order.delivered_at),
        "expected_delivery": order.expected_delivery.isoformat() if order.expected_delivery else None,
    }
