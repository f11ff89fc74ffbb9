"""Scale-out state shared through the real Redis (channels/fanout.py): socket.io rooms across
instances, the delivery ledger, and replies to a repeat read under the conversation lock."""
from __future__ import annotations

import asyncio
import logging
import uuid
from types import SimpleNamespace

import pytest
import redis
from rasa.core.lock_store import RedisLockStore
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels import fanout

REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture(scope="module", autouse=True)
def _redis_is_there():
    redis.Redis.from_url(REDIS_URL).ping()  # the machine's real Redis: fail loudly if it is not


class _Server:
    """What a client manager needs of python-socketio's AsyncServer: it records deliveries."""

    logger = logging.getLogger("test_fanout")
    eio = SimpleNamespace(generate_id=lambda: uuid.uuid4().hex)

    def __init__(self) -> None:
        self.sent: list = []

    async def _emit_internal(self, eio_sid, event, data, namespace=None, id=None):
        self.sent.append((eio_sid, event, data))

    def start_background_task(self, target, *args, **kwargs):
        return asyncio.ensure_future(target(*args, **kwargs))


async def _instance(url: str, channel: str):
    manager = fanout.KefuRedisManager(url, channel=channel)
    server = _Server()
    manager.set_server(server)
    manager.initialize()  # starts the pub/sub listener
    return manager, server


def _customer(manager, eio_sid: str, room: str) -> None:
    sid = manager.connect(eio_sid, "/")
    manager.enter_room(sid, "/", room, eio_sid=eio_sid)


async def _subscribed(channel: str, count: int) -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    for _ in range(100):
        numsub = dict(await client.pubsub_numsub(channel))
        if numsub.get(channel.encode(), 0) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the instances never subscribed")


async def _until(predicate, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)


def test_a_message_emitted_on_one_instance_reaches_the_socket_on_the_other_once():
    async def scenario():
        channel = f"kefu-test-{uuid.uuid4().hex}"
        a, server_a = await _instance(REDIS_URL, channel)
        b, server_b = await _instance(REDIS_URL, channel)
        await _subscribed(channel, 2)
        _customer(b, "eio-b", "conversation-1")  # the customer's socket is on instance B
        await a.emit("bot_uttered", {"text": "客服 小王 已接入"}, namespace="/", room="conversation-1")
        await _until(lambda: server_b.sent)
        await asyncio.sleep(0.3)  # a duplicate would arrive within this
        return server_a.sent, server_b.sent

    sent_a, sent_b = asyncio.run(scenario())
    assert sent_a == []
    assert sent_b == [("eio-b", "bot_uttered", {"text": "客服 小王 已接入"})]


def test_a_local_socket_gets_the_message_once_not_again_from_its_own_publication():
    async def scenario():
        channel = f"kefu-test-{uuid.uuid4().hex}"
        a, server_a = await _instance(REDIS_URL, channel)
        await _subscribed(channel, 1)
        _customer(a, "eio-a", "conversation-2")
        await a.emit("bot_uttered", {"text": "好的"}, namespace="/", room="conversation-2")
        delivered_before_redis = list(server_a.sent)
        await asyncio.sleep(0.5)  # our own publication comes back through Redis meanwhile
        return delivered_before_redis, server_a.sent

    at_once, after = asyncio.run(scenario())
    assert at_once == [("eio-a", "bot_uttered", {"text": "好的"})]  # emitted locally, not via Redis
    assert after == at_once


def test_without_redis_the_local_customer_is_still_answered():
    async def scenario():
        manager = fanout.KefuRedisManager(UNREACHABLE, channel="kefu-test-down")
        server = _Server()
        manager.set_server(server)  # no listener: publishing alone is under test
        _customer(manager, "eio-1", "conversation-3")
        await manager.emit("bot_uttered", {"text": "请问您的联系电话？"}, namespace="/", room="conversation-3")
        pending = list(manager._publishing)
        await asyncio.gather(*pending, return_exceptions=True)  # fails quietly (logged)
        return server.sent

    assert asyncio.run(scenario()) == [("eio-1", "bot_uttered", {"text": "请问您的联系电话？"})]


def test_the_delivery_ledger_is_shared_between_instances():
    sender, message = f"s-{uuid.uuid4().hex}", "m-1"
    first_instance, second_instance = fanout.DeliveryLedger(REDIS_URL), fanout.DeliveryLedger(REDIS_URL)
    assert asyncio.run(first_instance.first_delivery(sender, message))
    assert not asyncio.run(second_instance.first_delivery(sender, message))  # the repeat, elsewhere
    assert asyncio.run(second_instance.first_delivery(sender, "m-2"))


def test_the_delivery_ledger_keeps_working_in_memory_while_redis_is_down():
    ledger = fanout.DeliveryLedger(UNREACHABLE)
    assert asyncio.run(ledger.first_delivery("s-1", "m-1"))
    assert not asyncio.run(ledger.first_delivery("s-1", "m-1"))


class _TrackerStore:
    def __init__(self) -> None:
        self.events: list = []

    async def retrieve(self, sender_id):
        return DialogueStateTracker.from_events(sender_id, self.events)


def test_a_repeat_waits_for_the_instance_still_handling_the_original():
    """The original holds the conversation lock (in Redis, as every instance sees it) and
    writes its turn; the repeat reads the tracker only after that, so it gets the replies
    instead of handling the message a second time."""
    sender = f"s-{uuid.uuid4().hex}"
    store = _TrackerStore()
    agent = SimpleNamespace(tracker_store=store, lock_store=RedisLockStore(host="127.0.0.1", port=6379,
                                                                           key_prefix=f"test{uuid.uuid4().hex[:8]}"))

    async def scenario():
        holding = asyncio.Event()

        async def original_instance():
            async with agent.lock_store.lock(sender):
                holding.set()
                await asyncio.sleep(0.5)  # the turn is being processed
                store.events = [UserUttered("我要报修", metadata={"client_message_id": "m-1"}),
                                BotUttered("好的，请问是什么产品？"), ActionExecuted("action_listen")]

        task = asyncio.create_task(original_instance())
        await holding.wait()
        replies = await fanout.previous_replies(agent, sender, "m-1")
        await task
        return replies

    assert asyncio.run(scenario()) == [{"text": "好的，请问是什么产品？"}]


def test_a_message_that_never_reached_the_tracker_is_handled_anew():
    agent = SimpleNamespace(tracker_store=_TrackerStore(), lock_store=RedisLockStore(host="127.0.0.1", port=6379))
    assert asyncio.run(fanout.previous_replies(agent, f"s-{uuid.uuid4().hex}", "m-1")) is None


def test_without_a_tracker_store_the_answer_is_unknown():
    with pytest.raises(fanout.Unknown):
        asyncio.run(fanout.previous_replies(None, "s-1", "m-1"))


def test_an_instance_started_while_redis_is_down_waits_for_it_instead_of_spinning(caplog):
    async def scenario():
        manager = fanout.KefuRedisManager(UNREACHABLE, channel="kefu-test-down")
        manager.set_server(_Server())
        manager.initialize()
        await asyncio.sleep(1.5)
        still_waiting = not manager.thread.done()
        manager.thread.cancel()
        return still_waiting

    with caplog.at_level(logging.WARNING, logger="channels.fanout"):
        assert asyncio.run(scenario())
    retries = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert 1 <= len(retries) <= 2  # a backoff (1 s, 2 s, …), not a loop
