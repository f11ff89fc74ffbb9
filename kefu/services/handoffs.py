"""Handoffs (转人工): the queue between an escalation decision and a human agent.

Lifecycle: queued -> claimed -> resolved, with transfer (back to queued, other group),
cancelled (the customer left) and callback (no agent available: a call-back ticket).
State changes are conditional UPDATEs (``... WHERE status = 'queued'``), so two agents
can never both claim one conversation, on SQLite and PostgreSQL alike; every change
appends a HandoffEvent. Like all services, functions never commit.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Sequence

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from kefu import clock
from kefu.errors import InvalidRequest, KefuError, NotFound
from kefu.escalation.context import Decision
from kefu.escalation.desk_config import DeskConfig, desk_config
from kefu.models import Customer, Ticket
from kefu.models.desk import (
    ACTIVE_HANDOFF_STATUSES,
    CALLBACK,
    CANCELLED,
    CLAIMED,
    QUEUED,
    RESOLVED,
    Agent,
    AgentGroup,
    Handoff,
    HandoffEvent,
)
from kefu.models.service import PRIORITY_RANK
from kefu.services import tickets

SUMMARY_MESSAGES = 20  # the agent reads the last 20 messages before saying hello


class HandoffStateError(KefuError):
    """The handoff is not in a state for this (resolve before claim, cancel after resolve ...)."""

    code = "invalid_handoff_state"


class HandoffTaken(HandoffStateError):
    """Another agent claimed the conversation first (or it was closed meanwhile)."""

    code = "handoff_taken"


class NotPermitted(KefuError):
    """The agent may not act on this handoff (other group, someone else's conversation)."""

    code = "not_permitted"


@dataclass
class QueueResult:
    handoff: Handoff
    position: int  # 1 = next in line for its group
    expected_wait_minutes: int
    agents_available: bool  # within agent hours and someone of the group online
    created: bool = True  # False: the conversation already had an open handoff


@dataclass
class CallbackResult:
    handoff: Handoff
    ticket: Ticket
    window_start: dt.datetime
    window_end: dt.datetime


_priority_rank = case(PRIORITY_RANK, value=Handoff.priority)


def _actor(agent: Optional[Agent]) -> str:
    return f"agent:{agent.username}" if agent else "bot"


def _record(session: Session, handoff: Handoff, kind: str, actor: str, at: dt.datetime, **fields: Any) -> None:
    session.add(HandoffEvent(handoff_id=handoff.id, kind=kind, actor=actor, at=at, **fields))


# --- queueing -------------------------------------------------------------------------


def build_summary(
    decision: Decision,
    *,
    intent: Optional[str] = None,
    slots: Optional[Mapping[str, Any]] = None,
    ticket_no: Optional[str] = None,
    customer_tier: Optional[str] = None,
    messages: Iterable[Mapping[str, Any]] = (),
) -> dict:
    """What the agent sees first: why, who, what was said. Messages: {role, text, at?}."""
    recent = [
        {"role": str(m.get("role", "customer")), "text": str(m.get("text") or ""), "at": m.get("at")}
        for m in list(messages)[-SUMMARY_MESSAGES:]
    ]
    return {
        "rule_id": decision.rule_id,
        "reason": decision.reason,
        "terms": list(decision.terms),
        "intent": intent,
        "slots": {k: v for k, v in (slots or {}).items() if v not in (None, "", [], {})},
        "ticket_no": ticket_no,
        "customer_tier": customer_tier,
        "messages": recent,
    }


def queue_handoff(
    session: Session,
    *,
    conversation_id: str,
    decision: Decision,
    intent: Optional[str] = None,
    slots: Optional[Mapping[str, Any]] = None,
    ticket_no: Optional[str] = None,
    customer_id: Optional[int] = None,
    customer_tier: Optional[str] = None,
    messages: Iterable[Mapping[str, Any]] = (),
    now: Optional[dt.datetime] = None,
    config: Optional[DeskConfig] = None,
) -> QueueResult:
    """Queue the conversation for ``decision.group``; idempotent per open handoff."""
    config = config or desk_config()
    now = now or clock.now()
    if decision.group not in config.groups:
        raise InvalidRequest("unknown agent group", field="group", value=decision.group)
    existing = open_handoff(session, conversation_id)
    if existing is not None:
        return _queue_result(session, existing, config, now, created=False)

    ticket = _find_ticket(session, ticket_no)
    if customer_id is None and ticket is not None:
        customer_id = ticket.customer_id
    if customer_tier is None and customer_id is not None:
        customer = session.get(Customer, customer_id)
        customer_tier = customer.tier if customer else None
    handoff = Handoff(
        conversation_id=conversation_id,
        rule_id=decision.rule_id,
        reason=decision.reason,
        group_name=decision.group,
        priority=decision.priority,
        status=QUEUED,
        summary=build_summary(
            decision,
            intent=intent,
            slots=slots,
            ticket_no=ticket.ticket_no if ticket else ticket_no,
            customer_tier=customer_tier,
            messages=messages,
        ),
        customer_id=customer_id,
        ticket_id=ticket.id if ticket else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(handoff)
            session.flush()
    except IntegrityError:  # the partial unique index: a parallel turn queued first
        existing = open_handoff(session, conversation_id)
        if existing is None:
            raise
        return _queue_result(session, existing, config, now, created=False)
    _record(session, handoff, "queued", "bot", now, to_group=handoff.group_name, note=decision.rule_id)
    return _queue_result(session, handoff, config, now, created=True)


def _find_ticket(session: Session, ticket_no: Optional[str]) -> Optional[Ticket]:
    if not ticket_no:
        return None
    try:
        return tickets.get_ticket(session, ticket_no)
    except KefuError:  # a mistyped number must not stop the hand-over
        return None


def _queue_result(
    session: Session, handoff: Handoff, config: DeskConfig, now: dt.datetime, created: bool
) -> QueueResult:
    online = agents_online(session, handoff.group_name, now=now, config=config)
    pos = queue_position(session, handoff)
    per_conversation = config.groups[handoff.group_name].handling_minutes
    wait = math.ceil(pos * per_conversation / max(online, 1))
    return QueueResult(
        handoff=handoff,
        position=pos,
        expected_wait_minutes=wait,
        agents_available=config.within_agent_hours(now) and online > 0,
        created=created,
    )


def queue_position(session: Session, handoff: Handoff) -> int:
    """1-based place among queued handoffs of its group; 0 if it is not queued."""
    if handoff.status != QUEUED:
        return 0
    rank = PRIORITY_RANK[handoff.priority]
    ahead = session.execute(
        select(func.count(Handoff.id)).where(
            Handoff.status == QUEUED,
            Handoff.group_name == handoff.group_name,
            Handoff.id != handoff.id,
            or_(
                _priority_rank < rank,
                and_(
                    _priority_rank == rank,
                    or_(
                        Handoff.created_at < handoff.created_at,
                        and_(Handoff.created_at == handoff.created_at, Handoff.id < handoff.id),
                    ),
                ),
            ),
        )
    ).scalar_one()
    return ahead + 1


def open_handoff(session: Session, conversation_id: str) -> Optional[Handoff]:
    """The queued or claimed handoff of a conversation, if any."""
    return session.execute(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status.in_(ACTIVE_HANDOFF_STATUSES)
        )
    ).scalar_one_or_none()


def get_handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFound("handoff not found", handoff_id=handoff_id)
    return handoff


def list_queue(
    session: Session,
    groups: Optional[Sequence[str]] = None,
    statuses: Sequence[str] = (QUEUED,),
    limit: int = 200,
) -> List[Handoff]:
    """Handoffs by priority (抢修 first), then longest waiting; optionally per group."""
    query = select(Handoff).where(Handoff.status.in_(statuses))
    if groups is not None:
        query = query.where(Handoff.group_name.in_(list(groups)))
    query = (
        query.order_by(_priority_rank, Handoff.created_at, Handoff.id)
        .limit(limit)
        .options(selectinload(Handoff.claimed_by), selectinload(Handoff.events))  # the desk shows both
    )
    return list(session.execute(query).scalars())


def queue_counts(session: Session) -> dict[str, int]:
    """Queued handoffs per group (groups with none are missing)."""
    rows = session.execute(
        select(Handoff.group_name, func.count(Handoff.id)).where(Handoff.status == QUEUED).group_by(Handoff.group_name)
    )
    return {group: count for group, count in rows}


def claimed_by(session: Session, agent: Agent) -> List[Handoff]:
    """The conversations an agent is handling now."""
    query = (
        select(Handoff)
        .where(Handoff.status == CLAIMED, Handoff.claimed_by_id == agent.id)
        .order_by(Handoff.claimed_at, Handoff.id)
    )
    return list(session.execute(query).scalars())


# --- presence -------------------------------------------------------------------------


def heartbeat(session: Session, agent: Agent, now: Optional[dt.datetime] = None) -> None:
    """The desk page is open: the agent counts as online for presence.online_minutes."""
    session.execute(
        update(Agent).where(Agent.id == agent.id).values(last_seen_at=now or clock.now())
        .execution_options(synchronize_session=False)
    )


def sign_off(session: Session, agent_id: int) -> None:
    """The agent logged out: offline at once, not only after presence.online_minutes."""
    session.execute(
        update(Agent).where(Agent.id == agent_id).values(last_seen_at=None)
        .execution_options(synchronize_session=False)
    )


def agents_online(
    session: Session, group: str, now: Optional[dt.datetime] = None, config: Optional[DeskConfig] = None
) -> int:
    """Active agents/supervisors of ``group`` whose desk pinged within the online window."""
    config = config or desk_config()
    since = (now or clock.now()) - dt.timedelta(minutes=config.presence.online_minutes)
    return session.execute(
        select(func.count(Agent.id))
        .join(AgentGroup, AgentGroup.agent_id == Agent.id)
        .where(
            AgentGroup.group_name == group,
            Agent.active.is_(True),
            Agent.role.in_(("agent", "supervisor")),
            Agent.last_seen_at >= since,
        )
    ).scalar_one()


# --- agent actions --------------------------------------------------------------------


def _may_work_on(agent: Agent) -> None:
    if agent.role not in ("agent", "supervisor") or not agent.active:
        raise NotPermitted("only active agents and supervisors take handoffs", agent=agent.username)


def _conditional_update(session: Session, handoff_id: int, where: list, values: dict) -> bool:
    """UPDATE ... WHERE <state is still what we saw>; True if this call won."""
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _refresh(session: Session, handoff_id: int) -> Handoff:
    handoff = get_handoff(session, handoff_id)
    session.refresh(handoff)
    return handoff


def claim(session: Session, handoff_id: int, agent: Agent, now: Optional[dt.datetime] = None) -> Handoff:
    """Take a queued conversation. HandoffTaken if someone else was faster."""
    _may_work_on(agent)
    now = now or clock.now()
    where = [Handoff.status == QUEUED]
    if agent.role != "supervisor":  # supervisors may step in anywhere
        where.append(Handoff.group_name.in_(agent.groups))
    won = _conditional_update(
        session, handoff_id, where,
        {"status": CLAIMED, "claimed_by_id": agent.id, "claimed_at": now, "updated_at": now},
    )
    handoff = _refresh(session, handoff_id)
    if not won:
        if handoff.status == QUEUED:
            raise NotPermitted("the handoff belongs to another group", group=handoff.group_name)
        raise HandoffTaken("already claimed or closed", status=handoff.status)
    _record(session, handoff, "claimed", _actor(agent), now, to_group=handoff.group_name)
    return handoff


def _owned_where(agent: Agent, statuses: Sequence[str]) -> list:
    where = [Handoff.status.in_(statuses)]
    if agent.role != "supervisor":
        # An agent acts on what they claimed, or on a queued handoff of their group.
        where.append(
            or_(
                Handoff.claimed_by_id == agent.id,
                and_(Handoff.status == QUEUED, Handoff.group_name.in_(agent.groups)),
            )
        )
    return where


def transfer(
    session: Session,
    handoff_id: int,
    to_group: str,
    agent: Agent,
    note: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    config: Optional[DeskConfig] = None,
) -> Handoff:
    """Send the conversation to another group's queue; it keeps its original waiting time."""
    _may_work_on(agent)
    config = config or desk_config()
    if to_group not in config.groups:
        raise InvalidRequest("unknown agent group", field="group", value=to_group)
    now = now or clock.now()
    before = get_handoff(session, handoff_id)
    from_group = before.group_name
    won = _conditional_update(
        session, handoff_id, _owned_where(agent, ACTIVE_HANDOFF_STATUSES) + [Handoff.group_name == from_group],
        {"status": QUEUED, "group_name": to_group, "claimed_by_id": None, "claimed_at": None, "updated_at": now},
    )
    handoff = _refresh(session, handoff_id)
    if not won:
        _explain_lost(handoff, ACTIVE_HANDOFF_STATUSES)
    _record(session, handoff, "transferred", _actor(agent), now, from_group=from_group, to_group=to_group,
            note=note or None)
    return handoff


def resolve(
    session: Session,
    handoff_id: int,
    agent: Agent,
    note: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> Handoff:
    """The agent is done: the bot takes the conversation back. Adds a note to its ticket."""
    _may_work_on(agent)
    now = now or clock.now()
    won = _conditional_update(
        session, handoff_id, _owned_where(agent, (CLAIMED,)),
        {"status": RESOLVED, "resolved_at": now, "updated_at": now},
    )
    handoff = _refresh(session, handoff_id)
    if not won:
        _explain_lost(handoff, (CLAIMED,))
    _record(session, handoff, "resolved", _actor(agent), now, note=note or None)
    if handoff.ticket is not None:
        text = f"人工坐席{agent.display_name}处理完毕" + (f"：{note}" if note else "")
        tickets.add_note(session, handoff.ticket, text, actor=_actor(agent), now=now)
    return handoff


def cancel(
    session: Session,
    handoff_id: int,
    actor: str = "bot",
    note: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> Handoff:
    """Close an open handoff without an agent (customer left, bot took over again)."""
    now = now or clock.now()
    won = _conditional_update(
        session, handoff_id, [Handoff.status.in_(ACTIVE_HANDOFF_STATUSES)],
        {"status": CANCELLED, "resolved_at": now, "updated_at": now},
    )
    handoff = _refresh(session, handoff_id)
    if not won:
        raise HandoffStateError("the handoff is already closed", status=handoff.status)
    _record(session, handoff, "cancelled", actor, now, note=note or None)
    return handoff


def _explain_lost(handoff: Handoff, statuses: Sequence[str]) -> None:
    """Why a conditional update changed nothing: wrong state, or not this agent's."""
    if handoff.status not in statuses:
        raise HandoffStateError(f"the handoff is {handoff.status}", status=handoff.status)
    raise NotPermitted("someone else is handling this conversation", status=handoff.status)


# --- call-back outside agent hours ----------------------------------------------------


def callback_window(now: dt.datetime, config: Optional[DeskConfig] = None) -> tuple[dt.datetime, dt.datetime]:
    """The next call-back window that fits in agent hours, starting on a 10-minute mark."""
    config = config or desk_config()
    length = dt.timedelta(minutes=config.callback.window_minutes)
    start = config.next_agent_hours_start(now + dt.timedelta(minutes=config.callback.lead_minutes))
    for _ in range(400):
        start = _round_up(start, minutes=10)
        if start + length <= config.agent_hours_close(start):
            return start, start + length
        # Too late today for a whole window: the next opening.
        start = config.next_agent_hours_start(config.agent_hours_close(start) + dt.timedelta(minutes=1))
    raise InvalidRequest("agent hours are too short for a call-back window")


def _round_up(moment: dt.datetime, minutes: int) -> dt.datetime:
    step = dt.timedelta(minutes=minutes)
    floor = moment.replace(second=0, microsecond=0)
    floor -= dt.timedelta(minutes=floor.minute % minutes)
    return floor if floor == moment else floor + step


def offer_callback(
    session: Session,
    handoff_id: int,
    *,
    phone: Optional[str] = None,
    contact_name: Optional[str] = None,
    description: Optional[str] = None,
    channel: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    config: Optional[DeskConfig] = None,
) -> CallbackResult:
    """No agent available: close the queued handoff as a call-back ticket with a time window."""
    config = config or desk_config()
    now = now or clock.now()
    handoff = get_handoff(session, handoff_id)
    if handoff.status != QUEUED:
        raise HandoffStateError("only a queued handoff can become a call-back", status=handoff.status)
    if not phone and handoff.customer_id is None:
        raise InvalidRequest("a call-back needs a phone number", field="phone")
    # Take the handoff out of the queue first, so no agent can claim it meanwhile.
    won = _conditional_update(
        session, handoff_id, [Handoff.status == QUEUED],
        {"status": CALLBACK, "resolved_at": now, "updated_at": now},
    )
    if not won:
        raise HandoffTaken("an agent claimed the conversation meanwhile", status=_refresh(session, handoff_id).status)
    start, end = callback_window(now, config)
    slots = handoff.summary.get("slots", {})
    result = tickets.create_ticket(
        session,
        tickets.TicketRequest(
            type=config.groups[handoff.group_name].callback_ticket_type,
            phone=phone,
            customer_id=handoff.customer_id if not phone else None,
            product=slots.get("product"),
            description=description or f"客户转人工时无坐席接待，请按约定时间回电。原因：{handoff.reason}",
            contact_name=contact_name,
            appointment_start=start,
            appointment_end=end,
            conversation_id=handoff.conversation_id,
            channel=channel,
            idempotency_key=f"callback:{handoff.id}",
            extra={"callback": True, "handoff_id": handoff.id, "rule_id": handoff.rule_id,
                   "original_ticket_no": handoff.summary.get("ticket_no")},
        ),
        now=now,
    )
    handoff = _refresh(session, handoff_id)
    handoff.ticket_id = result.ticket.id
    _record(session, handoff, "callback", "bot", now, note=result.ticket.ticket_no)
    return CallbackResult(handoff, result.ticket, start, end)


def transfers(handoff: Handoff) -> List[HandoffEvent]:
    """Transfer history, oldest first."""
    return [e for e in handoff.events if e.kind == "transferred"]
