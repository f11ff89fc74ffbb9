"""Ticket priority (抢修 > 高 > 普通) and the reasons for it (``notices``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.models import Customer, Ticket
from kefu.models.service import CANCELLED, PRIORITY_RANK
from kefu.nlp.catalogue import Catalogue
from kefu.nlp.normalize import is_negated
from kefu.services.customers import complaint_count
from kefu.settings import ServiceConfig

EMERGENCY = "抢修"
NORMAL = "普通"


@dataclass
class PriorityDecision:
    priority: str = NORMAL
    notices: List[str] = field(default_factory=list)  # emergency, repeat_complaint, third_repair, customer_tier

    @property
    def emergency(self) -> bool:
        return self.priority == EMERGENCY

    def raise_to(self, priority: str, notice: str) -> None:
        self.notices.append(notice)
        if PRIORITY_RANK[priority] < PRIORITY_RANK[self.priority]:
            self.priority = priority


def is_emergency(
    ticket_type: str,
    fault: Optional[str],
    description: Optional[str],
    config: ServiceConfig,
    catalogue: Catalogue,
) -> bool:
    """A safety fault (gas, sparks, smoke, leakage, flooding) named in the fault or text."""
    if ticket_type not in config.emergency.ticket_types:
        return False
    if fault and config.emergency.use_catalogue_faults and catalogue.is_emergency(fault):
        return True
    # Free text only against the curated keywords: catalogue variants such as 有电
    # (漏电) are fine as slot values but too common inside ordinary sentences.
    text = f"{fault or ''} {description or ''}"
    return any(_mentioned(word, text) for word in config.emergency.keywords)


def _mentioned(word: str, text: str) -> bool:
    """``word`` occurs in ``text`` at least once without a negation before it."""
    start = text.find(word)
    while start != -1:
        if not is_negated(text, start):
            return True
        start = text.find(word, start + 1)
    return False


def decide_priority(
    session: Session,
    *,
    ticket_type: str,
    customer: Optional[Customer],
    product: Optional[str],
    fault: Optional[str],
    description: Optional[str],
    now: dt.datetime,
    config: ServiceConfig,
    catalogue: Catalogue,
    tier_verified: bool = True,
) -> PriorityDecision:
    """``tier_verified``: the customer was proven by a signed token; only then does the
    archive's tier count (a phone typed in chat must not buy VIP service)."""
    decision = PriorityDecision()
    if is_emergency(ticket_type, fault, description, config, catalogue):
        decision.raise_to(EMERGENCY, "emergency")
    if customer is None or customer.id is None:
        return decision
    rules = config.priority_rules
    if ticket_type == "complaint":
        if complaint_count(session, customer.id, rules.repeat_complaint.window_days, now) > 0:
            decision.raise_to(rules.repeat_complaint.priority, "repeat_complaint")
    if ticket_type == "repair" and product:
        earlier = _repairs_of_product(session, customer.id, product, rules.repeat_repair.window_days, now)
        if earlier + 1 >= rules.repeat_repair.nth:
            decision.raise_to(rules.repeat_repair.priority, "third_repair")
    tier_priority = rules.tiers.get(customer.tier) if tier_verified else None
    if tier_priority:
        decision.raise_to(tier_priority, "customer_tier")
    return decision


def _repairs_of_product(
    session: Session, customer_id: int, product: str, window_days: int, now: dt.datetime
) -> int:
    return session.execute(
        select(func.count(Ticket.id)).where(
            Ticket.customer_id == customer_id,
            Ticket.type == "repair",
            Ticket.product == product,
            Ticket.status != CANCELLED,
            Ticket.created_at >= now - dt.timedelta(days=window_days),
            Ticket.created_at <= now,
        )
    ).scalar_one()
