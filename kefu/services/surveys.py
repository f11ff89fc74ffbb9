"""Satisfaction surveys (回访): one per resolved ticket."""

from __future__ import annotations

import datetime as dt
from typing import Dict, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefu import clock
from kefu.errors import AlreadySurveyed, InvalidRequest, NotFound, NotResolved
from kefu.models import Survey, Ticket
from kefu.models.desk import Handoff
from kefu.models.service import RESOLVED, SURVEYED
from kefu.services import customers
from kefu.services.tickets import change_status, get_ticket
from kefu.settings import service_config


def _valid_score(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidRequest("scores are whole numbers from 1 to 5", field=field, value=value)
    return value


def record_survey(
    session: Session,
    ticket: Ticket,
    score: int,
    comment: Optional[str] = None,
    dimensions: Optional[Dict[str, int]] = None,
    actor: str = "customer",
    now: Optional[dt.datetime] = None,
) -> Survey:
    """Store the survey and move the ticket 已解决 -> 已回访."""
    _valid_score(score, "score")
    known = service_config().survey.dimensions
    for name, value in (dimensions or {}).items():
        if name not in known:
            raise InvalidRequest("unknown survey dimension", field="dimensions", value=name)
        _valid_score(value, f"dimensions.{name}")
    if ticket.survey is not None:
        raise AlreadySurveyed("this ticket has a survey already", ticket_no=ticket.ticket_no)
    if ticket.status != RESOLVED:
        raise NotResolved(f"a ticket in status {ticket.status} cannot be surveyed", status=ticket.status)
    now = now or clock.now()
    # ticket_id, not ticket=: the relationship would add the row before the SAVEPOINT.
    survey = Survey(ticket_id=ticket.id, score=score, comment=comment or None,
                    dimensions=dimensions or None, created_at=now)
    try:
        with session.begin_nested():
            session.add(survey)
    except IntegrityError:  # a parallel survey of the same ticket won
        raise AlreadySurveyed("this ticket has a survey already", ticket_no=ticket.ticket_no) from None
    ticket.survey = survey
    note = f"{score}分" + (f"：{comment}" if comment else "")
    change_status(session, ticket, SURVEYED, actor, note=note, now=now, event_kind="survey")
    return survey


def pending_survey_for_customer(session: Session, customer_id: int) -> Optional[Ticket]:
    """The customer's most recently resolved ticket still waiting for a survey."""
    query = (
        select(Ticket)
        .outerjoin(Survey, Survey.ticket_id == Ticket.id)
        .where(Ticket.customer_id == customer_id, Ticket.status == RESOLVED, Survey.id.is_(None))
        .order_by(Ticket.resolved_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    return session.execute(query).scalar_one_or_none()


def _followup_query(now: Optional[dt.datetime]):
    hours = service_config().survey.followup_after_hours
    cutoff = (now or clock.now()) - dt.timedelta(hours=hours)
    return (
        select(Ticket)
        .outerjoin(Survey, Survey.ticket_id == Ticket.id)
        .where(Ticket.status == RESOLVED, Survey.id.is_(None), Ticket.resolved_at <= cutoff)
    )


def followup_queue(session: Session, now: Optional[dt.datetime] = None, limit: int = 500) -> list:
    """回访 queue: resolved tickets still without a survey ``survey.followup_after_hours`` after
    resolution, oldest first -- the desk lists them for a call."""
    query = _followup_query(now).where(Ticket.customer_id.is_not(None))
    return list(session.execute(query.order_by(Ticket.resolved_at, Ticket.id).limit(limit)).scalars())


def followup_for_customer(session: Session, customer_id: int, now: Optional[dt.datetime] = None) -> Optional[Ticket]:
    """The customer's ticket in the 回访 queue (most recently resolved): the bot asks its survey
    when the (verified) customer next opens the chat."""
    query = _followup_query(now).where(Ticket.customer_id == customer_id)
    return session.execute(query.order_by(Ticket.resolved_at.desc(), Ticket.id.desc()).limit(1)).scalar_one_or_none()


def low_score_surveys(session: Session, now: Optional[dt.datetime] = None) -> list:
    """Recent low scores a supervisor follows up (what the bot promised the customer)."""
    config = service_config().survey
    since = (now or clock.now()) - dt.timedelta(days=config.low_score_days)
    query = (
        select(Survey)
        .where(Survey.score <= config.low_score_max, Survey.created_at >= since)
        .order_by(Survey.created_at.desc())
        .limit(200)
    )
    return list(session.execute(query).scalars())


def ticket_for_conversation_survey(
    session: Session,
    ticket_no: str,
    conversation_id: str,
    *,
    phone: Optional[str] = None,
    customer_id: Optional[int] = None,
) -> Ticket:
    """The ticket a chat may survey: one of *this* conversation (created in it, or carried by
    one of its handoffs) or one the chat proved it owns (verified customer, or the phone on
    the ticket). Anything else is ``not_found``, like an unknown number, so a typed or forged
    ticket number can never record a survey on someone else's ticket.
    """
    ticket = get_ticket(session, ticket_no)
    if ticket.conversation_id == conversation_id:
        return ticket
    carried = session.execute(
        select(Handoff.id).where(Handoff.conversation_id == conversation_id, Handoff.ticket_id == ticket.id).limit(1)
    ).first()
    if carried:
        return ticket
    if phone is not None or customer_id is not None:
        owned = session.execute(
            customers.owned_by(select(Ticket.id).where(Ticket.id == ticket.id), Ticket.customer_id, phone, customer_id)
        ).first()
        if owned:
            return ticket
    raise NotFound("ticket not found", ticket_no=ticket.ticket_no)
