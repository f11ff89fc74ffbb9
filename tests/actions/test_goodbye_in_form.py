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
