"""Per-day tracker rollups (kefu/analytics/rollup.py): the dashboard's bot figures read from the
rollups of complete days plus the raw events of today equal the figures read from the raw
events alone; a day is rolled up once it is over; seeding over rolled-up days rebuilds them.
SQLite and PostgreSQL (the ``clean_db`` fixture)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import create_engine, func, select

from dataset import at
from kefu import db
from kefu.analytics import history, queries, rollup
from kefu.models.analytics import ConversationDay, RollupDay

SECTION = "bot"


def _user(sender, moment, intent, text, confidence):
    ts = moment.timestamp()
    return {"sender_id": sender, "type_name": "user", "timestamp": ts, "intent_name": intent, "action_name": None,
            "data": json.dumps({"event": "user", "timestamp": ts, "text": text,
                                "parse_data": {"text": text, "intent": {"name": intent, "confidence": confidence},
                                               "entities": []}}, ensure_ascii=False)}


@pytest.fixture
def seeded(clean_db, empty_tracker, pinned_clock):
    """Ten days of generated history, plus conversations that go on past midnight."""
    tracker = empty_tracker
    engine = create_engine(tracker, future=True)
    history.seed_history(10, clean_db, tracker, per_day=30, rollups=False)
    with engine.begin() as connection:
        connection.execute(queries.tracker_events.insert(), [
            # 12-04 23:59 -> 12-05 00:01: two rolled-up days, one conversation
            _user("night1", at(12, 4, 23, 59), "nlu_fallback", "积分 13812345678 能换什么", 0.31),
            _user("night1", at(12, 5, 0, 1), "faq", "保修多久", 0.88),
            # 12-06 23:58 -> today 00:02: a rolled-up day and the live part, one conversation
            _user("night2", at(12, 6, 23, 58), "nlu_fallback", "那个补贴到底怎么算的", 0.42),
            _user("night2", at(12, 7, 0, 2), "nlu_fallback", "那个补贴到底怎么算的", 0.05),
            # back two days later
            _user("again3", at(12, 2, 10), "faq", "保修多久", 0.91),
            _user("again3", at(12, 5, 11), "faq", "安装收费吗", 0.93),
        ])
    engine.dispose()
    return clean_db, tracker


def bot(url, tracker, period="7d", **kwargs):
    return [(p.id, p.rows, p.links) for p in queries.dashboard(queries.period_for(period, **kwargs), url, tracker)[SECTION]]


def raw_only(monkeypatch):
    """Nothing counts as complete: every figure comes from the raw tracker events."""
    monkeypatch.setattr(rollup, "first_incomplete_day", lambda tz, now=None: dt.date(2000, 1, 1))


def test_rollups_and_live_events_give_the_raw_figures(seeded, monkeypatch):
    url, tracker = seeded
    with_rollups = {p: bot(url, tracker, p) for p in ("7d", "30d")}
    custom = bot(url, tracker, "custom", start=dt.date(2026, 12, 2), end=dt.date(2026, 12, 5))
    with db.session_scope(url) as session:
        days = set(session.execute(select(RollupDay.day)).scalars())
        assert dt.date(2026, 12, 6) in days and dt.date(2026, 12, 7) not in days  # today stays live
        assert session.execute(select(func.count()).select_from(ConversationDay)).scalar_one() > 200
    raw_only(monkeypatch)
    assert with_rollups == {p: bot(url, tracker, p) for p in ("7d", "30d")}
    assert custom == bot(url, tracker, "custom", start=dt.date(2026, 12, 2), end=dt.date(2026, 12, 5))
    summary = dict(with_rollups["7d"][0][1])
    texts = dict(dict((i, r) for i, r, _ in with_rollups["7d"])["not_understood"])
    assert texts["那个补贴到底怎么算的"] >= 2
    assert not any("13812345678" in t for t in texts)  # masked like on the review page
    assert summary["会话数"] > 150


def test_a_conversation_across_midnight_counts_once(seeded):
    """Against a count made here from the raw rows: distinct senders over the week, and per day."""
    url, tracker = seeded
    engine = create_engine(tracker, future=True)
    with engine.connect() as connection:
        rows = connection.execute(select(queries.tracker_events.c.sender_id, queries.tracker_events.c.timestamp)
                                  .where(queries.tracker_events.c.type_name == "user")).all()
    engine.dispose()
    week = queries.period_for("7d")
    days = {}
    for sender, ts in rows:
        moment = dt.datetime.fromtimestamp(ts, week.start.tzinfo)
        if week.start <= moment < week.end:
            days.setdefault(moment.date(), set()).add(sender)
    figures = dict((i, r) for i, r, _ in bot(url, tracker, "7d"))
    assert dict(figures["bot_summary"])["会话数"] == len(set().union(*days.values()))
    assert [r[1] for r in figures["conversation_series"]] == [
        len(days.get(week.start.date() + dt.timedelta(days=i), ())) for i in range(7)]
    assert "night1" in days[dt.date(2026, 12, 4)] and "night1" in days[dt.date(2026, 12, 5)]
    assert "night2" in days[dt.date(2026, 12, 6)] and "night2" in days[dt.date(2026, 12, 7)]


def test_the_day_that_ended_is_rolled_up_on_the_next_render(seeded, pinned_clock, monkeypatch):
    url, tracker = seeded
    bot(url, tracker)
    pinned_clock.set(at(12, 8, 0, 3))  # within the grace period: 12-07 is not over yet
    bot(url, tracker)
    with db.session_scope(url) as session:
        assert session.get(RollupDay, dt.date(2026, 12, 7)) is None
    pinned_clock.set(at(12, 8, 9))
    figures = bot(url, tracker)
    with db.session_scope(url) as session:
        assert session.get(RollupDay, dt.date(2026, 12, 7)) is not None
        assert session.execute(select(func.count()).select_from(ConversationDay)
                               .where(ConversationDay.day == dt.date(2026, 12, 7))).scalar_one() > 0
    raw_only(monkeypatch)
    assert figures == bot(url, tracker)


def test_confidence_distribution(seeded):
    url, tracker = seeded
    panel = dict((i, r) for i, r, _ in bot(url, tracker, "7d"))["intent_confidence"]
    assert [r[0] for r in panel[:10]] == [f"{b / 10:.1f}–{(b + 1) / 10:.1f}" for b in range(10)]
    summary = dict(bot(url, tracker, "7d")[0][1])
    assert sum(r[1] for r in panel) == summary["客户消息数"]
    assert panel[0][1] >= 1  # night2's 0.05 today (live part)
    assert round(sum(r[2] for r in panel[:10]), 0) == 100


def test_reseeding_rebuilds_the_rolled_up_days(clean_db, empty_tracker, pinned_clock):
    tracker = empty_tracker
    empty = dict(bot(clean_db, tracker)[0][1])  # rolls up the empty days
    assert empty["会话数"] == 0
    figures = history.seed_history(5, clean_db, tracker, per_day=20)
    assert figures["rollup_days"] == 5  # 12-02 .. 12-06; today stays live
    assert dict(bot(clean_db, tracker)[0][1])["会话数"] == figures["conversations"]


def test_days_rolled_up_out_of_order_or_again_count_alike(seeded, monkeypatch):
    """A later range first (12-04..12-06), then the week: the earlier days re-point the later
    rows' previous_day; dropping and rebuilding days in the middle keeps the figures too."""
    url, tracker = seeded
    later = bot(url, tracker, "custom", start=dt.date(2026, 12, 4), end=dt.date(2026, 12, 6))
    week = bot(url, tracker, "7d")
    month = bot(url, tracker, "30d")
    with db.session_scope(url) as session:
        again = session.get(ConversationDay, (dt.date(2026, 12, 5), "again3"))
        assert again.previous_day == dt.date(2026, 12, 2)
    rollup.forget_days(url, dt.date(2026, 12, 2), dt.date(2026, 12, 3))
    with db.session_scope(url) as session:
        assert session.get(ConversationDay, (dt.date(2026, 12, 5), "again3")).previous_day is None
    assert bot(url, tracker, "7d") == week  # rebuilt on this render
    with db.session_scope(url) as session:
        assert session.get(ConversationDay, (dt.date(2026, 12, 5), "again3")).previous_day == dt.date(2026, 12, 2)
    raw_only(monkeypatch)
    assert later == bot(url, tracker, "custom", start=dt.date(2026, 12, 4), end=dt.date(2026, 12, 6))
    assert week == bot(url, tracker, "7d")
    assert month == bot(url, tracker, "30d")
