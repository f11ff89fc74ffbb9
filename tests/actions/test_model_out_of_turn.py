""""额 刚才说错了 是XQG80-BD14" at the address question: the NLU put the new model in its slot,
and the bot asked for the address again without a word on the model (widget chat,
2026-12-07). A model typed while another question is open is taken and acknowledged."""
from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions import forms
from tests.actions.test_dialogue_actions import action, tracker_of, user

ADDRESS = "北京市朝阳区望京街道花家地北里3号楼2单元501"


def at_question(text: str, asked: str, model_before: str = "XQG80-BD12"):
    events = [{"event": "slot", "name": "product_model", "value": model_before}, action("action_listen"), user(text)]
    tracker = tracker_of(events, {"requested_slot": asked, "product_model": model_before}, active_loop="repair_form")
    return tracker, CollectingDispatcher()


def said(dispatcher: CollectingDispatcher) -> list:
    return [m.get("response") for m in dispatcher.messages]


def test_a_corrected_model_at_the_address_question_is_acknowledged_and_the_address_asked_once():
    tracker, dispatcher = at_question("额 刚才说错了 是XQG80-BD14", "address")
    result = forms.ValidateRepairForm().validate_product_model("XQG80-BD14", dispatcher, tracker, {})
    assert result["product_model"] == "XQG80-BD14"
    assert said(dispatcher) == ["utter_model_noted_ask_address"]
    assert dispatcher.messages[0]["model"] == "XQG80-BD14"
    # the address validator, run in the same turn on DIET's stray span, does not say it twice
    tracker.slots.update(result)  # as rasa_sdk does between two validators
    assert forms.ValidateRepairForm().validate_address("额 刚才说错了", dispatcher, tracker, {})["address"] is None
    assert said(dispatcher) == ["utter_model_noted_ask_address"]


def test_a_model_with_the_address_in_one_message_is_noted_without_asking_for_the_address():
    tracker, dispatcher = at_question(f"{ADDRESS} 型号是XQG80-BD14", "address")
    forms.ValidateRepairForm().validate_product_model("XQG80-BD14", dispatcher, tracker, {})
    assert said(dispatcher) == ["utter_model_noted"]


def test_a_model_at_the_phone_question_is_noted():
    tracker, dispatcher = at_question("型号应该是KFR-35GW", "phone", model_before=forms.UNKNOWN_MODEL)
    assert forms.ValidateRepairForm().validate_product_model("KFR-35GW", dispatcher, tracker, {})["product_model"] == "KFR-35GW"
    assert said(dispatcher) == ["utter_model_noted"]


def test_the_same_model_again_or_at_its_own_question_says_nothing_more():
    tracker, dispatcher = at_question("是XQG80-BD12", "address")  # the model the form has
    forms.ValidateRepairForm().validate_product_model("XQG80-BD12", dispatcher, tracker, {})
    assert said(dispatcher) == []
    tracker, dispatcher = at_question("XQG80-BD14", "product_model", model_before=None)
    forms.ValidateRepairForm().validate_product_model("XQG80-BD14", dispatcher, tracker, {})
    assert said(dispatcher) == []
    # the request itself names the model: the form has asked nothing yet
    tracker, dispatcher = at_question("洗衣机XQG80-BD14不脱水", None, model_before=None)
    forms.ValidateRepairForm().validate_product_model("XQG80-BD14", dispatcher, tracker, {})
    assert said(dispatcher) == []
