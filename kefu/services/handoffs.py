"""Handoffs (转人工): the queue between an escalation decision and a human agent.

Lifecycle (statuses in kefu/models/desk.py)::

    queued --claim--> claimed --resolve--> resolved
      |  ^--transfer--'
      +--(customer gone: widget away > queue.grace_seconds, or silent > inactivity_minutes)--> abandoned
    offered (nobody could take it: off hours / nobody online) --booked--> callback (call-back ticket)
      +--(not booked within queue.callback_offer_minutes)--> expired
    queued/offered --(a ticket carries the follow-up)--> cancelled

Only *live* customers wait in the queue: a queued handoff whose customer is gone counts
for no position or estimate even before the sweeper (``sweep_candidates`` + ``abandon``/
``expire``, run by every desk instance) closes it. State changes are conditional UPDATEs
(``... WHERE status = 'queued' AND <still stale>``), so two agents can never both claim
one conversation and two sweepers never both close one, on SQLite and PostgreSQL alike;
every change appends a HandoffEvent. Like all services, functions never commit.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Sequence

from sqlalchemy import and_, case, func, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from kefu import clock
from kefu.errors import InvalidRequest, KefuError, NotFound
from kefu.escalation.context import Decision
from kefu.escalation.desk_config import DeskConfig, desk_config
from kefu.models import Customer, Ticket
from kefu.models.base import UTCDateTime
from kefu.models.desk import (
    ABANDONED,
    ACTIVE_HANDOFF_STATUSES,
    CALLBACK,
    CANCELLED,
    CLAIMED,
    EXPIRED,
    FOLLOW_UP_STATUSES,
    OFFERED,
    OPEN_HANDOFF_STATUSES,
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
    position: int  # 1 = next in line for its group (0: not in the live queue)
    expected_wait_minutes: int
    agents_available: bool  # within agent hours and someone of the group online
    created: bool = True  # False: the conversation already had an open handoff
    handling_minutes: float = 0.0  # per conversation, as used for the estimate
    measured: bool = False  # handling_minutes is the group's measured median


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
    """Queue the conversation for ``decision.group``; idempotent per open handoff.

    When nobody can take it (outside agent hours, nobody of the group online) the handoff
    is ``offered`` instead: it never waits in the live queue, it becomes a call-back or
    expires. An offered handoff is queued after all if the customer asks again once an
    agent is there.
    """
    config = config or desk_config()
    now = now or clock.now()
    if decision.group not in config.groups:
        raise InvalidRequest("unknown agent group", field="group", value=decision.group)
    available = _available(session, decision.group, now, config)
    existing = open_handoff(session, conversation_id)
    if existing is not None:
        if existing.status == OFFERED and _available(session, existing.group_name, now, config):
            existing = _requeue_offered(session, existing, now)
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
        status=QUEUED if available else OFFERED,
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
        customer_seen_at=now,  # the customer just spoke
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
    _record(session, handoff, handoff.status, "bot", now, to_group=handoff.group_name, note=decision.rule_id)
    return _queue_result(session, handoff, config, now, created=True)


def _available(session: Session, group: str, now: dt.datetime, config: DeskConfig) -> bool:
    return config.within_agent_hours(now) and agents_online(session, group, now=now, config=config) > 0


def _requeue_offered(session: Session, handoff: Handoff, now: dt.datetime) -> Handoff:
    """Agents are back and the customer asks again: the offered handoff joins the queue now."""
    won = _conditional_update(
        session, handoff.id, [Handoff.status == OFFERED],
        {"status": QUEUED, "created_at": now, "updated_at": now, "customer_seen_at": now, "customer_left_at": None},
    )
    handoff = _refresh(session, handoff.id)
    if won:
        _record(session, handoff, "queued", "bot", now, to_group=handoff.group_name, note="agents available again")
    return handoff


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
    pos = queue_position(session, handoff, now=now, config=config)
    per_conversation, measured = handling_minutes(session, handoff.group_name, now=now, config=config)
    return QueueResult(
        handoff=handoff,
        position=pos,
        expected_wait_minutes=expected_wait(pos, per_conversation, online),
        agents_available=config.within_agent_hours(now) and online > 0,
        created=created,
        handling_minutes=per_conversation,
        measured=measured,
    )


def expected_wait(position: int, per_conversation: float, online: int) -> int:
    """Minutes until an agent takes place ``position``: each place costs one handling time,
    shared by the agents online."""
    return math.ceil(position * per_conversation / max(online, 1))


def handling_minutes(
    session: Session, group: str, now: Optional[dt.datetime] = None, config: Optional[DeskConfig] = None
) -> tuple[float, bool]:
    """Minutes an agent of ``group`` spends per conversation, and whether that is measured.

    The median claim-to-resolve time of the group's last ``queue.handling_sample``
    handoffs resolved within ``queue.handling_window_days``; with fewer than
    ``queue.handling_min_samples`` of them, the configured ``handling_minutes``.
    """
    config = config or desk_config()
    now = now or clock.now()
    rules = config.queue
    rows = session.execute(
        select(Handoff.claimed_at, Handoff.resolved_at)
        .where(
            Handoff.status == RESOLVED,
            Handoff.group_name == group,
            Handoff.claimed_at.is_not(None),
            Handoff.resolved_at >= now - dt.timedelta(days=rules.handling_window_days),
        )
        .order_by(Handoff.resolved_at.desc(), Handoff.id.desc())
        .limit(rules.handling_sample)
    ).all()
    durations = [(resolved - claimed).total_seconds() / 60 for claimed, resolved in rows if resolved >= claimed]
    if len(durations) < rules.handling_min_samples:
        return float(config.groups[group].handling_minutes), False
    return statistics.median(durations), True


def _seen():
    """Last sign of life of the customer (rows queued before 0003 have only created_at)."""
    return type_coerce(func.coalesce(Handoff.customer_seen_at, Handoff.created_at), UTCDateTime())


def _live(now: dt.datetime, config: DeskConfig) -> list:
    """WHERE clauses of a queued handoff whose customer is still there.

    Disconnected within the grace period counts as there (a reload keeps the place).
    """
    rules = config.queue
    grace_cut = now - dt.timedelta(seconds=rules.grace_seconds)
    silence_cut = now - dt.timedelta(minutes=rules.inactivity_minutes)
    return [
        Handoff.status == QUEUED,
        or_(Handoff.customer_left_at.is_(None), Handoff.customer_left_at > grace_cut),
        _seen() > silence_cut,
    ]


def _gone(now: dt.datetime, config: DeskConfig) -> list:
    """WHERE clauses of a queued handoff whose customer left (the complement of _live)."""
    rules = config.queue
    grace_cut = now - dt.timedelta(seconds=rules.grace_seconds)
    silence_cut = now - dt.timedelta(minutes=rules.inactivity_minutes)
    return [
        Handoff.status == QUEUED,
        or_(Handoff.customer_left_at <= grace_cut, _seen() <= silence_cut),
    ]


def queue_position(
    session: Session, handoff: Handoff, now: Optional[dt.datetime] = None, config: Optional[DeskConfig] = None
) -> int:
    """1-based place among the live queued handoffs of its group; 0 if it is not queued."""
    if handoff.status != QUEUED:
        return 0
    config = config or desk_config()
    now = now or clock.now()
    rank = PRIORITY_RANK[handoff.priority]
    ahead = session.execute(
        select(func.count(Handoff.id)).where(
            *_live(now, config),
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
    """The queued, claimed or offered handoff of a conversation, if any."""
    return session.execute(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_HANDOFF_STATUSES)
        )
    ).scalar_one_or_none()


def latest_handoff(session: Session, conversation_id: str) -> Optional[Handoff]:
    return session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id.desc()).limit(1)
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


def live_queue(
    session: Session,
    groups: Optional[Sequence[str]] = None,
    now: Optional[dt.datetime] = None,
    config: Optional[DeskConfig] = None,
    limit: int = 200,
) -> List[Handoff]:
    """The queued handoffs whose customers are still there, in queue order."""
    config = config or desk_config()
    query = select(Handoff).where(*_live(now or clock.now(), config))
    if groups is not None:
        query = query.where(Handoff.group_name.in_(list(groups)))
    query = (
        query.order_by(_priority_rank, Handoff.created_at, Handoff.id)
        .limit(limit)
        .options(selectinload(Handoff.claimed_by), selectinload(Handoff.events))
    )
    return list(session.execute(query).scalars())


def queue_counts(
    session: Session, now: Optional[dt.datetime] = None, config: Optional[DeskConfig] = None
) -> dict[str, int]:
    """Live queued handoffs per group (groups with none are missing)."""
    config = config or desk_config()
    rows = session.execute(
        select(Handoff.group_name, func.count(Handoff.id))
        .where(*_live(now or clock.now(), config))
        .group_by(Handoff.group_name)
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
        # The customer was just being served: their silence counts from now, not from the first queueing.
        {"status": QUEUED, "group_name": to_group, "claimed_by_id": None, "claimed_at": None, "updated_at": now,
         "customer_seen_at": now},
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
    """Close an open handoff without an agent (a ticket carries the follow-up, bot took over again)."""
    now = now or clock.now()
    won = _conditional_update(
        session, handoff_id, [Handoff.status.in_(OPEN_HANDOFF_STATUSES)],
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
    """No agent available: close the offered (or queued) handoff as a call-back ticket with a time window."""
    config = config or desk_config()
    now = now or clock.now()
    handoff = get_handoff(session, handoff_id)
    if handoff.status not in (QUEUED, OFFERED):
        raise HandoffStateError("only a waiting handoff can become a call-back", status=handoff.status)
    if not phone and handoff.customer_id is None:
        raise InvalidRequest("a call-back needs a phone number", field="phone")
    # Take the handoff out of the queue first, so no agent can claim it meanwhile.
    won = _conditional_update(
        session, handoff_id, [Handoff.status.in_((QUEUED, OFFERED))],
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


# A request for a person that no escalation rule answered (rules edited, say): it is still
# handed over, to the general group at normal priority. The customer is never left unanswered.
EXPLICIT_REQUEST = Decision(rule_id="explicit_request", group="综合", priority="普通", reason="客户要求转人工")


@dataclass(frozen=True)
class HandoverOutcome:
    """What became of a request for a person (``request_handover``)."""

    queued: bool  # waiting in the live queue for an agent
    within_agent_hours: bool
    position: int = 0  # queued: 1 = next in line
    expected_wait_minutes: int = 0
    ticket_no: str = ""  # queued: the ticket the handoff carries ("" none)
    covered_by_ticket: bool = False  # nobody there: the request's own ticket is the follow-up
    callback: Optional[CallbackResult] = None  # nobody there: a call-back ticket booked instead


def request_handover(
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
    phone: Optional[str] = None,
    channel: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    config: Optional[DeskConfig] = None,
) -> HandoverOutcome:
    """A person should take over the conversation: the one entry for the bot's hand-over.

    Someone of ``decision.group`` can take it: queued (position, expected wait). Nobody can
    (outside agent hours, nobody online): a request that already has its ticket is followed
    up by that ticket (its own SLA; no second ticket) and the waiting handoff is closed;
    otherwise a call-back ticket is booked when there is a phone or a known customer to call,
    and nothing is booked when there is neither (the caller asks for a phone).
    """
    config = config or desk_config()
    now = now or clock.now()
    result = queue_handoff(
        session, conversation_id=conversation_id, decision=decision, intent=intent, slots=slots,
        ticket_no=ticket_no, customer_id=customer_id, customer_tier=customer_tier, messages=messages, now=now,
        config=config,
    )
    if result.agents_available:
        carried = result.handoff.ticket
        return HandoverOutcome(
            queued=True, within_agent_hours=True, position=result.position,
            expected_wait_minutes=result.expected_wait_minutes,
            ticket_no=carried.ticket_no if carried is not None else "",
        )
    within_hours = config.within_agent_hours(now)
    if ticket_no and result.handoff.ticket_id is not None:
        cancel(session, result.handoff.id, note="无坐席在线，由工单跟进", now=now)
        return HandoverOutcome(queued=False, within_agent_hours=within_hours, covered_by_ticket=True)
    if not phone and result.handoff.customer_id is None:
        return HandoverOutcome(queued=False, within_agent_hours=within_hours)
    callback = offer_callback(session, result.handoff.id, phone=phone, description=None, channel=channel, now=now,
                              config=config)
    return HandoverOutcome(queued=False, within_agent_hours=within_hours, callback=callback)


def transfers(handoff: Handoff) -> List[HandoffEvent]:
    """Transfer history, oldest first."""
    return [e for e in handoff.events if e.kind == "transferred"]


# --- customer presence (the socket.io channel reports connects, disconnects, messages) --


@dataclass
class Presence:
    """What the widget should tell a customer who is back (None from the hooks: nothing)."""

    status: str  # queued: still in line; abandoned: the place was given up
    group: str
    position: int = 0
    expected_wait_minutes: int = 0


def customer_left(session: Session, conversation_id: str, now: Optional[dt.datetime] = None) -> bool:
    """The customer's widget disconnected: the grace period starts (queued handoffs only)."""
    now = now or clock.now()
    handoff = open_handoff(session, conversation_id)
    if handoff is None or handoff.status != QUEUED:
        return False
    won = _conditional_update(
        session, handoff.id, [Handoff.status == QUEUED, Handoff.customer_left_at.is_(None)],
        {"customer_left_at": now},
    )
    if won:
        _record(session, handoff, "left", "customer", now)
    return won


