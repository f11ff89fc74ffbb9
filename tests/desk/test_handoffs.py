"""Handoff service on SQLite and PostgreSQL: queueing, presence, claim race, transfer, resolve, call-back."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kefu import db
from kefu.escalation import Decision
from kefu.models import Ticket, TicketEvent
from kefu.models.desk import Agent, Handoff, HandoffEvent
from kefu.services import handoffs, tickets
from kefu.services.handoffs import HandoffStateError, HandoffTaken, NotPermitted
from kefu.services.tickets import TicketRequest
from desk.auth import create_agent

TZ = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, tzinfo=TZ)  # agent hours: 08:00-22:00

COMPLAINT = Decision("complaint_severe", "投诉专席", "高", "客户扬言投诉到 12315", ("12315",))
EMERGENCY = Decision("safety_emergency", "维修调度", "抢修", "燃气泄漏", ("燃气味",))
HUMAN = Decision("human_request", "综合", "普通", "客户要求人工")


def agent(session, username="zhang", groups=("投诉专席", "综合"), role="agent") -> Agent:
    return create_agent(session, username=username, display_name=f"坐席{username}", password="correct horse",
                        role=role, groups=groups)


def on_duty(session, group: str, now) -> None:
    """Someone of ``group`` is online at ``now`` (a queued handoff needs an agent who could take it)."""
    if handoffs.agents_online(session, group, now=now) == 0:
        duty = session.query(Agent).filter_by(username="duty").one_or_none() or agent(
            session, "duty", groups=("投诉专席", "维修调度", "VIP专席", "综合"))
        handoffs.heartbeat(session, duty, now=now)


def queue(session, conversation="c1", decision=COMPLAINT, now=MONDAY_10, staffed=True, **kwargs):
    if staffed:
        on_duty(session, decision.group, now)
    return handoffs.queue_handoff(session, conversation_id=conversation, decision=decision, now=now, **kwargs)


def test_queue_stores_what_the_agent_needs(session):
    ticket = tickets.create_ticket(
        session, TicketRequest(type="repair", phone="13900000001", product="空调", description="不制冷"),
        now=MONDAY_10 - dt.timedelta(days=3),
    ).ticket
    messages = [{"role": "customer" if i % 2 else "bot", "text": f"第{i}条"} for i in range(30)]
    result = queue(
        session,
        intent="complain",
        slots={"product": "空调", "phone": "13900000001", "address": None, "complaint_detail": ""},
        ticket_no=ticket.ticket_no,
        messages=messages,
    )
    handoff = result.handoff
    assert (handoff.status, handoff.group_name, handoff.priority, handoff.rule_id) == ("queued", "投诉专席", "高", "complaint_severe")
    assert handoff.ticket_id == ticket.id and handoff.customer_id == ticket.customer_id
    summary = handoff.summary
    assert summary["slots"] == {"product": "空调", "phone": "13900000001"}  # filled slots only
    assert summary["ticket_no"] == ticket.ticket_no and summary["customer_tier"] == "普通"
    assert summary["reason"] == COMPLAINT.reason and summary["terms"] == ["12315"]
    assert [m["text"] for m in summary["messages"]] == [f"第{i}条" for i in range(10, 30)]  # the last 20
    assert result.created and result.position == 1
    assert [e.kind for e in handoff.events] == ["queued"]


def test_agents_available_needs_agent_hours_and_someone_online(session):
    zhang = agent(session)
    result = queue(session, "c1", staffed=False)
    assert not result.agents_available  # nobody has opened the desk

    handoffs.heartbeat(session, zhang, now=MONDAY_10 - dt.timedelta(minutes=1))
    assert queue(session, "c2", staffed=False).agents_available
    # Seen too long ago, or outside agent hours: not available.
    assert not queue(session, "c3", now=MONDAY_10 + dt.timedelta(minutes=10), staffed=False).agents_available
    handoffs.heartbeat(session, zhang, now=MONDAY_10.replace(hour=23))
    assert not queue(session, "c4", now=MONDAY_10.replace(hour=23, minute=1), staffed=False).agents_available
    # An agent of another group does not count.
    assert handoffs.agents_online(session, "维修调度", now=MONDAY_10.replace(hour=23, minute=1)) == 0


def test_position_and_expected_wait(session):
    zhang, li = agent(session, "zhang"), agent(session, "li")
    for a in (zhang, li):
        handoffs.heartbeat(session, a, now=MONDAY_10)
    first = queue(session, "c1", now=MONDAY_10)
    second = queue(session, "c2", now=MONDAY_10 + dt.timedelta(minutes=1))
    third = queue(session, "c3", now=MONDAY_10 + dt.timedelta(minutes=2))
    assert [r.position for r in (first, second, third)] == [1, 2, 3]
    # 15 handling minutes (desk.yml, 投诉专席) per place, two agents online.
    assert third.expected_wait_minutes == 23  # ceil(3 * 15 / 2)
    assert third.agents_available


def test_queue_is_idempotent_per_open_conversation(session):
    first = queue(session, "c1")
    again = queue(session, "c1", decision=HUMAN)
    assert not again.created and again.handoff.id == first.handoff.id
    assert session.execute(select(func.count(Handoff.id))).scalar_one() == 1


def test_queue_order_priority_then_waiting_time_per_group(session):
    queue(session, "old-human", HUMAN, now=MONDAY_10)
    queue(session, "complaint", COMPLAINT, now=MONDAY_10 + dt.timedelta(minutes=1))
    queue(session, "gas", EMERGENCY, now=MONDAY_10 + dt.timedelta(minutes=5))
    queue(session, "new-human", HUMAN, now=MONDAY_10 + dt.timedelta(minutes=2))
    everything = [h.conversation_id for h in handoffs.list_queue(session)]
    assert everything == ["gas", "complaint", "old-human", "new-human"]
    general = [h.conversation_id for h in handoffs.list_queue(session, groups=["综合"])]
    assert general == ["old-human", "new-human"]
    assert handoffs.queue_counts(session, now=MONDAY_10 + dt.timedelta(minutes=6)) == {"综合": 2, "投诉专席": 1, "维修调度": 1}
    # An emergency queued later is still first in its group's line.
    late_gas = queue(session, "gas2", EMERGENCY, now=MONDAY_10 + dt.timedelta(minutes=9))
    assert late_gas.position == 2
    assert queue(session, "gas0", EMERGENCY, now=MONDAY_10 + dt.timedelta(minutes=10)).position == 3


def test_claim_permissions(session):
    zhang = agent(session, "zhang", groups=("综合",))
    boss = agent(session, "boss", groups=(), role="supervisor")
    trainer = agent(session, "trainer", groups=("投诉专席",), role="trainer")
    handoff = queue(session, "c1").handoff  # 投诉专席
    with pytest.raises(NotPermitted):
        handoffs.claim(session, handoff.id, zhang)
    with pytest.raises(NotPermitted):
        handoffs.claim(session, handoff.id, trainer)
    claimed = handoffs.claim(session, handoff.id, boss, now=MONDAY_10 + dt.timedelta(minutes=3))
    assert (claimed.status, claimed.claimed_by_id) == ("claimed", boss.id)
    assert claimed.claimed_at == MONDAY_10 + dt.timedelta(minutes=3)
    assert handoffs.queue_position(session, claimed) == 0
    assert [h.id for h in handoffs.claimed_by(session, boss)] == [handoff.id]


def test_second_claim_loses(session):
    zhang, li = agent(session, "zhang"), agent(session, "li")
    handoff = queue(session, "c1").handoff
    handoffs.claim(session, handoff.id, zhang)
    with pytest.raises(HandoffTaken):
        handoffs.claim(session, handoff.id, li)
    assert session.get(Handoff, handoff.id).claimed_by_id == zhang.id


def test_concurrent_claims_have_exactly_one_winner(session, clean_db):
    agents = [agent(session, f"agent{i}") for i in range(6)]
    handoff_id = queue(session, "race").handoff.id
    session.commit()  # other sessions must see the rows (and SQLite's write lock is released)
    session.expunge_all()  # the agents (groups loaded) are used detached in the threads

    barrier = threading.Barrier(len(agents), timeout=30)

    def try_claim(me: Agent) -> str:
        barrier.wait()  # before opening a transaction: on SQLite it takes the write lock
        with db.session_scope(clean_db) as own:
            try:
                handoffs.claim(own, handoff_id, me)
                return "won"
            except HandoffTaken:
                return "lost"

    with ThreadPoolExecutor(len(agents)) as pool:
        outcomes = list(pool.map(try_claim, agents))
    assert sorted(outcomes) == ["lost"] * (len(agents) - 1) + ["won"]
    assert session.execute(
        select(func.count(HandoffEvent.id)).where(HandoffEvent.kind == "claimed")
    ).scalar_one() == 1


def test_concurrent_escalations_of_one_conversation_queue_once(session, clean_db):
    on_duty(session, COMPLAINT.group, MONDAY_10)
    session.commit()
    barrier = threading.Barrier(4, timeout=30)

    def escalate(_):
        barrier.wait()
        with db.session_scope(clean_db) as own:
            return queue(own, "same-chat").handoff.id

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(escalate, range(4)))
    assert len(ids) == 1
    assert session.execute(select(func.count(Handoff.id))).scalar_one() == 1


def test_transfer_keeps_history_and_waiting_time(session):
    zhang = agent(session, "zhang", groups=("投诉专席",))
    wang = agent(session, "wang", groups=("维修调度",))
    handoff = queue(session, "c1", now=MONDAY_10).handoff
    handoffs.claim(session, handoff.id, zhang)
    moved = handoffs.transfer(session, handoff.id, "维修调度", zhang, note="需要派抢修师傅",
                              now=MONDAY_10 + dt.timedelta(minutes=5))
    assert (moved.status, moved.group_name, moved.claimed_by_id) == ("queued", "维修调度", None)
    assert moved.created_at == MONDAY_10  # the customer keeps their place by waiting time
    with pytest.raises(NotPermitted):  # zhang no longer owns it and is not in 维修调度
        handoffs.transfer(session, handoff.id, "综合", zhang)
    handoffs.claim(session, handoff.id, wang)
    handoffs.transfer(session, handoff.id, "综合", wang, note="客户咨询发票")
    history = [(e.from_group, e.to_group, e.note) for e in handoffs.transfers(session.get(Handoff, handoff.id))]
    assert history == [("投诉专席", "维修调度", "需要派抢修师傅"), ("维修调度", "综合", "客户咨询发票")]
    with pytest.raises(Exception) as info:
        handoffs.transfer(session, handoff.id, "售后部", wang)
    assert getattr(info.value, "code", None) == "invalid_request"


def test_resolve_by_the_claimer_notes_the_ticket(session):
    zhang, li = agent(session, "zhang"), agent(session, "li")
    ticket = tickets.create_ticket(
        session, TicketRequest(type="complaint", phone="13900000002", description="师傅迟到"), now=MONDAY_10
    ).ticket
    handoff = queue(session, "c1", ticket_no=ticket.ticket_no).handoff
    with pytest.raises(HandoffStateError):  # not claimed yet: nothing to resolve
        handoffs.resolve(session, handoff.id, zhang)
    handoffs.claim(session, handoff.id, zhang)
    with pytest.raises(NotPermitted):
        handoffs.resolve(session, handoff.id, li)
    done = handoffs.resolve(session, handoff.id, zhang, note="已道歉并补偿", now=MONDAY_10 + dt.timedelta(minutes=20))
    assert (done.status, done.resolved_at) == ("resolved", MONDAY_10 + dt.timedelta(minutes=20))
    note = session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "note")
    ).scalar_one()
    assert note.actor == "agent:zhang" and "已道歉并补偿" in note.note
    # Once resolved, a new escalation of the same conversation opens a new handoff.
    assert queue(session, "c1").created


def test_cancel_closes_an_open_handoff(session):
    handoff = queue(session, "c1").handoff
    assert handoffs.cancel(session, handoff.id, note="客户已离开").status == "cancelled"
    with pytest.raises(HandoffStateError):
        handoffs.cancel(session, handoff.id)


def test_callback_outside_agent_hours_books_the_next_opening(session):
    late = MONDAY_10.replace(hour=23, minute=5)
    result = queue(session, "night", now=late, slots={"product": "空调"}, staffed=False)
    assert not result.agents_available
    callback = handoffs.offer_callback(session, result.handoff.id, phone="13900000003", now=late)
    assert callback.window_start == dt.datetime(2026, 11, 24, 8, tzinfo=TZ)
    assert callback.window_end == dt.datetime(2026, 11, 24, 10, tzinfo=TZ)
    ticket = session.get(Ticket, callback.ticket.id)
    assert ticket.type == "complaint"  # 投诉专席's callback_ticket_type
    assert (ticket.appointment_start, ticket.appointment_end) == (callback.window_start, callback.window_end)
    assert ticket.extra["callback"] is True and ticket.conversation_id == "night"
    handoff = session.get(Handoff, result.handoff.id)
    assert (handoff.status, handoff.ticket_id) == ("callback", ticket.id)
    assert handoff.events[-1].kind == "callback"
    with pytest.raises(HandoffStateError):
        handoffs.offer_callback(session, handoff.id, phone="13900000003", now=late)


def test_callback_windows_fit_in_agent_hours():
    # During agent hours with nobody online: 30 minutes lead, rounded to 10 minutes.
    start, end = handoffs.callback_window(MONDAY_10.replace(minute=3))
    assert (start, end) == (MONDAY_10.replace(minute=40), MONDAY_10.replace(hour=12, minute=40))
    # Too late for a whole window today: tomorrow's opening.
    start, _ = handoffs.callback_window(MONDAY_10.replace(hour=20, minute=30))
    assert start == dt.datetime(2026, 11, 24, 8, tzinfo=TZ)
    # Closed dates (除夕 in desk.yml) are skipped.
    start, _ = handoffs.callback_window(dt.datetime(2027, 2, 5, 23, tzinfo=TZ))
    assert start == dt.datetime(2027, 2, 7, 8, tzinfo=TZ)


def test_callback_needs_a_way_to_call(session):
    handoff = queue(session, "anon", staffed=False).handoff
    assert handoff.status == "offered"  # nobody online: never in the live queue
    with pytest.raises(Exception) as info:
        handoffs.offer_callback(session, handoff.id, now=MONDAY_10)
    assert getattr(info.value, "code", None) == "invalid_request"
    assert session.get(Handoff, handoff.id).status == "offered"


def test_request_handover_queues_when_staffed_else_ticket_callback_or_nothing(session):
    """The bot's one entry (handoffs.request_handover): queue, or the request's own ticket, or a
    call-back ticket, or nothing to book without a phone or a known customer."""
    on_duty(session, "投诉专席", MONDAY_10)
    staffed = handoffs.request_handover(session, conversation_id="r1", decision=COMPLAINT, now=MONDAY_10)
    assert staffed.queued and staffed.position == 1 and staffed.within_agent_hours and staffed.callback is None
    assert handoffs.open_handoff(session, "r1").status == "queued"

    late = MONDAY_10.replace(hour=23)  # after agent hours
    ticket = tickets.create_ticket(session, TicketRequest(type="complaint", phone="13900000011", description="投诉"),
                                   now=late).ticket
    covered = handoffs.request_handover(session, conversation_id="r2", decision=COMPLAINT, ticket_no=ticket.ticket_no,
                                        now=late)
    assert not covered.queued and covered.covered_by_ticket and not covered.within_agent_hours
    assert handoffs.latest_handoff(session, "r2").status == "cancelled"

    booked = handoffs.request_handover(session, conversation_id="r3", decision=handoffs.EXPLICIT_REQUEST,
                                       phone="13900000012", channel="socketio", now=late)
    assert not booked.queued and booked.callback is not None and booked.callback.ticket.channel == "socketio"
    assert handoffs.latest_handoff(session, "r3").status == "callback"

    nothing = handoffs.request_handover(session, conversation_id="r4", decision=COMPLAINT, now=late)
    assert not nothing.queued and nothing.callback is None and not nothing.covered_by_ticket
    assert handoffs.open_handoff(session, "r4").status == "offered"  # waits for a phone, or expires
