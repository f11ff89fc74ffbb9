"""The REST channel's turn outcomes (channels/rest.py): a repeated client_message_id is
handled once, a failed turn asks to send again, a silent one says it was recorded."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.fanout import DeliveryLedger
from channels.rest import KefuRestInput
from kefu.runtime.reliability import reliability_config


class _Request:
    def __init__(self, body):
        self.json, self.headers, self.remote_addr, self.ip = body, {}, "127.0.0.1", "127.0.0.1"


class _Store:
    def __init__(self, events=()):
        self.events = list(events)

    async def retrieve(self, sender_id):
        return DialogueStateTracker.from_events(sender_id, self.events)


def _channel(events=()) -> KefuRestInput:
    channel = KefuRestInput()
    channel._agent = SimpleNamespace(tracker_store=_Store(events), lock_store=InMemoryLockStore())
    channel._delivery_ledger = DeliveryLedger(url="")  # this process's memory
    return channel


def _post(channel, body, on_new_message):
    answer = asyncio.run(channel._receive(_Request(body), on_new_message))
    return json.loads(answer.body)


def test_a_repeated_message_gets_the_replies_already_given_and_is_not_handled_again():
    events = [UserUttered("我家空调不制冷了", metadata={"client_message_id": "m-1"}),
              BotUttered("好的，请问空调的型号是？"), ActionExecuted("action_listen")]
    channel = _channel(events)
    handled = []

    async def on_new_message(message):
        handled.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, "好的，请问空调的型号是？")

    body = {"sender": "rest-1", "message": "我家空调不制冷了", "metadata": {"client_message_id": "m-1"}}
    first = _post(channel, body, on_new_message)
    again = _post(channel, body, on_new_message)  # the caller did not get the first answer
    assert handled == ["我家空调不制冷了"]
    assert [m["text"] for m in first] == [m["text"] for m in again] == ["好的，请问空调的型号是？"]


def test_a_repeat_of_a_message_that_never_reached_the_tracker_is_handled_then():
    channel = _channel([])  # e.g. its instance died before saving the turn
    handled = []

    async def on_new_message(message):
        handled.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, "请问您的联系电话？")

    asyncio.run(channel._ledger.first_delivery("rest-2", "m-9"))  # the first delivery, elsewhere
    body = {"sender": "rest-2", "message": "北京市海淀区中关村大街1号", "metadata": {"client_message_id": "m-9"}}
    assert [m["text"] for m in _post(channel, body, on_new_message)] == ["请问您的联系电话？"]
    assert handled == ["北京市海淀区中关村大街1号"]


def test_a_failed_turn_asks_the_caller_to_send_again():
    async def broken(message):
        raise RuntimeError("action server unreachable")

    answer = _post(_channel(), {"sender": "rest-3", "message": "你好"}, broken)
    assert [m["text"] for m in answer] == [reliability_config().turn_failed_reply]


def test_a_silent_turn_says_the_message_was_recorded_unless_an_agent_has_the_conversation():
    async def silent(message):
        return None

    answer = _post(_channel(), {"sender": "rest-4", "message": "你好"}, silent)
    assert [m["text"] for m in answer] == [reliability_config().silent_reply]
    paused = _channel([ConversationPaused()])  # an agent took over: the bot is silent on purpose
    assert _post(paused, {"sender": "rest-5", "message": "在吗"}, silent) == []
