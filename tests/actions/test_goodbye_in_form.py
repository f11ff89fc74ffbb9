"""A goodbye inside a form closes politely, unless "没有了"/"不知道" answered a question where
"nothing" is an answer: "没有了" to the repair form's model question read as goodbye (0.98)
and ended the form (found chatting as a customer)."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from rasa_sdk.executor import CollectingDispatcher

from actions.courtesy import ActionGoodbyeInForm
from tests.actions.test_actions import deactivated_form_tracker


def run_goodbye(text: str, asked: str, form: str = "repair_form") -> tuple:
    tracker = deactivated_form_tracker(text, "goodbye", asked, form)
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionGoodbyeInForm().run(dispatcher, tracker, {}))
    return [m.get("response") for m in dispatcher.messages], result


def slot_value(events: List[Dict[str, Any]], name: str) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name)


def test_nothing_more_to_the_model_question_is_an_unknown_model_and_the_form_goes_on():
    for text in ["没有了", "没有", "没了。", "不知道"]:
        said, events = run_goodbye(text, "product_model")
        assert said == [], text
        assert slot_value(events, "product_model") == "未知"
        assert events[0] == {"event": "active_loop", "name": "repair_form", "timestamp": None}
        assert events[-1]["event"] == "followup" and events[-1]["name"] == "repair_form"


def test_nothing_more_to_the_complaint_demand_is_the_demand():
    said, events = run_goodbye("没有了", "complaint_demand", form="complaint_form")
    assert said == [] and slot_value(events, "complaint_demand") == "没有了"


def test_a_real_goodbye_closes_politely():
    for text, asked in [("再见", "product_model"), ("拜拜啦", "product_model"), ("没有了", "phone"), ("没有了", "address")]:
        said, events = run_goodbye(text, asked)
        assert said == ["utter_goodbye"], (text, asked)
        assert events == []


def test_nothing_to_the_return_forms_order_question_goes_on_without_a_number():
    """"没有了" there closed the return with a goodbye (clean-clone chat, 2026-12-07)."""
    for text in ["没有了", "没有"]:
        said, events = run_goodbye(text, "order_no", form="return_form")
        assert said == ["utter_no_order_no_ok"], text
        assert slot_value(events, "order_no") == "未提供"
        assert events[-1]["event"] == "followup" and events[-1]["name"] == "return_form"
    said, _ = run_goodbye("拜拜", "order_no", form="return_form")
    assert said == ["utter_goodbye"]  # a real goodbye still closes
    said, _ = run_goodbye("没有了", "order_no", form="order_lookup_form")
    assert said == ["utter_goodbye"]  # a look-up has nothing to file without the number


def test_that_is_all_to_the_model_question_is_an_unknown_model():
    """"对 就是这些" after a message with everything but a model closed the repair with a
    goodbye, nothing filed (chat probe, 2026-12-07 evening)."""
    for text in ["对 就是这些", "就这些", "嗯 就这么多"]:
        said, events = run_goodbye(text, "product_model")
        assert said == [] and slot_value(events, "product_model") == "未知", text


def test_a_goodbye_in_a_half_filled_request_says_it_was_not_filed():
    tracker = deactivated_form_tracker("拜拜", "goodbye", "appointment_time")
    tracker.slots.update({"product": "热水器", "address": "杭州市西湖区文三路478号", "phone": "15857163920"})
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionGoodbyeInForm().run(dispatcher, tracker, {})) == []
    assert dispatcher.messages[0]["response"] == "utter_goodbye_unsubmitted"
    assert dispatcher.messages[0]["form"] == "报修登记" and dispatcher.messages[0]["request"] == "报修"


def test_a_goodbye_with_one_answer_or_in_a_look_up_just_closes():
    tracker = deactivated_form_tracker("拜拜", "goodbye", "product_model")
    tracker.slots.update({"product": "热水器"})
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionGoodbyeInForm().run(dispatcher, tracker, {}))
    assert [m["response"] for m in dispatcher.messages] == ["utter_goodbye"]
    tracker = deactivated_form_tracker("拜拜", "goodbye", "ticket_no", form="ticket_lookup_form")
    tracker.slots.update({"phone": "15857163920", "ticket_op": "query", "address": "x"})
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionGoodbyeInForm().run(dispatcher, tracker, {}))
    assert [m["response"] for m in dispatcher.messages] == ["utter_goodbye"]
