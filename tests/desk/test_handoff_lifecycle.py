"""Handoff lifecycle on SQLite and PostgreSQL: who waits in the live queue, who left, who expired.

Customers leave by closing the widget (past queue.grace_seconds) or by staying silent
(queue.inactivity_minutes); a return within the grace period keeps the place; handoffs
queued when nobody could take them are offered a call-back and expire if not booked;
positions and estimates count live customers and the group's measured handling time.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from desk.auth import create_agent
from kefu import db
from kefu.escalation import Decision
from kefu.escalation.desk_config import desk_config
from kefu.models.desk import Agent, Handoff, HandoffEvent
from kefu.services import handoffs
from kefu.services.handoffs import NotPermitted

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 7, 10, tzinfo=TZ)  # Monday, agent hours
COMPLAINT = Decision("complaint_severe", "投诉专席", "高", "客户扬言投诉到 12315", ("12315",))
HUMAN = Decision("human_request", "综合", "普通", "客户要求人工")
CFG = desk_config()
GRACE = dt.timedelta(seconds=CFG.queue.grace_seconds)
SILENCE = dt.timedelta(minutes=CFG.queue.inactivity_minutes)
OFFER = dt.timedelta(minutes=CFG.queue.callback_offer_minutes)


def person(session, username, role="agent", groups=("投诉专席", "综合")) -> Agent:
    return create_agent(session, username=username, display_name=username, password="correct horse", role=role,
                        groups=groups)


@pytest.fixture
def staff(session):
    """One agent of 投诉专席/综合 online at T0 (heartbeat), one supervisor."""
    zhang = person(session, "zhang")
    boss = person(session, "boss", role="supervisor", groups=())
    handoffs.heartbeat(session, zhang, now=T0)
    return {"zhang": zhang, "boss": boss}


def queue(session, conversation, at=T0, decision=COMPLAINT):
    return handoffs.queue_handoff(session, conversation_id=conversation, decision=decision, now=at)


def kinds(session, handoff_id):
    return [e.kind for e in session.execute(
        select(HandoffEvent).where(HandoffEvent.handoff_id == handoff_id).order_by(HandoffEvent.id)).scalars()]


def position(session, conversation, at):
    return handoffs.queue_position(session, handoffs.open_handoff(session, conversation), now=at)


def test_closed_tab_leaves_the_queue_after_the_grace_period(session, staff):
    first = queue(session, "gone").handoff
    second = queue(session, "stays", at=T0 + dt.timedelta(seconds=10))
    assert second.position == 2
    left_at = T0 + dt.timedelta(minutes=1)
    assert handoffs.customer_left(session, "gone", now=left_at)
    assert not handoffs.customer_left(session, "gone", now=left_at)  # one "left" per absence
    # Within the grace period the place is kept, for everyone's count.
    during = left_at + GRACE - dt.timedelta(seconds=1)
    assert position(session, "stays", during) == 2
    assert handoffs.sweep_candidates(session, now=during) == []
    # After it, the customer no longer counts, even before the sweeper runs ...
    after = left_at + GRACE
    assert position(session, "stays", after) == 1
    assert handoffs.queue_counts(session, now=after) == {"投诉专席": 1}
    assert [h.conversation_id for h in handoffs.live_queue(session, now=after)] == ["stays"]
    # ... and the sweeper closes it as abandoned, with an event per change.
    [candidate] = handoffs.sweep_candidates(session, now=after)
    assert (candidate.handoff_id, candidate.outcome, candidate.paused) == (first.id, "abandoned", True)
    closed = handoffs.abandon(session, first.id, now=after)
    assert (closed.status, closed.resolved_at) == ("abandoned", after)
    assert kinds(session, first.id) == ["queued", "left", "abandoned"]
    assert handoffs.abandon(session, first.id, now=after) is None  # a second sweeper changes nothing
    assert kinds(session, first.id) == ["queued", "left", "abandoned"]


def test_reload_within_the_grace_period_keeps_the_place(session, staff):
    queue(session, "reloads")
    queue(session, "behind", at=T0 + dt.timedelta(seconds=10))
    handoffs.customer_left(session, "reloads", now=T0 + dt.timedelta(minutes=1))
    back = handoffs.customer_back(session, "reloads", via="connect", now=T0 + dt.timedelta(minutes=1, seconds=5))
    assert (back.status, back.position, back.group) == ("queued", 1, "投诉专席")
    later = T0 + dt.timedelta(minutes=1) + 3 * GRACE
    assert handoffs.sweep_candidates(session, now=later) == []
    assert position(session, "behind", later) == 2
    handoff = handoffs.open_handoff(session, "reloads")
    assert kinds(session, handoff.id) == ["queued", "left", "returned"]
    assert handoff.customer_left_at is None


def test_silent_customer_leaves_after_inactivity_and_a_message_keeps_them(session, staff):
    quiet = queue(session, "quiet").handoff
    queue(session, "chatty")
    handoffs.customer_back(session, "chatty", via="message", now=T0 + SILENCE - dt.timedelta(minutes=1))
    at = T0 + SILENCE
    assert [c.handoff_id for c in handoffs.sweep_candidates(session, now=at)] == [quiet.id]
    assert handoffs.abandon(session, quiet.id, now=at).status == "abandoned"
    assert "未发消息" in session.execute(
        select(HandoffEvent.note).where(HandoffEvent.handoff_id == quiet.id, HandoffEvent.kind == "abandoned")
    ).scalar_one()
    assert position(session, "chatty", at) == 1


def test_a_customer_back_before_the_update_is_not_abandoned(session, staff):
    handoff = queue(session, "late-return").handoff
    handoffs.customer_left(session, "late-return", now=T0)
    at = T0 + GRACE + dt.timedelta(seconds=1)
    assert [c.handoff_id for c in handoffs.sweep_candidates(session, now=at)] == [handoff.id]
    handoffs.customer_back(session, "late-return", via="connect", now=at)  # between look-up and update
    assert handoffs.abandon(session, handoff.id, now=at) is None
    assert session.get(Handoff, handoff.id).status == "queued"


def test_claimed_before_the_sweep_is_not_abandoned(session, staff):
    handoff = queue(session, "taken").handoff
    handoffs.customer_left(session, "taken", now=T0)
    handoffs.claim(session, handoff.id, staff["zhang"], now=T0 + dt.timedelta(seconds=5))
    assert handoffs.abandon(session, handoff.id, now=T0 + 2 * GRACE) is None
    assert session.get(Handoff, handoff.id).status == "claimed"


def test_concurrent_sweepers_abandon_once(session, clean_db, staff):
    ids = [queue(session, f"c{i}").handoff.id for i in range(5)]
    for i in range(5):
        handoffs.customer_left(session, f"c{i}", now=T0)
    session.commit()
    at = T0 + GRACE
    barrier = threading.Barrier(3, timeout=30)

    def sweeper(_):
        barrier.wait()
        won = []
        for handoff_id in ids:
            with db.session_scope(clean_db) as own:
                if handoffs.abandon(own, handoff_id, now=at) is not None:
                    won.append(handoff_id)
        return won

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(sweeper, range(3)))
    assert sorted(i for won in results for i in won) == ids
    assert session.execute(
        select(func.count(HandoffEvent.id)).where(HandoffEvent.kind == "abandoned")
    ).scalar_one() == 5


def test_returning_after_abandonment_is_told_once(session, staff):
    handoff = queue(session, "too-late").handoff
    handoffs.customer_left(session, "too-late", now=T0)
    handoffs.abandon(session, handoff.id, now=T0 + GRACE)
    back = handoffs.customer_back(session, "too-late", via="connect", now=T0 + GRACE * 2)
    assert back.status == "abandoned"
    assert handoffs.customer_back(session, "too-late", via="message", now=T0 + GRACE * 3) is None
    assert kinds(session, handoff.id) == ["queued", "left", "abandoned", "returned"]
    # Asking again opens a new handoff at the end of the line.
    assert queue(session, "too-late", at=T0 + GRACE * 4).created


def test_nobody_online_is_offered_and_expires_unbooked(session):
    person(session, "zhang")  # exists, but has not opened the desk
    offered = queue(session, "night").handoff
    assert offered.status == "offered"
    assert handoffs.live_queue(session, now=T0) == [] and handoffs.queue_counts(session, now=T0) == {}
    booked = queue(session, "booked").handoff
    handoffs.offer_callback(session, booked.id, phone="13900000009", now=T0 + dt.timedelta(minutes=2))
    assert handoffs.sweep_candidates(session, now=T0 + OFFER - dt.timedelta(seconds=1)) == []
    [candidate] = handoffs.sweep_candidates(session, now=T0 + OFFER)
    assert (candidate.handoff_id, candidate.outcome, candidate.paused) == (offered.id, "expired", False)
    assert handoffs.expire(session, offered.id, now=T0 + OFFER).status == "expired"
    assert handoffs.expire(session, offered.id, now=T0 + OFFER) is None
    assert kinds(session, offered.id) == ["offered", "expired"]
    assert kinds(session, booked.id) == ["offered", "callback"]
    booked_row = session.get(Handoff, booked.id)
    assert booked_row.status == "callback" and booked_row.ticket is not None  # the call-back ticket


def test_outside_agent_hours_is_offered_even_with_someone_online(session):
    night = T0.replace(hour=23)
    zhang = person(session, "zhang")
    handoffs.heartbeat(session, zhang, now=night)
    assert queue(session, "late", at=night).handoff.status == "offered"


def test_offered_handoff_is_queued_when_agents_are_back(session):
    zhang = person(session, "zhang")
    first = queue(session, "again").handoff
    assert first.status == "offered"
    handoffs.heartbeat(session, zhang, now=T0 + dt.timedelta(minutes=5))
    again = queue(session, "again", at=T0 + dt.timedelta(minutes=5))
    assert (again.handoff.id, again.handoff.status, again.position, again.created) == (first.id, "queued", 1, False)
    assert kinds(session, first.id) == ["offered", "queued"]


def resolved(session, agent, conversation, claimed_at, minutes, decision=COMPLAINT):
    handoff = handoffs.queue_handoff(session, conversation_id=conversation, decision=decision, now=claimed_at)
    handoffs.claim(session, handoff.handoff.id, agent, now=claimed_at)
    handoffs.resolve(session, handoff.handoff.id, agent, now=claimed_at + dt.timedelta(minutes=minutes))


def test_estimate_uses_the_median_handling_time_of_recent_handoffs(session, staff):
    zhang = staff["zhang"]
    configured = CFG.groups["投诉专席"].handling_minutes  # 15
    assert handoffs.handling_minutes(session, "投诉专席", now=T0) == (configured, False)
    # Resolved long ago: outside the window, not counted.
    old = T0 - dt.timedelta(days=CFG.queue.handling_window_days + 1)
    for i in range(CFG.queue.handling_min_samples):
        resolved(session, zhang, f"old{i}", old + dt.timedelta(hours=i), 60)
    assert handoffs.handling_minutes(session, "投诉专席", now=T0) == (configured, False)
    recent = [4, 5, 6, 7, 30]  # median 6
    for i, minutes in enumerate(recent):
        resolved(session, zhang, f"r{i}", T0 - dt.timedelta(hours=2) + dt.timedelta(minutes=10 * i), minutes)
    assert handoffs.handling_minutes(session, "投诉专席", now=T0) == (6, True)
    assert handoffs.handling_minutes(session, "综合", now=T0) == (CFG.groups["综合"].handling_minutes, False)
    handoffs.heartbeat(session, zhang, now=T0)
    queue(session, "a")
    result = queue(session, "b")
    assert (result.position, result.expected_wait_minutes, result.measured) == (2, 12, True)  # 2 x 6 / 1 agent


def test_follow_up_list_and_bulk_close(session, staff):
    for name in ("x1", "x2", "x3"):
        queue(session, name)
        handoffs.customer_left(session, name, now=T0)
    old_ids = [handoffs.abandon(session, handoffs.open_handoff(session, n).id, now=T0 + GRACE).id for n in ("x1", "x2")]
    later = T0 + dt.timedelta(days=CFG.queue.stale_days, minutes=5)
    recent_id = handoffs.abandon(session, handoffs.open_handoff(session, "x3").id, now=later).id
    assert [h.id for h in handoffs.follow_ups(session)] == [recent_id] + old_ids[::-1]
    assert handoffs.stale_follow_up_ids(session, now=later) == old_ids
    with pytest.raises(NotPermitted):
        handoffs.close_follow_ups(session, old_ids, staff["zhang"], now=later)
    closed = handoffs.close_follow_ups(session, handoffs.stale_follow_up_ids(session, now=later), staff["boss"],
                                       note="已电话回访", now=later)
    assert closed == old_ids
    assert handoffs.close_follow_ups(session, old_ids, staff["boss"], now=later) == []  # once
    assert [h.id for h in handoffs.follow_ups(session)] == [recent_id]
    assert kinds(session, old_ids[0]) == ["queued", "left", "abandoned", "followed_up"]


def test_queue_settings_are_validated(tmp_path):
    from pathlib import Path

    from kefu.errors import ConfigError
    from kefu.escalation.desk_config import load_desk_config

    text = (Path(__file__).resolve().parents[2] / "config" / "desk.yml").read_text("utf-8")
    bad = tmp_path / "desk.yml"
    bad.write_text(re.sub(r"grace_seconds: \d+", "grace_seconds: 0", text), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_desk_config(bad)
    assert "queue.grace_seconds" in str(info.value)
    bad.write_text(re.sub(r"handling_min_samples: \d+", "handling_min_samples: 50", text), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_desk_config(bad)
    assert "handling_min_samples must not exceed handling_sample" in str(info.value)
    bad.write_text(re.sub(r"\n  still_queued_next: .*", "", text), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_desk_config(bad)
    assert "notices.still_queued_next" in str(info.value)
