"""A typed "嗯" / "好的" / "是的" in reply to the two-stage fallback's question "您是要…吗？" is a
press of its first button (kefu.dialogue_config.typed_confirmation, ChannelState._typed_confirmation).
The real stack's answer to it: tests/e2e/test_dialogue_quality.py."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.fanout import DeliveryLedger
from channels.rest import KefuRestInput
from kefu.dialogue_config import is_affirmation, offered_button, typed_confirmation

BUTTONS = [{"title": "退换货", "payload": "/request_return"}, {"title": "报修", "payload": "/report_repair"},
           {"title": "都不是", "payload": "/out_of_scope"}]


def question(buttons=BUTTONS, response="utter_ask_affirmation") -> BotUttered:
    return BotUttered("小暖想确认一下，您是要退换货吗？", data={"buttons": buttons}, metadata={"utter_action": response})


def asked(*after) -> list:
    return [UserUttered("买的东西有点问题想处理下"), ActionExecuted("action_two_stage_fallback"),
            ActiveLoop("action_two_stage_fallback"), question(), ActionExecuted("action_listen"), *after]


def dicts(events) -> list:
    return [e.as_dict() for e in events]


@pytest.mark.parametrize("text", ["嗯", "嗯嗯", "好的", "是的", "是的呀！", "对", "對的", "ＯＫ", "要", "好的好的"])
def test_a_bare_yes(text):
    assert is_affirmation(text)
    assert typed_confirmation(text, dicts(asked())) == {"payload": "/request_return", "title": "退换货"}


@pytest.mark.parametrize("text", ["不是", "不要", "不对", "都不是", "是的，我要报修", "嗯，我再想想", "啊", "谢谢", "",
                                  "嗯？？", "好的?", "是？"])
def test_not_a_bare_yes(text):
    assert not is_affirmation(text)
    assert typed_confirmation(text, dicts(asked())) is None


def test_a_typed_yes_never_confirms_a_guessed_cancellation():
    """"那师傅来之前会打电话吗" → "您是要取消工单吗？" → "好的👌" started the cancellation (chat probe)."""
    cancel = [{"title": "取消工单", "payload": "/cancel_ticket"}, {"title": "都不是", "payload": "/out_of_scope"}]
    events = [UserUttered("那师傅来之前会打电话吗"), question(cancel)]
    assert offered_button(dicts(events)) == {"payload": "/cancel_ticket", "title": "取消工单"}  # still pressable
    assert typed_confirmation("好的", dicts(events)) is None


def test_only_the_pending_two_stage_question_is_confirmed():
    assert offered_button(dicts(asked())) == {"payload": "/request_return", "title": "退换货"}
    answered = asked(UserUttered("/request_return"), ActionExecuted("action_two_stage_fallback"))
    assert offered_button(dicts(answered)) is None  # answered already
    other = [UserUttered("空调"), BotUttered("请问空调是要报修还是安装？", data={"buttons": BUTTONS},
                                             metadata={"utter_action": "utter_ask_product_service"})]
    assert offered_button(dicts(other)) is None  # another question: not this rule
    assert offered_button(dicts([UserUttered("在吗"), BotUttered("您好，请问有什么可以帮您？")])) is None
    forged = [UserUttered("x"), question([{"title": "重启", "payload": "/restart"}])]
    assert offered_button(dicts(forged)) is None  # only intents a customer may send
    faq = [UserUttered("滤网"), question([{"title": "滤网清洗", "payload": "空调滤网多久清洗一次"}])]
    assert offered_button(dicts(faq)) == {"payload": "空调滤网多久清洗一次", "title": "滤网清洗"}


class _Request:
    def __init__(self, body):
        self.json, self.headers, self.remote_addr, self.ip = body, {}, "127.0.0.1", "127.0.0.1"


class _Store:
    def __init__(self, events):
        self.events = list(events)

    async def retrieve(self, sender_id):
        return DialogueStateTracker.from_events(sender_id, self.events)


def _received(events, text, metadata=None):
    channel = KefuRestInput()
    store = _Store(events)
    channel._agent = SimpleNamespace(tracker_store=store, lock_store=InMemoryLockStore())
    channel._delivery_ledger = DeliveryLedger(url="")
    seen = []

    async def on_new_message(message):
        seen.append((message.text, message.metadata.get("display_text")))

    body = {"sender": "typed-yes", "message": text}
    if metadata:
        body["metadata"] = metadata
    answer = asyncio.run(channel._receive(_Request(body), on_new_message))
    assert answer.status == 200, json.loads(answer.body)
    return seen[0], answer


def test_the_rest_channel_hands_a_typed_yes_to_rasa_as_the_button_press():
    assert _received(asked(), "嗯")[0] == ("/request_return", "嗯")
    assert _received(asked(), "是的")[0] == ("/request_return", "是的")
    assert _received(asked(), "不是")[0] == ("不是", None)
    assert _received(asked(), "我要退货")[0] == ("我要退货", None)
    assert _received([UserUttered("你好"), BotUttered("您好")], "好的")[0] == ("好的", None)
    # a real click is left as it is
    assert _received(asked(), "/report_repair", {"display_text": "报修"})[0] == ("/report_repair", "报修")


def test_a_tracker_store_that_cannot_be_read_leaves_the_text_as_typed():
    class Down:
        async def retrieve(self, sender_id):
            raise ConnectionError("tracker store down")

    channel = KefuRestInput()
    channel._agent = SimpleNamespace(tracker_store=Down(), lock_store=InMemoryLockStore())
    assert asyncio.run(channel._typed_confirmation("s", "好的", {})) == "好的"
