"""A "ticket question" inside a form that names no ticket is the form's answer (found by
the conversation simulator: "记不清了" to the model question left the repair form)."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.courtesy import ActionSwitchRequest


def run_switch(text: str, asked: str, form: str = "repair_form", intent: str = "query_ticket") -> tuple:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.88}, "entities": []}
    events: List[Dict[str, Any]] = [
        {"event": "active_loop", "name": form},
        {"event": "slot", "name": "requested_slot", "value": asked},
        {"event": "user", "text": text, "parse_data": latest},
        {"event": "active_loop", "name": None},
        {"event": "slot", "name": "requested_slot", "value": None},
    ]
    tracker = Tracker("switch-1", {}, latest, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionSwitchRequest().run(dispatcher, tracker, {}))
    return [m.get("response") for m in dispatcher.messages], result


def test_no_ticket_named_the_text_answers_the_question_and_the_form_goes_on():
    said, events = run_switch("记不清了", "product_model")
    assert said == []
    assert {"event": "slot", "name": "product_model", "value": "未知", "timestamp": None} in events
    assert events[0]["event"] == "active_loop" and events[0]["name"] == "repair_form"
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "repair_form"
    said, events = run_switch("换个靠谱的师傅重新上门", "complaint_demand", form="complaint_form", intent="reschedule_ticket")
    assert {"event": "slot", "name": "complaint_demand", "value": "换个靠谱的师傅重新上门", "timestamp": None} in events


def test_a_real_ticket_question_still_switches():
    for text in ["帮我查下工单进度", "BX20261122-0042 到哪了", "催一下"]:
        said, events = run_switch(text, "product_model")
        assert said == ["utter_switch_request"], text
        assert events[-1]["name"] == "ticket_lookup_form"


@pytest.mark.parametrize("text, asked", [("不记得了", "phone"), ("reset过了 没用", "address")])
def test_a_validated_question_is_never_filled_unchecked_and_asked_again(text, asked):
    """The validator must see an answer: nothing is filled, the form asks again (chat probe,
    2026-12-07: "reset过了 没用" at the address question became a ticket look-up)."""
    said, events = run_switch(text, asked)
    assert said == [] and not any(e.get("event") == "slot" and e.get("name") == asked for e in events)
    assert {"event": "slot", "name": "requested_slot", "value": asked, "timestamp": None} in events
    assert events[-1] == {"event": "followup", "name": "repair_form", "timestamp": None}


def test_a_question_about_the_visit_at_a_validated_question_still_switches():
    said, events = run_switch("师傅什么时候来", "address")
    assert said == ["utter_switch_request"] and events[-1]["name"] == "ticket_lookup_form"


def test_a_complaint_given_as_the_return_reason_is_the_reason():
    said, events = run_switch("质量太差了，用两天就坏了", "return_reason", form="return_form", intent="complain")
    assert said == []
    assert {"event": "slot", "name": "return_reason", "value": "质量太差了，用两天就坏了", "timestamp": None} in events
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "return_form"


def test_a_complaint_at_another_question_of_the_return_form_still_switches():
    said, events = run_switch("你们退货太麻烦了，我要投诉", "order_no", form="return_form", intent="complain")
    assert said[0] == "utter_switch_request" and "utter_complaint_empathy" in said


def test_a_return_wish_in_the_repair_form_switches_to_the_return_form():
    said, events = run_switch("算了不修了，我要退货", "product_model", intent="request_return")
    assert said == ["utter_switch_request"]
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "return_form"
    assert not any(e.get("name") == "product_model" for e in events)  # not saved as the model


def test_a_repair_request_inside_the_installation_form_starts_the_repair_with_its_details():
    """"那我先报个修吧，冰箱不制冷" while booking the washing machine's installation: the repair
    is for the fridge (not the washing machine of the other form), with its description."""
    from actions.courtesy import ActionSwitchRequest
    from tests.actions.test_actions import deactivated_form_tracker, responses, run

    text = "那我先报个修吧，冰箱不制冷"
    tracker = deactivated_form_tracker(text, "report_repair", "install_kind", form="installation_form")
    tracker.latest_message["entities"] = [{"entity": "product", "value": "冰箱"}, {"entity": "fault", "value": "不制冷"}]
    tracker.slots.update({"product": "洗衣机", "product_model": "XQG100"})
    messages, events = run(ActionSwitchRequest(), tracker)
    assert responses(messages) == ["utter_switch_request"]
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["product"] == "冰箱" and slots["product_model"] is None and slots["fault"] == "不制冷"
    assert slots["fault_description"] == text
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "repair_form"


def test_an_emergency_typed_inside_another_form_gets_the_safety_instruction_first():
    from actions.courtesy import ActionSwitchRequest
    from tests.actions.test_actions import deactivated_form_tracker, run

    tracker = deactivated_form_tracker("先别装了，家里燃气灶漏气了", "report_repair", "address", form="installation_form")
    messages, events = run(ActionSwitchRequest(), tracker)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots.get("emergency") is True and slots["product"] == "燃气灶"
    assert messages[-1].get("response") == "utter_switch_request"  # after the safety instruction
    assert any("抢修" in (m.get("text") or "") for m in messages[:-1])


def test_no_order_number_read_as_an_order_question_answers_the_return_form():
    """"没有订单号，是在门店买的" at the return form's order-number question was read as
    query_order: the return form was set aside for an order lookup that asked for the very
    number the customer had just said they do not have (chat probe)."""
    said, events = run_switch("没有订单号，是在门店买的", "order_no", form="return_form", intent="query_order")
    assert said == ["utter_no_order_no_ok"]
    assert {"event": "slot", "name": "order_no", "value": "未提供", "timestamp": None} in events
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "return_form"
    said, events = run_switch("帮我查下订单 DD202611150042", "order_no", form="return_form", intent="query_order")
    assert said == ["utter_switch_request"] and events[-1]["name"] == "order_lookup_form"  # a real order question


@pytest.mark.parametrize("text", ["是滚筒的，买了有五六年了吧", "买了好几年了 型号看不清"])
def test_a_return_read_into_an_answer_without_a_return_word_does_not_switch(text):
    """"是滚筒的，买了有五六年了吧" to the model question turned the repair into a return (chat probe)."""
    said, events = run_switch(text, "product_model", intent="request_return")
    assert said == []
    assert events[0] == {"event": "active_loop", "name": "repair_form", "timestamp": None}
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "repair_form"
    assert not any(e.get("name") == "return_form" for e in events)


@pytest.mark.parametrize("text", ["算了不修了，直接退货吧", "能换一台新的吗", "我想换个小一点的"])
def test_a_return_wish_with_a_return_word_still_switches(text):
    said, events = run_switch(text, "address", intent="request_return")
    assert "utter_switch_request" in said and events[-1]["name"] == "return_form"


def test_a_grievance_given_as_the_suggestion_asked_for_is_the_suggestion():
    """"你们的洗衣机app太难用了 每次连wifi都连不上" after "请说说您的建议" was read as a complaint
    (1.0) and the suggestion became a complaint form (CI of 2026-12-07, a newly trained model)."""
    text = "你们的洗衣机app太难用了 每次连wifi都连不上"
    said, events = run_switch(text, "suggestion_text", form="suggestion_form", intent="complain")
    assert said == []
    assert {"event": "slot", "name": "suggestion_text", "value": text, "timestamp": None} in events
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "suggestion_form"