def customer_back(
    session: Session,
    conversation_id: str,
    *,
    via: str = "connect",
    now: Optional[dt.datetime] = None,
    config: Optional[DeskConfig] = None,
) -> Optional[Presence]:
    """The customer's widget connected (``via="connect"``) or they wrote (``"message"``).

    A queued customer keeps the place (and the silence clock restarts); one whose place
    was given up hears it once. Returns what to tell them, or None.
    """
    config = config or desk_config()
    now = now or clock.now()
    handoff = latest_handoff(session, conversation_id)
    if handoff is None:
        return None
    if handoff.status == QUEUED:
        was_away = handoff.customer_left_at is not None
        won = _conditional_update(
            session, handoff.id, [Handoff.status == QUEUED], {"customer_seen_at": now, "customer_left_at": None}
        )
        handoff = _refresh(session, handoff.id)
        if not won:
            return None
        if was_away:
            _record(session, handoff, "returned", "customer", now)
        if via != "connect":
            return None  # a message while waiting: the desk shows it, nothing to tell
        result = _queue_result(session, handoff, config, now, created=False)
        return Presence(QUEUED, handoff.group_name, result.position, result.expected_wait_minutes)
    if handoff.status == ABANDONED and not _returned_since_abandoned(session, handoff):
        _record(session, handoff, "returned", "customer", now, note="after the place was given up")
        return Presence(ABANDONED, handoff.group_name)
    return None


