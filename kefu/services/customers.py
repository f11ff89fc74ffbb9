"""Customers (客户档案): phone numbers, look-ups, registered products, complaint history."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import List, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from kefu import clock, numbers
from kefu.errors import InvalidPhone, NotFound
from kefu.models import Customer, RegisteredProduct, Ticket

_MOBILE = numbers.MOBILE_RE
_SEPARATORS = re.compile(r"[\s\-()./]")
_COUNTRY_CODE = re.compile(r"^(?:\+|00)?86(?=1\d{10}$)")


def normalize_phone(raw: object) -> str:
    """Mainland mobile number as 11 digits; accepts +86/0086, spaces, dashes, full-width digits."""
    text = unicodedata.normalize("NFKC", str(raw or ""))  # １３８ -> 138, （ -> (
    digits = _COUNTRY_CODE.sub("", _SEPARATORS.sub("", text))
    if not _MOBILE.fullmatch(digits):
        raise InvalidPhone("not a mainland mobile number", value=str(raw or ""))
    return digits


def mask_phone(phone: str) -> str:
    """138****5678 -- for messages that others may see."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "****"


def find_customer_by_phone(session: Session, phone: str) -> Optional[Customer]:
    return session.execute(
        select(Customer).where(Customer.phone == normalize_phone(phone))
    ).scalar_one_or_none()


def owned_by(query: Select, customer_fk, phone: Optional[str] = None, customer_id: Optional[int] = None) -> Select:
    """Restrict ``query`` to rows whose ``customer_fk`` is this customer (by id and/or phone).

    Callers answer ``not_found`` when nothing matches, so someone else's record
    looks exactly like an unknown one.
    """
    if phone is None and customer_id is None:
        raise ValueError("phone or customer_id is required to prove ownership")
    query = query.join(Customer, customer_fk == Customer.id)
    if customer_id is not None:
        query = query.where(customer_fk == customer_id)
    if phone is not None:
        query = query.where(Customer.phone == normalize_phone(phone))
    return query


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer not found", customer_id=customer_id)
    return customer


def get_or_create_customer(
    session: Session,
    phone: str,
    *,
    name: Optional[str] = None,
    city: Optional[str] = None,
    address: Optional[str] = None,
) -> Tuple[Customer, bool]:
    """The customer with this phone, created if new; blanks in the archive are filled in.

    Safe under concurrency: a parallel insert of the same phone is caught in a
    SAVEPOINT and the winner's row is returned.
    """
    phone = normalize_phone(phone)
    customer = find_customer_by_phone(session, phone)
    if customer is None:
        customer = Customer(phone=phone, name=name, city=city, address=address)
        try:
            with session.begin_nested():
                session.add(customer)
            return customer, True
        except IntegrityError:
            customer = find_customer_by_phone(session, phone)
            if customer is None:
                raise
    for field, value in (("name", name), ("city", city), ("address", address)):
        if value and not getattr(customer, field):
            setattr(customer, field, value)
    return customer, False


def registered_products(
    session: Session, customer_id: int, category: Optional[str] = None
) -> List[RegisteredProduct]:
    query = select(RegisteredProduct).where(RegisteredProduct.customer_id == customer_id)
    if category:
        query = query.where(RegisteredProduct.category == category)
    return list(session.execute(query.order_by(RegisteredProduct.id)).scalars())


def complaint_count(
    session: Session, customer_id: int, days: int = 30, now: Optional[dt.datetime] = None
) -> int:
    """Complaint tickets the customer opened in the last ``days`` days (cancelled ones too)."""
    now = now or clock.now()
    since = now - dt.timedelta(days=days)
    return session.execute(
        select(func.count(Ticket.id)).where(
            Ticket.customer_id == customer_id,
            Ticket.type == "complaint",
            Ticket.created_at >= since,
            Ticket.created_at <= now,
        )
    ).scalar_one()
