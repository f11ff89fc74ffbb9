"""`./kefu.sh seed --history DAYS`: bulk history that the dashboard reads back consistently."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from kefu import db
from kefu.analytics import history, queries
from kefu.models import Customer, Ticket


def test_history_is_seeded_in_bulk_and_read_back(clean_db, empty_tracker, pinned_clock):
    tracker = empty_tracker
    engine = create_engine(tracker, future=True)
    figures = history.seed_history(3, clean_db, tracker, per_day=40)
    assert figures["conversations"] > 60 and figures["tickets"] > 0 and figures["handoffs"] > 0
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(queries.tracker_events)).scalar_one() \
            == figures["tracker_events"]
    engine.dispose()

    panels = queries.dashboard(queries.period_for("7d"), clean_db, tracker)
    find = lambda panel_id: queries.find_panel(panels, panel_id).rows  # noqa: E731
    assert find("bot_summary")[0] == ["会话数", figures["conversations"]]
    assert sum(row[-1] for row in find("tickets_by_type")) == figures["tickets"]
    assert find("handoff_groups")[0][:2] == ["合计", figures["handoffs"]]
    assert find("csat_summary")[0] == ["回访份数", figures["surveys"]]
    assert sum(row[1] for row in find("forms")) > 0

    with pytest.raises(history.HistoryExists):
        history.seed_history(3, clean_db, tracker)
    with db.session_scope(clean_db) as session:  # ids continue after the bulk rows (PostgreSQL sequences)
        session.add(Customer(phone="13300000000", name="新客户"))
        session.flush()
        assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == figures["tickets"]


def test_handoff_waits_ranked_in_sql_match_nearest_rank(clean_db, empty_tracker, pinned_clock):
    """p50/p90 queue waits per group and agent (window functions) against a count made here."""
    import math
    from collections import defaultdict

    from kefu.models.desk import Agent, Handoff

    tracker = empty_tracker
    history.seed_history(20, clean_db, tracker, per_day=40, rollups=False)
    query = queries.period_for("30d")
    waits = defaultdict(list)
    with db.session_scope(clean_db) as session:
        for handoff, agent in session.execute(select(Handoff, Agent.display_name)
                                              .outerjoin(Agent, Agent.id == Handoff.claimed_by_id)).all():
            if handoff.claimed_at is not None and query.start <= handoff.created_at < query.end:
                wait = (handoff.claimed_at - handoff.created_at).total_seconds()
                for key in ("合计", handoff.group_name, agent):
                    waits[key].append(wait)

    def rank(values, q):
        ordered = sorted(values)
        return round(ordered[math.ceil(q * len(ordered)) - 1] / 60.0, 1)

    panels = queries.dashboard(query, clean_db, tracker)
    rows = queries.find_panel(panels, "handoff_groups").rows + queries.find_panel(panels, "handoff_agents").rows
    assert len(rows) > 5
    for row in rows:
        assert row[2:4] == [rank(waits[row[0]], 0.5), rank(waits[row[0]], 0.9)], row
