"""Tickets (工单): creation, ownership-checked look-ups, lifecycle, urging, summaries.

Every change appends a TicketEvent; nothing in the history is overwritten.
Functions take ``now`` (aware datetime) for tests and the seed; default: the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from sqlalchemy import case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefu import clock
from kefu.errors import (
    InvalidRequest,
    InvalidTransition,
    NotAmendable,
    NotCancellable,
    NotFound,
    NotReschedulable,
    NotUrgeable,
    TicketError,
)
from kefu.models import Customer, Ticket, TicketEvent
from kefu.models.service import (
    ACCEPTED,
    CANCELLED,
    DISPATCHED,
    FINAL_STATUSES,
    IN_PROGRESS,
    OPEN_STATUSES,
    RESOLVED,
    TRANSITIONS,
)
from kefu.nlp.catalogue import load_catalogue
from kefu.services import customers, numbering, sla
from kefu.services.priority import decide_priority
from kefu.settings import PRIORITIES, ServiceConfig, service_config

_NUMBERING_ATTEMPTS = 5


@dataclass
class TicketRequest:
    """What a customer asked for; actions fill it from slots."""

    type: str  # repair / installation / complaint / return / suggestion
    phone: Optional[str] = None
    customer_id: Optional[int] = None  # from a verified customer token; wins over phone
    product: Optional[str] = None  # canonical catalogue product; guessed from the model if empty
    product_model: Optional[str] = None
    fault: Optional[str] = None
    description: str = ""
    address: Optional[str] = None
    contact_name: Optional[str] = None
    appointment_start: Optional[dt.datetime] = None
    appointment_end: Optional[dt.datetime] = None
    conversation_id: Optional[str] = None
    channel: Optional[str] = None
    idempotency_key: Optional[str] = None  # e.g. "<conversation id>:<form run>"
    extra: Dict[str, Any] = field(default_factory=dict)  # complaint demand, return kind/reason, order_no
    actor: str = "bot"


@dataclass
class CreateResult:
    ticket: Ticket
    created: bool  # False: the idempotency key matched an existing ticket
    notices: List[str]  # why the priority is what it is: emergency, repeat_complaint, ...


@dataclass
class UrgeResult:
    ticket: Ticket
    overdue: bool
    urge_count: int
    should_escalate: bool


# --- creation -------------------------------------------------------------------


def create_ticket(
    session: Session, request: TicketRequest, now: Optional[dt.datetime] = None
) -> CreateResult:
    """Create a ticket (priority, routing, due times, number) or return the one with the same idempotency key."""
    config = service_config()
    now = now or clock.now()
    if request.idempotency_key:
        existing = _by_idempotency_key(session, request.idempotency_key)
        if existing is not None and existing.status != CANCELLED:
            return CreateResult(existing, False, list(existing.extra.get("notices", [])))
        if existing is not None:
            # the same request after its ticket was cancelled ("取消吧" … "还是装吧") is a new one:
            # it was answered "已登记成功（工单号 <the cancelled one>），不会重复建单" (chat probe,
            # 2026-12-08). The key moves to the new ticket; the old one keeps it in its extra.
            existing.extra = {**existing.extra, "released_idempotency_key": existing.idempotency_key}
            existing.idempotency_key = None
            session.flush()

    type_config = config.ticket_types.get(request.type)
    if type_config is None:
        raise InvalidRequest("unknown ticket type", field="type", value=request.type)
    customer = _requesting_customer(session, request)
    product = _canonical_product(request.product, request.product_model)
    _check_window(request.appointment_start, request.appointment_end, now)

    decision = decide_priority(
        session,
        ticket_type=request.type,
        customer=customer,
        product=product,
        fault=request.fault,
        description=request.description,
        now=now,
        config=config,
        catalogue=load_catalogue(),
        tier_verified=request.customer_id is not None,
    )
    if decision.emergency:
        department, group = config.emergency.department, config.emergency.group
    else:
        department = type_config.department
        group = type_config.groups_by_product.get(product or "", type_config.group)
        tier_group = verified_tier_group(customer, request, config)
        if tier_group:
            group = tier_group
    first_due, resolution_due = sla.due_times(decision.priority, now, config, request.appointment_end,
                                              request.appointment_start)

    def build() -> Ticket:
        return Ticket(
            type=request.type,
            customer=customer,
            product=product,
            product_model=request.product_model or None,
            fault=request.fault or None,
            description=request.description or "",
            address=request.address or None,
            contact_name=request.contact_name or None,
            priority=decision.priority,
            status=ACCEPTED,
            department=department,
            group_name=group,
            appointment_start=request.appointment_start,
            appointment_end=request.appointment_end,
            first_response_due=first_due,
            resolution_due=resolution_due,
            conversation_id=request.conversation_id,
            channel=request.channel,
            idempotency_key=request.idempotency_key or None,
            extra={**request.extra, "notices": decision.notices},
            created_at=now,
            updated_at=now,
        )

    day = now.astimezone(config.tz).date()
    for _ in range(_NUMBERING_ATTEMPTS):
        ticket = build()
        ticket.ticket_no = numbering.format_ticket_no(
            type_config.prefix, day, numbering.next_serial(session, type_config.prefix, day)
        )
        try:
            with session.begin_nested():
                session.add(ticket)
        except IntegrityError:
            # Either a parallel request with the same idempotency key won, or the
            # number was taken (e.g. imported tickets): then take the next serial.
            if request.idempotency_key:
                existing = _by_idempotency_key(session, request.idempotency_key)
                if existing is not None:
                    return CreateResult(existing, False, list(existing.extra.get("notices", [])))
            continue
        _record(session, ticket, "created", request.actor, now, to_value=ACCEPTED,
                note=", ".join(decision.notices) or None)
        return CreateResult(ticket, True, decision.notices)
    raise TicketError("could not allocate a ticket number", prefix=type_config.prefix)


def verified_tier_group(customer: Optional[Customer], request: TicketRequest, config: ServiceConfig) -> Optional[str]:
    """The tier's group for this ticket type (service.yml tier_service), for token-verified customers only."""
    if customer is None or request.customer_id is None:
        return None
    tier = config.tier_service.get(customer.tier)
    return tier.ticket_groups.get(request.type) if tier else None


