"""Kefu's tracker store: Rasa's SQLTrackerStore, minus Rasa's silent in-memory fallback.

Rasa wraps every tracker store in ``FailSafeTrackerStore``. When the database is down, that
wrapper returns *no* tracker (the conversation starts again from nothing: the form the
customer was filling in is forgotten, the bot answers out of context) and saves the turn in
the Rasa process's memory (it is missing from the record once the database is back, and
from the other Rasa instances at once). Found by tests/faults (PostgreSQL stopped 10 s).

Kefu would rather fail the turn: the error reaches the socket.io channel, which tells the
customer their message was not handled yet, and the customer sends it again once the database
is back, where the conversation left off. Selected in endpoints.yml by
kefu/runtime/endpoints.py (``type: channels.tracker_store.KefuSQLTrackerStore``); importing
this module makes Rasa's agent use ``StrictTrackerStore`` instead of ``FailSafeTrackerStore``.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Coroutine, Optional, Text, TypeVar

import rasa.core.agent
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from kefu.db import sqlite_pragmas
from kefu.runtime.reliability import reliability_config

logger = logging.getLogger(__name__)
T = TypeVar("T")


class StrictTrackerStore(FailSafeTrackerStore):
    """The agent's wrapper around the tracker store: errors propagate (logged), nothing is faked."""

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await self._tracker_store.retrieve(sender_id)
        except Exception as error:
            logger.error("tracker store unavailable, turn of %s not handled: %s", sender_id, error)
            raise

    async def retrieve_full_tracker(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await self._tracker_store.retrieve_full_tracker(sender_id)
        except Exception as error:
            logger.error("tracker store unavailable, tracker of %s not read: %s", sender_id, error)
            raise

    async def save(self, tracker: DialogueStateTracker) -> None:
        try:
            await self._tracker_store.save(tracker)
        except Exception as error:
            logger.error("tracker store unavailable, turn of %s not saved: %s", tracker.sender_id, error)
            raise


class KefuSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store (same settings). Its import replaces the fail-safe wrapper (see
    the module doc); on SQLite it also gives the tracker DB the service DB's WAL settings
    (kefu.db.sqlite_pragmas): Rasa saves each turn on its event loop, and the rollback
    journal's syncs on every commit were a fifth of the loop's time under load
    (docs/performance.md)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            if url.database not in (None, "", ":memory:"):
                # SQLAlchemy 1.4 gives a file database no pool (NullPool): every load and save
                # opened a new connection and set its pragmas again. A pool as large as the
                # tracker-store threads (+1 for the loop) keeps them open.
                self.engine.dispose()
                size = reliability_config().tracker_store.threads + 1
                self.engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=size, max_overflow=0,
                                               connect_args={"check_same_thread": False})
                self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
            sa.event.listen(self.engine, "connect", lambda connection, _record: sqlite_pragmas(connection))
            self.engine.dispose()  # connections opened while creating the tables get them too

    # Rasa's SQL methods are coroutines that never await: synchronous SQLAlchemy work (queries,
    # JSON, commit) that held the event loop. They run on worker threads instead
    # (config/reliability.yml tracker_store); the caller awaits them as before.

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        parent = super()._retrieve
        return await off_event_loop(lambda: parent(sender_id, fetch_events_from_all_sessions))

    async def save(self, tracker: DialogueStateTracker) -> None:
        if self.event_broker is not None:  # publishing is the broker's async business: as Rasa does it
            return await super().save(tracker)
        parent = super().save
        await off_event_loop(lambda: parent(tracker))


_executor: Optional[ThreadPoolExecutor] = None


def run_without_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that completes without suspending (never awaits a future)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a tracker-store coroutine awaited something: it cannot run off the event loop")


async def off_event_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``await make()``, on a tracker-store thread when configured (else on the loop, as Rasa does)."""
    config = reliability_config().tracker_store
    if not config.off_event_loop:
        return await make()
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="kefu-tracker-store")
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_executor, context.run, lambda: run_without_loop(make()))


rasa.core.agent.FailSafeTrackerStore = StrictTrackerStore  # used by Agent._create_tracker_store