def _returned_since_abandoned(session: Session, handoff: Handoff) -> bool:
    kinds = list(session.execute(
        select(HandoffEvent.kind).where(HandoffEvent.handoff_id == handoff.id).order_by(HandoffEvent.id)
    ).scalars())
    return "abandoned" in kinds and "returned" in kinds[kinds.index("abandoned"):]


# --- the sweeper (run periodically by every desk instance: desk/sweeper.py) -------------


@dataclass(frozen=True)
class SweepCandidate:
    handoff_id: int
    conversation_id: str
    outcome: str  # abandoned / expired
    paused: bool  # the conversation is paused in Rasa (queued): release it


def sweep_candidates(
    session: Session, now: Optional[dt.datetime] = None, config: Optional[DeskConfig] = None, limit: int = 500
) -> List[SweepCandidate]:
    """Queued handoffs whose customer is gone, and call-back offers nobody booked."""
    config = config or desk_config()
    now = now or clock.now()
    gone = session.execute(
        select(Handoff.id, Handoff.conversation_id).where(*_gone(now, config)).order_by(Handoff.id).limit(limit)
    ).all()
    offer_cut = now - dt.timedelta(minutes=config.queue.callback_offer_minutes)
    unbooked = session.execute(
        select(Handoff.id, Handoff.conversation_id)
        .where(Handoff.status == OFFERED, Handoff.created_at <= offer_cut)
        .order_by(Handoff.id)
        .limit(limit)
    ).all()
    return [SweepCandidate(i, c, ABANDONED, True) for i, c in gone] + [
        SweepCandidate(i, c, EXPIRED, False) for i, c in unbooked
    ]


