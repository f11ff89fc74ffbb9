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

import logging
from typing import Any, Optional, Text

import rasa.core.agent
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from kefu.db import sqlite_pragmas

logger = logging.getLogger(__name__)


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
            sa.event.listen(self.engine, "connect", lambda connection, _record: sqlite_pragmas(connection))
            self.engine.dispose()  # connections opened while creating the tables get them too


rasa.core.agent.FailSafeTrackerStore = StrictTrackerStore  # used by Agent._create_tracker_store
