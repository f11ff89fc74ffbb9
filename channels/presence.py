"""Customer presence for the handoff queue, as the socket.io channel sees it.

The channel reports three things and the service layer decides what they mean
(kefu/services/handoffs.py: customer_left, customer_back):
- a widget session disconnected (its last tab closed): the grace period starts;
- a widget session connected again (reload, new tab): the customer keeps the place and
  hears where they stand; one whose place was given up hears that once;
- the customer wrote: the inactivity clock restarts.

Database work runs in a worker thread (SQLAlchemy is synchronous, Sanic is not). A
failure is logged and never stops the chat: presence only tunes the queue.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Dict, List, Optional, Set

logger = logging.getLogger(__name__)


class Presence:
    """Which socket ids belong to which widget session, in this Rasa process."""

    def __init__(self) -> None:
        self._sessions: Dict[str, str] = {}  # sid -> session id
        self._sids: Dict[str, Set[str]] = defaultdict(set)  # session id -> sids
        self._locks: Dict[str, asyncio.Lock] = {}

    def lock(self, session_id: str) -> asyncio.Lock:
        """Serialises one chat's presence reports in the order the events arrived: a reload's
        disconnect must reach the database before its reconnect (each runs in a worker thread)."""
        return self._locks.setdefault(session_id, asyncio.Lock())

    def joined(self, sid: str, session_id: str) -> None:
        self._sessions[sid] = session_id
        self._sids[session_id].add(sid)

    def gone(self, sid: str) -> Optional[str]:
        """The session whose last socket this was, else None."""
        session_id = self._sessions.pop(sid, None)
        if session_id is None:
            return None
        sids = self._sids.get(session_id, set())
        sids.discard(sid)
        if sids:
            return None  # another tab of the same chat is still open
        self._sids.pop(session_id, None)
        lock = self._locks.get(session_id)
        if lock is not None and not lock.locked():
            self._locks.pop(session_id, None)  # bounded memory; a new lock serves the next connect
        return session_id


def _left(conversation_id: str) -> None:
    from kefu.db import session_scope
    from kefu.services import handoffs

    with session_scope() as session:
        handoffs.customer_left(session, conversation_id)


def _back(conversation_id: str, via: str) -> List[dict]:
    """Widget payloads to send the customer (empty: nothing to say)."""
    from kefu.db import session_scope
    from kefu.escalation.desk_config import desk_config
    from kefu.services import handoffs

    config = desk_config()
    with session_scope() as session:
        presence = handoffs.customer_back(session, conversation_id, via=via, config=config)
    if presence is None:
        return []
    notices = config.notices
    if presence.status == "abandoned":
        return [{"text": notices.place_lost}]
    ahead = max(presence.position - 1, 0)
    wait = max(presence.expected_wait_minutes, 1)
    text = (notices.still_queued.format(group=presence.group, ahead=ahead, wait=wait) if ahead
            else notices.still_queued_next.format(group=presence.group))
    card = {"type": "queue", "position": presence.position, "wait_minutes": wait, "group": presence.group}
    return [{"text": text}, {"custom": card}]


async def customer_left(conversation_id: str) -> None:
    try:
        await asyncio.to_thread(_left, conversation_id)
    except Exception as error:
        logger.warning("presence (left) of %s not recorded: %s", conversation_id, error)


async def customer_back(conversation_id: str, via: str) -> List[dict]:
    try:
        return await asyncio.to_thread(_back, conversation_id, via)
    except Exception as error:
        logger.warning("presence (%s) of %s not recorded: %s", via, conversation_id, error)
        return []
