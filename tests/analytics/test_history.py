"""`./kefu.sh seed --history DAYS`: bulk history that the dashboard reads back consistently."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, delete, func, select

from kefu import db
from kefu.analytics import history, queries
from kefu.models import Customer, Ticket


def test_history_is_seeded_in_bulk_and_read_back(clean_db, pinned_clock):
    tracker = queries.tracker_url(clean_db)
    engine = create_engine(tracker, future=True)
    with engine.begin() as connection:  # the SQLite tracker file is shared by the test session
        queries.tracker_metadata.create_all(connection)
        connection.execute(delete(queries.tracker_events))
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