def abandon(
    session: Session, handoff_id: int, now: Optional[dt.datetime] = None, config: Optional[DeskConfig] = None
) -> Optional[Handoff]:
    """The customer left before anyone took the conversation. None if it is no longer stale
    (claimed, customer back, already swept by another desk instance)."""
    config = config or desk_config()
    now = now or clock.now()
    before = get_handoff(session, handoff_id)
    left_at = before.customer_left_at
    won = _conditional_update(
        session, handoff_id, _gone(now, config), {"status": ABANDONED, "resolved_at": now, "updated_at": now}
    )
    handoff = _refresh(session, handoff_id)
    if not won:
        return None
    grace_cut = now - dt.timedelta(seconds=config.queue.grace_seconds)
    if left_at is not None and left_at <= grace_cut:
        note = f"客户离开超过 {config.queue.grace_seconds} 秒未返回"
    else:
        note = f"客户排队后 {config.queue.inactivity_minutes} 分钟未发消息"
    _record(session, handoff, "abandoned", "system", now, note=note)
    return handoff


def expire(
    session: Session, handoff_id: int, now: Optional[dt.datetime] = None, config: Optional[DeskConfig] = None
) -> Optional[Handoff]:
    """A call-back offered when nobody could take the chat was not booked in time."""
    config = config or desk_config()
    now = now or clock.now()
    offer_cut = now - dt.timedelta(minutes=config.queue.callback_offer_minutes)
    won = _conditional_update(
        session, handoff_id, [Handoff.status == OFFERED, Handoff.created_at <= offer_cut],
        {"status": EXPIRED, "resolved_at": now, "updated_at": now},
    )
    handoff = _refresh(session, handoff_id)
    if not won:
        return None
    _record(session, handoff, "expired", "system", now,
            note=f"无坐席接待，{config.queue.callback_offer_minutes} 分钟内未预约回电")
    return handoff