def _by_idempotency_key(session: Session, key: str) -> Optional[Ticket]:
    return session.execute(select(Ticket).where(Ticket.idempotency_key == key)).scalar_one_or_none()


def _requesting_customer(session: Session, request: TicketRequest) -> Optional[Customer]:
    if request.customer_id is not None:
        return customers.get_customer(session, request.customer_id)
    if request.phone:
        customer, _ = customers.get_or_create_customer(
            session, request.phone, name=request.contact_name, address=request.address
        )
        return customer
    if request.type == "suggestion":
        return None  # suggestions may be anonymous
    raise InvalidRequest("a phone number or customer is required", field="phone")


def _canonical_product(product: Optional[str], model: Optional[str]) -> Optional[str]:
    """Catalogue name of the product (冷气机 -> 空调), else guessed from the model number."""
    catalogue = load_catalogue()
    if product:
        canonical = catalogue.canonical_product(product)
        if canonical is None:
            raise InvalidRequest("unknown product", field="product", value=product)
        return canonical
    return catalogue.product_for_model(model) if model else None


def _check_window(start: Optional[dt.datetime], end: Optional[dt.datetime], now: dt.datetime) -> None:
    if start is None and end is None:
        return
    if start is None or end is None or end <= start:
        raise InvalidRequest("an appointment needs a start before its end", field="appointment")
    if end <= now:
        raise InvalidRequest("the appointment is in the past", field="appointment")


# --- look-ups ---------------------------------------------------------------------


def get_ticket(session: Session, ticket_no: str) -> Ticket:
    """Staff look-up, no ownership check (desk). Customers: use get_ticket_for_customer."""
    number = numbering.parse_ticket_no(ticket_no, service_config())
    ticket = session.execute(select(Ticket).where(Ticket.ticket_no == number)).scalar_one_or_none()
    if ticket is None:
        raise NotFound("ticket not found", ticket_no=number)
    return ticket


def get_ticket_for_customer(
    session: Session,
    ticket_no: str,
    phone: Optional[str] = None,
    customer_id: Optional[int] = None,
) -> Ticket:
    """The ticket if it belongs to this customer; ``not_found`` for unknown AND for others' tickets."""
    number = numbering.parse_ticket_no(ticket_no, service_config())
    query = customers.owned_by(select(Ticket).where(Ticket.ticket_no == number), Ticket.customer_id, phone, customer_id)
    ticket = session.execute(query).scalar_one_or_none()
    if ticket is None:
        raise NotFound("ticket not found", ticket_no=number)
    return ticket


