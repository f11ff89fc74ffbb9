"""What several Rasa instances behind one load balancer share (issue 13, scale-out).

- ``KefuRedisManager``: python-socketio's Redis client manager, so that a message emitted
  on one instance (an agent's reply posted to any instance, a bot reply) reaches the
  customer's socket wherever it is connected. Unlike the stock manager it emits to this
  instance's own sockets at once and publishes for the others in the background: a reply
  never waits for Redis, and a Redis outage costs only the cross-instance copies.
- ``DeliveryLedger``: at-most-once handling of a customer message delivered again (same
  ``client_message_id``) — the widget after a dropped socket, a REST caller after a lost
  answer, the load balancer after an instance died. In Redis (``SET NX`` with a TTL) when
  ``KEFU_REDIS_URL`` is set, so a repeat that lands on another instance is recognised;
  in memory otherwise, and as the fallback while Redis is unreachable.
- ``previous_replies``: the bot's replies to such a repeat, read from the shared tracker
  under the conversation lock (Rasa's lock store: Redis when scaled out), so a repeat waits
  for an instance that is still handling the original and is handled anew only if the
  original never reached the tracker (its instance died, or its turn was rewound).
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Set

import redis
from rasa.core.lock_store import LockError
from rasa.shared.core.events import BotUttered, UserUttered, UserUtteranceReverted
from socketio import AsyncManager, AsyncRedisManager

from kefu.runtime.reliability import reliability_config

logger = logging.getLogger(__name__)


def redis_url() -> Optional[str]:
    """The one switch for scale-out state, as for Rasa's lock store (kefu/runtime/endpoints.py)."""
    return os.environ.get("KEFU_REDIS_URL") or None


def _redis_options(reads: bool = True) -> Dict[str, float]:
    """Bounded Redis calls. Not for the pub/sub reader (``reads=False``): it waits for
    messages indefinitely by design, a read timeout would make it reconnect every time."""
    timeout = reliability_config().scale_out.redis_timeout_s
    return {"socket_connect_timeout": timeout, **({"socket_timeout": timeout} if reads else {})}


class KefuRedisManager(AsyncRedisManager):
    """Local sockets first, other instances through Redis pub/sub (see the module doc)."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel, redis_options=_redis_options(reads=False))
        self._publishing: Set[asyncio.Task] = set()

    async def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, **kwargs):
        if kwargs.get("ignore_queue") or callback is not None:  # acknowledgements keep the stock path
            return await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                                      callback=callback, **kwargs)
        namespace = namespace or "/"
        await AsyncManager.emit(self, event, data, namespace=namespace, room=room, skip_sid=skip_sid)
        message = {"method": "emit", "event": event, "data": data, "namespace": namespace, "room": room,
                   "skip_sid": skip_sid, "callback": None, "host_id": self.host_id, "emitted_locally": True}
        task = asyncio.ensure_future(self._publish_quietly(message))
        self._publishing.add(task)  # a reference, or the GC may drop a pending task
        task.add_done_callback(self._publishing.discard)

    async def _publish_quietly(self, message: Dict[str, Any]) -> None:
        try:
            await self._publish(message)
        except Exception:  # the customer's own instance has sent it already
            logger.warning("socket.io fan-out to the other instances failed", exc_info=True)

    async def _listen(self):
        # python-socketio subscribes once without retrying: with Redis down at start its
        # listener task would spin printing tracebacks. Wait for Redis with a backoff instead.
        delay = 1.0
        while True:
            try:
                await self.pubsub.subscribe(self.channel)
                break
            except redis.exceptions.RedisError:
                logger.warning("socket.io fan-out: Redis unreachable, retrying in %.0f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                self._redis_connect()
        async for message in super()._listen():
            yield message

    async def _handle_emit(self, message: Dict[str, Any]) -> None:
        if message.get("emitted_locally") and message.get("host_id") == self.host_id:
            return  # our own message, already emitted to our sockets
        await super()._handle_emit(message)


def client_manager() -> Optional[AsyncManager]:
    """The socket.io client manager for this process: Redis-backed when scaled out."""
    url = redis_url()
    if not url:
        return None  # python-socketio's in-process manager
    return KefuRedisManager(url, channel=reliability_config().scale_out.socketio_channel)


class DeliveryLedger:
    """Has this (conversation, client message id) been delivered before? (module doc)"""

    def __init__(self, url: Optional[str] = None, keep: int = 10000) -> None:
        self._url = url if url is not None else redis_url()
        self._keep = keep
        self._seen: "OrderedDict[tuple, None]" = OrderedDict()
        self._client: Optional[redis.asyncio.Redis] = None

    def _redis(self) -> Optional["redis.asyncio.Redis"]:
        if self._url and self._client is None:
            self._client = redis.asyncio.Redis.from_url(self._url, **_redis_options())
        return self._client

    def _first_locally(self, key: tuple) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._keep:
            self._seen.popitem(last=False)
        return True

    async def first_delivery(self, sender_id: str, client_message_id: str) -> bool:
        key = (sender_id, client_message_id)
        first_here = self._first_locally(key)
        client = self._redis()
        if client is None:
            return first_here
        settings = reliability_config().scale_out
        try:
            stored = await client.set(f"{settings.ledger_prefix}:{sender_id}:{client_message_id}", "1",
                                      nx=True, ex=settings.ledger_ttl_s)
        except Exception as exc:  # Redis unreachable (or this loop too busy): this instance's memory answers
            logger.warning("delivery ledger unavailable (%r); using this instance's memory", exc)
            return first_here
        return bool(stored)


def replies_to(events: Iterable[Any], client_message_id: str) -> Optional[List[Dict[str, Any]]]:
    """The bot's replies to the customer message with this ``client_message_id``, as Rasa's
    output channels take them (``send_response``); None when that message is not in the
    events or its turn was rewound (it was not processed)."""
    replies: Optional[List[Dict[str, Any]]] = None
    for event in events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break  # the next customer message: the turn is over
            metadata = event.metadata or {}
            if str(metadata.get("client_message_id") or "") == client_message_id:
                replies = []
        elif replies is None:
            continue
        elif isinstance(event, UserUtteranceReverted):
            return None
        elif isinstance(event, BotUttered):
            replies.append({"text": event.text, **{k: v for k, v in (event.data or {}).items() if v}})
    return replies


class Unknown(Exception):
    """The tracker could not be read: whether the message was handled is unknown."""


async def previous_replies(agent: Any, sender_id: str, client_message_id: str) -> Optional[List[Dict[str, Any]]]:
    """Replies already given to this message (module doc); None if it was never processed.

    Raises ``Unknown`` when there is no agent or the tracker store cannot be read: the
    caller then keeps at-most-once (the message is not handled twice).
    """
    if agent is None or agent.tracker_store is None:
        raise Unknown("no tracker store")
    try:
        try:
            async with agent.lock_store.lock(sender_id):  # waits for an instance still handling it
                tracker = await agent.tracker_store.retrieve(sender_id)
        except LockError:
            # The lock vanished while we waited (Rasa's Redis lock store drops a conversation's
            # lock when its tickets expire, e.g. those of an instance that died): nobody holds
            # it, so the tracker is as final as it gets.
            logger.info("lock of %s expired while a repeat waited; reading the tracker", sender_id)
            tracker = await agent.tracker_store.retrieve(sender_id)
    except Exception as exc:
        raise Unknown(str(exc)) from exc
    return replies_to(tracker.events if tracker else [], client_message_id)