# --- follow-up of abandoned / expired handoffs ------------------------------------------


def follow_ups(
    session: Session, groups: Optional[Sequence[str]] = None, limit: int = 200
) -> List[Handoff]:
    """Abandoned and expired handoffs nobody has closed yet, most recent first."""
    query = select(Handoff).where(Handoff.status.in_(FOLLOW_UP_STATUSES), Handoff.followed_up_at.is_(None))
    if groups is not None:
        query = query.where(Handoff.group_name.in_(list(groups)))
    query = query.order_by(Handoff.resolved_at.desc(), Handoff.id.desc()).limit(limit).options(
        selectinload(Handoff.events)
    )
    return list(session.execute(query).scalars())


def stale_follow_up_ids(
    session: Session, now: Optional[dt.datetime] = None, config: Optional[DeskConfig] = None
) -> List[int]:
    """Open follow-up items closed (abandoned/expired) more than ``queue.stale_days`` ago."""
    config = config or desk_config()
    cut = (now or clock.now()) - dt.timedelta(days=config.queue.stale_days)
    return list(session.execute(
        select(Handoff.id).where(
            Handoff.status.in_(FOLLOW_UP_STATUSES), Handoff.followed_up_at.is_(None), Handoff.resolved_at <= cut
        ).order_by(Handoff.id)
    ).scalars())


def close_follow_ups(
    session: Session,
    handoff_ids: Iterable[int],
    agent: Agent,
    note: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> List[int]:
    """A supervisor closes follow-up items in bulk; returns the ids this call closed."""
    if agent.role != "supervisor" or not agent.active:
        raise NotPermitted("only supervisors close follow-up items", agent=agent.username)
    now = now or clock.now()
    closed = []
    for handoff_id in sorted(set(int(i) for i in handoff_ids)):
        won = _conditional_update(
            session, handoff_id,
            [Handoff.status.in_(FOLLOW_UP_STATUSES), Handoff.followed_up_at.is_(None)],
            {"followed_up_at": now, "updated_at": now},
        )
        if won:
            _record(session, get_handoff(session, handoff_id), "followed_up", _actor(agent), now, note=note or None)
            closed.append(handoff_id)
    return closed