def list_recent_tickets(
    session: Session, customer_id: int, limit: int = 5, open_only: bool = False
) -> List[Ticket]:
    query = select(Ticket).where(Ticket.customer_id == customer_id)
    if open_only:
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    return list(session.execute(query).scalars())


def list_conversation_tickets(
    session: Session, conversation_id: str, ticket_type: str, customer_id: int, open_only: bool = True
) -> List[Ticket]:
    """One customer's tickets of one type filed in one conversation, the newest first."""
    query = select(Ticket).where(
        Ticket.conversation_id == conversation_id, Ticket.type == ticket_type, Ticket.customer_id == customer_id
    )
    if open_only:
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    return list(session.execute(query.order_by(Ticket.created_at.desc(), Ticket.id.desc())).scalars())


def ticket_for_product(session: Session, conversation_id: str, product: str, told: Optional[str] = None) -> Optional[str]:
    """The number of the ticket a customer means by its product ("刚才修油烟机那个单子"): the
    newest of this conversation's tickets for ``product``, else ``told`` (a ticket the
    conversation was told about) if it is for ``product``; None when none is."""
    query = select(Ticket.ticket_no).where(Ticket.conversation_id == conversation_id, Ticket.product == product)
    newest = session.execute(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1)).scalar_one_or_none()
    if newest is not None or not told:
        return newest
    number = numbering.parse_ticket_no(told, service_config())
    return session.execute(select(Ticket.ticket_no).where(Ticket.ticket_no == number, Ticket.product == product)).scalar_one_or_none()


# --- lifecycle ----------------------------------------------------------------------


def change_status(
    session: Session,
    ticket: Ticket,
    new_status: str,
    actor: str,
    note: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    event_kind: str = "status_changed",
) -> Ticket:
    """Move along the status flow; InvalidTransition for moves the flow does not allow.

    ``event_kind`` names the history entry when the move is part of something
    larger (the survey records its 已解决 -> 已回访 move as "survey").
    """
    if new_status == CANCELLED:
        return cancel_ticket(session, ticket, actor=actor, reason=note, now=now)
    if new_status not in TRANSITIONS.get(ticket.status, ()):
        raise InvalidTransition(
            f"{ticket.status} -> {new_status} is not allowed", from_status=ticket.status, to_status=new_status
        )
    now = now or clock.now()
    old = ticket.status
    _apply_status(ticket, new_status, now)
    _record(session, ticket, event_kind, actor, now, from_value=old, to_value=new_status, note=note)
    return ticket


def _apply_status(ticket: Ticket, new_status: str, now: dt.datetime) -> None:
    if ticket.status == ACCEPTED and ticket.first_responded_at is None:
        ticket.first_responded_at = now
    if new_status == RESOLVED:
        ticket.resolved_at = now
    elif new_status == IN_PROGRESS and ticket.status not in OPEN_STATUSES:
        ticket.resolved_at = None  # reopened: it was not solved after all
    if new_status in FINAL_STATUSES:
        ticket.closed_at = now
    ticket.status = new_status


