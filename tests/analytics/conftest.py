"""Analytics fixtures: the hand-computed data set on SQLite and PostgreSQL (tracker included)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "desk"))  # desk_support (login helpers)

import dataset
from kefu.analytics import queries


@pytest.fixture
def empty_tracker(clean_db) -> str:
    """The tracker URL of ``clean_db`` with its events table present and empty (the SQLite
    tracker file is shared by the test session)."""
    from sqlalchemy import create_engine, delete

    tracker = queries.tracker_url(clean_db)
    engine = create_engine(tracker, future=True)
    with engine.begin() as connection:
        queries.tracker_metadata.create_all(connection)
        connection.execute(delete(queries.tracker_events))
    engine.dispose()
    return tracker


@pytest.fixture
def small_data(clean_db, pinned_clock):
    """(service DB URL, tracker URL) holding dataset.py's figures; the clock at Monday 10:00."""
    tracker = queries.tracker_url(clean_db)
    dataset.load_tracker(tracker)
    dataset.load_service(clean_db)
    return clean_db, tracker
