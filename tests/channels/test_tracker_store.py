"""channels/tracker_store.py: a tracker-store outage fails the turn instead of silently
starting the conversation again from nothing (Rasa's FailSafeTrackerStore). Real PostgreSQL."""
from __future__ import annotations

import asyncio

import pytest
from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from channels.tracker_store import KefuSQLTrackerStore, StrictTrackerStore
from kefu.runtime.endpoints import build_endpoints
from tests.conftest import create_pg_database, drop_pg_database


def test_an_unreachable_tracker_store_fails_the_turn_instead_of_forgetting_the_form(tmp_path):
    url = create_pg_database("kefu_tracker")
    domain = Domain.from_yaml("intents: [greet]")
    try:
        endpoints = build_endpoints(url, tmp_path, "http://127.0.0.1:5055/webhook", None)
        store = TrackerStore.create(EndpointConfig.from_dict(endpoints["tracker_store"]), domain=domain)
        assert isinstance(store, KefuSQLTrackerStore)
        wrapped = Agent._create_tracker_store(store, domain)  # what `rasa run` does with it
        assert isinstance(wrapped, StrictTrackerStore)
        tracker = DialogueStateTracker("conv-1", domain.slots)
        tracker.update(UserUttered("你好", {"name": "greet", "confidence": 1.0}))
        asyncio.run(wrapped.save(tracker))
        assert asyncio.run(wrapped.retrieve("conv-1")) is not None
    finally:
        drop_pg_database(url)  # the database is gone, as during an outage
    store.engine.dispose()

    with pytest.raises(Exception):
        asyncio.run(wrapped.retrieve("conv-1"))
    with pytest.raises(Exception):
        asyncio.run(wrapped.save(tracker))
    # Rasa's own wrapper would have said "no such conversation": a fresh start, the form forgotten
    assert asyncio.run(FailSafeTrackerStore(store).retrieve("conv-1")) is None


def test_a_sqlite_tracker_store_uses_wal_like_the_service_db(tmp_path):
    """KefuSQLTrackerStore on SQLite: every connection in WAL mode with NORMAL sync (kefu.db's
    pragmas), and trackers are saved and read back as before."""
    import sqlalchemy as sa

    domain = Domain.from_yaml("intents: [greet]")
    endpoints = build_endpoints(f"sqlite:///{tmp_path / 'kefu.db'}", tmp_path, "http://127.0.0.1:5055/webhook", None)
    store = TrackerStore.create(EndpointConfig.from_dict(endpoints["tracker_store"]), domain=domain)
    assert isinstance(store, KefuSQLTrackerStore)
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    tracker = DialogueStateTracker("conv-wal", domain.slots)
    for text in ["你好", "在吗"]:
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
        asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("conv-wal"))
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["你好", "在吗"]
    store.engine.dispose()


def test_sql_work_runs_off_the_event_loop_and_callers_still_await_it(tmp_path, monkeypatch):
    """config/reliability.yml tracker_store.off_event_loop: Rasa's SQL methods run on the
    tracker-store threads; save then retrieve in one conversation sees the saved turn."""
    import threading

    from channels import tracker_store as module

    domain = Domain.from_yaml("intents: [greet]")
    store = KefuSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    threads = []
    original = module.run_without_loop
    monkeypatch.setattr(module, "run_without_loop", lambda c: threads.append(threading.current_thread().name) or original(c))

    async def conversation():
        loop_thread = threading.current_thread().name
        tracker = DialogueStateTracker("conv-thread", domain.slots)
        tracker.update(UserUttered("你好", {"name": "greet", "confidence": 1.0}))
        assert not await store.exists("conv-thread")
        await store.save(tracker)
        assert await store.exists("conv-thread")
        again = await store.retrieve("conv-thread")
        full = await store.retrieve_full_tracker("conv-thread")
        return loop_thread, again, full

    loop_thread, again, full = asyncio.run(conversation())
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["你好"] and len(full.events) == len(again.events)
    assert threads and all(name.startswith("kefu-tracker-store") for name in threads) and loop_thread not in threads
    store.engine.dispose()


def test_a_coroutine_that_would_wait_is_refused_off_the_loop():
    from channels.tracker_store import run_without_loop

    async def immediate():
        return 42

    async def waits():
        await asyncio.sleep(0.01)

    assert run_without_loop(immediate()) == 42
    with pytest.raises(RuntimeError):
        run_without_loop(waits())


def test_a_sqlite_tracker_db_keeps_its_connections_open_across_turns(tmp_path):
    """SQLAlchemy 1.4 gives a file database no pool: every load and save opened a connection
    and set its pragmas again. Kefu's store pools them; turns on every tracker-store thread
    at once still read back exactly what was saved."""
    domain = Domain.from_yaml("intents: [greet]")
    store = KefuSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    opened = []
    import sqlalchemy as sa

    sa.event.listen(store.engine, "connect", lambda connection, _record: opened.append(connection))

    async def turns(sender: str) -> int:
        for number in range(10):
            tracker = await store.retrieve(sender) or DialogueStateTracker(sender, domain.slots)
            tracker.update(UserUttered(f"第{number}句", {"name": "greet", "confidence": 1.0}))
            await store.save(tracker)
        return len((await store.retrieve(sender)).events)

    async def conversations() -> list:
        return await asyncio.gather(*(turns(f"conv-{n}") for n in range(8)))

    counts = asyncio.run(conversations())
    assert all(count == counts[0] and count >= 10 for count in counts)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert 1 <= len(opened) <= 5  # at most one per tracker-store thread (+1), not one per load/save (160)