def cancel_ticket(
    session: Session,
    ticket: Ticket,
    actor: str = "customer",
    reason: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> Ticket:
    """Cancel a ticket that is not resolved yet; NotCancellable otherwise."""
    if ticket.status not in OPEN_STATUSES:
        raise NotCancellable(f"a ticket in status {ticket.status} cannot be cancelled", status=ticket.status)
    now = now or clock.now()
    old = ticket.status
    _apply_status(ticket, CANCELLED, now)
    _record(session, ticket, "cancelled", actor, now, from_value=old, to_value=CANCELLED, note=reason)
    return ticket


def reschedule_ticket(
    session: Session,
    ticket: Ticket,
    start: dt.datetime,
    end: dt.datetime,
    actor: str = "customer",
    note: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> Ticket:
    """Move the appointment window (改约); the resolution target waits for a later visit."""
    if ticket.status not in OPEN_STATUSES:
        raise NotReschedulable(f"a ticket in status {ticket.status} cannot be rescheduled", status=ticket.status)
    now = now or clock.now()
    _check_window(start, end, now)
    config = service_config()
    old = _window_text(ticket.appointment_start, ticket.appointment_end, config)
    ticket.appointment_start, ticket.appointment_end = start, end
    if end > ticket.resolution_due:
        ticket.resolution_due = end
    _record(session, ticket, "rescheduled", actor, now, from_value=old,
            to_value=_window_text(start, end, config), note=note)
    return ticket


def _check_amendable(ticket: Ticket) -> None:
    if ticket.status not in OPEN_STATUSES:
        raise NotAmendable(f"a ticket in status {ticket.status} cannot be amended", status=ticket.status)


def change_address(
    session: Session,
    ticket: Ticket,
    address: str,
    actor: str = "customer",
    now: Optional[dt.datetime] = None,
) -> Ticket:
    """Correct the visit address of an open ticket; the old one stays in the ticket's history
    (a note event with from/to values, so the technician and the desk see what changed)."""
    _check_amendable(ticket)
    address = (address or "").strip()
    if not address or len(address) > 255:
        raise InvalidRequest("an address is 1 to 255 characters", field="address")
    now = now or clock.now()
    old, ticket.address = ticket.address, address
    _record(session, ticket, "note", actor, now, from_value=old, to_value=address, note="客户更正上门地址")
    return ticket


def change_contact_phone(
    session: Session,
    ticket: Ticket,
    phone: str,
    actor: str = "customer",
    now: Optional[dt.datetime] = None,
) -> Ticket:
    """The customer mistyped their number: the open ticket moves to the customer with the
    right one (found or created), so the technician calls the right number and the ticket is
    looked up with it; the old number no longer opens it. The history keeps both, masked."""
    _check_amendable(ticket)
    now = now or clock.now()
    customer, _ = customers.get_or_create_customer(session, phone)
    old = customers.mask_phone(ticket.customer.phone) if ticket.customer else None
    ticket.customer = customer
    _record(session, ticket, "note", actor, now, from_value=old, to_value=customers.mask_phone(customer.phone),
            note="客户更正联系电话")
    return ticket


def _window_text(start: Optional[dt.datetime], end: Optional[dt.datetime], config: ServiceConfig) -> Optional[str]:
    if start is None or end is None:
        return None
    return f"{config.local_iso(start)}/{config.local_iso(end)}"


def assign(
    session: Session,
    ticket: Ticket,
    assignee: str,
    actor: str,
    department: Optional[str] = None,
    group: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> Ticket:
    """Dispatch (派单) to a technician/agent; a new ticket moves to 已派单."""
    if ticket.status not in OPEN_STATUSES:
        raise InvalidTransition(f"a ticket in status {ticket.status} cannot be assigned", from_status=ticket.status)
    now = now or clock.now()
    old = " / ".join(filter(None, (ticket.department, ticket.group_name, ticket.assignee)))
    ticket.department = department or ticket.department
    ticket.group_name = group or ticket.group_name
    ticket.assignee = assignee
    new = " / ".join(filter(None, (ticket.department, ticket.group_name, ticket.assignee)))
    _record(session, ticket, "assigned", actor, now, from_value=old or None, to_value=new)
    if ticket.status == ACCEPTED:
        change_status(session, ticket, DISPATCHED, actor, now=now)
    return ticket


def add_note(session: Session, ticket: Ticket, note: str, actor: str, now: Optional[dt.datetime] = None) -> TicketEvent:
    return _record(session, ticket, "note", actor, now or clock.now(), note=note)


def escalate_ticket(
    session: Session, ticket: Ticket, reason: str, actor: str = "bot", now: Optional[dt.datetime] = None
) -> bool:
    """Flag for supervisors (督办); False when it was already escalated for the same reason."""
    if ticket.escalated and ticket.escalation_reason == reason:
        return False
    old = ticket.escalation_reason
    ticket.escalated, ticket.escalation_reason = True, reason
    _record(session, ticket, "escalated", actor, now or clock.now(), from_value=old, to_value=reason)
    return True


def urge_ticket(
    session: Session,
    ticket: Ticket,
    actor: str = "customer",
    note: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> UrgeResult:
    """Record a 催办; urging an overdue ticket, or the same ticket again, escalates it."""
    if ticket.status not in OPEN_STATUSES:
        raise NotUrgeable(f"a ticket in status {ticket.status} cannot be urged", status=ticket.status)
    now = now or clock.now()
    rules = service_config().urge
    overdue = is_overdue(ticket, now)
    ticket.urge_count += 1
    ticket.last_urged_at = now
    _record(session, ticket, "urged", actor, now, to_value=str(ticket.urge_count), note=note)
    reason = None
    if rules.escalate_when_overdue and overdue:
        reason = "催办时工单已超时"
    elif ticket.urge_count >= rules.escalate_after_urges:
        reason = f"客户第{ticket.urge_count}次催办"
    if reason:
        escalate_ticket(session, ticket, reason, actor="bot", now=now)
    return UrgeResult(ticket, overdue, ticket.urge_count, should_escalate=reason is not None)


def _record(
    session: Session,
    ticket: Ticket,
    kind: str,
    actor: str,
    at: dt.datetime,
    from_value: Optional[str] = None,
    to_value: Optional[str] = None,
    note: Optional[str] = None,
) -> TicketEvent:
    event = TicketEvent(ticket=ticket, at=at, actor=actor, kind=kind,
                        from_value=from_value, to_value=to_value, note=note)
    session.add(event)
    ticket.updated_at = at
    return event


# --- supervision --------------------------------------------------------------------


def overdue_reasons(ticket: Ticket, now: Optional[dt.datetime] = None) -> List[str]:
    """Why a ticket needs a supervisor: first_response_overdue, resolution_overdue, stalled."""
    if ticket.status not in OPEN_STATUSES:
        return []
    now = now or clock.now()
    reasons = []
    if ticket.status == ACCEPTED and now > ticket.first_response_due:
        reasons.append("first_response_overdue")
    if now > ticket.resolution_due:
        reasons.append("resolution_overdue")
    if now - ticket.updated_at > dt.timedelta(hours=service_config().stalled.idle_hours):
        reasons.append("stalled")
    return reasons


def is_overdue(ticket: Ticket, now: Optional[dt.datetime] = None) -> bool:
    """Past a due time that still applies (first response while 受理; resolution while open)."""
    return bool(set(overdue_reasons(ticket, now)) - {"stalled"})


def overdue_tickets(session: Session, now: Optional[dt.datetime] = None, limit: int = 200) -> List[Ticket]:
    """Open tickets past a due time or idle too long (长期滞留), most urgent first."""
    now = now or clock.now()
    idle_since = now - dt.timedelta(hours=service_config().stalled.idle_hours)
    priority_rank = case({p: i for i, p in enumerate(PRIORITIES)}, value=Ticket.priority)
    query = (
        select(Ticket)
        .where(
            Ticket.status.in_(OPEN_STATUSES),
            or_(
                (Ticket.status == ACCEPTED) & (Ticket.first_response_due < now),
                Ticket.resolution_due < now,
                Ticket.updated_at < idle_since,
            ),
        )
        .order_by(priority_rank, Ticket.resolution_due, Ticket.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


# --- plain data for actions, desk and the widget's ticket card ----------------------


def ticket_summary(ticket: Ticket, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """JSON-ready facts about a ticket; times are ISO 8601 in the centre's time zone."""
    config = service_config()
    return {
        "ticket_no": ticket.ticket_no,
        "type": ticket.type,
        "type_label": config.ticket_types[ticket.type].label,
        "status": ticket.status,
        "priority": ticket.priority,
        "is_open": ticket.status in OPEN_STATUSES,
        "overdue": is_overdue(ticket, now),
        "product": ticket.product,
        "product_model": ticket.product_model,
        "fault": ticket.fault,
        "department": ticket.department,
        "group": ticket.group_name,
        "assignee": ticket.assignee,
        "created_at": config.local_iso(ticket.created_at),
        "first_response_due": config.local_iso(ticket.first_response_due),
        "resolution_due": config.local_iso(ticket.resolution_due),
        "appointment_start": config.local_iso(ticket.appointment_start),
        "appointment_end": config.local_iso(ticket.appointment_end),
        "resolved_at": config.local_iso(ticket.resolved_at),
        "closed_at": config.local_iso(ticket.closed_at),
        "urge_count": ticket.urge_count,
        "escalated": ticket.escalated,
    }
