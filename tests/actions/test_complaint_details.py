"""A complaint whose first message already says what the customer wants was asked "您希望我们
怎样处理？" anyway, and the details typed next were stored as the demand (widget chat,
2026-12-07). The demand is taken from the complaint; more details at the demand question are
added to the complaint and the question comes again."""
from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions import forms
from kefu.dialogue_config import demand_in_complaint, tells_more_of_the_complaint
from tests.actions.test_dialogue_actions import action, tracker_of, user

COMPLAINT = "我要投诉，师傅上门态度很差，还多收了我100块钱，我要求退钱并且道歉"


def test_the_demand_is_the_clauses_that_ask_for_something():
    assert demand_in_complaint(COMPLAINT) == "我要求退钱并且道歉"
    assert demand_in_complaint("希望你们给个说法 师傅太不专业了") == "希望你们给个说法"
    assert demand_in_complaint("我要投诉 你们的师傅太不专业了") is None
    assert demand_in_complaint("师傅给我装歪了") is None  # "给我" tells what happened
    assert demand_in_complaint("退款半个月了还没到账") is None  # a demand still unmet is what happened


def test_more_of_what_happened_is_told_from_a_demand():
    assert tells_more_of_the_complaint("而且他还把地板弄脏了")
    assert tells_more_of_the_complaint("然后还跟我吵了一架")
    assert tells_more_of_the_complaint("空调装歪了 外机也没固定好")  # something done, no wish
    assert not tells_more_of_the_complaint("算了 你们看着办吧")
    assert not tells_more_of_the_complaint("而且我要求赔偿")  # says what the customer wants
    assert not tells_more_of_the_complaint("换一台新的")
    assert not tells_more_of_the_complaint("没有")


def first_message(text: str):
    tracker = tracker_of([action("action_listen"), user(text, intent="complain")], {"requested_slot": None},
                         active_loop="complaint_form")
    return asyncio.run(forms.ValidateComplaintForm().extract_complaint_demand(CollectingDispatcher(), tracker, {}))


def test_a_complaint_that_says_what_the_customer_wants_fills_the_demand():
    assert first_message(COMPLAINT) == {"complaint_demand": "我要求退钱并且道歉"}
    assert first_message("我要投诉 你们的师傅太不专业了") == {}


def at_demand_question(text: str, intent: str = "complain"):
    events = [{"event": "slot", "name": "complaint_detail", "value": "师傅上门态度很差"}, action("action_listen"), user(text, intent=intent)]
    return tracker_of(events, {"requested_slot": "complaint_demand", "complaint_detail": "师傅上门态度很差"},
                      active_loop="complaint_form"), CollectingDispatcher()


def test_more_details_at_the_demand_question_go_to_the_complaint_and_the_question_comes_again():
    for text in ("而且他还把地板弄脏了", "空调装歪了 外机也没固定好"):
        tracker, dispatcher = at_demand_question(text)
        validator = forms.ValidateComplaintForm()
        added = asyncio.run(validator.extract_complaint_detail(dispatcher, tracker, {}))
        assert added == {"complaint_detail": f"师傅上门态度很差；{text}"}, text
        assert [m["response"] for m in dispatcher.messages] == ["utter_complaint_detail_noted"]
        tracker.slots.update(added)  # as rasa_sdk does after an extraction
        assert validator.validate_complaint_detail(added["complaint_detail"], dispatcher, tracker, {}) == added
        assert validator.validate_complaint_demand(text, dispatcher, tracker, {}) == {"complaint_demand": None}


def at_phone_question(text: str, intent: str = "complain"):
    events = [{"event": "slot", "name": "complaint_detail", "value": "空调装歪了"},
              {"event": "slot", "name": "complaint_demand", "value": "重新安装"}, action("action_listen"), user(text, intent=intent)]
    slots = {"requested_slot": "phone", "complaint_detail": text if intent == "complain" else "空调装歪了", "complaint_demand": "重新安装"}
    return tracker_of(events, slots, active_loop="complaint_form"), CollectingDispatcher()


def test_what_is_said_at_the_phone_question_is_kept_and_the_phone_asked_again_without_a_complaint_of_a_typo():
    validator = forms.ValidateComplaintForm()
    tracker, dispatcher = at_phone_question("而且他还把地板弄脏了")
    added = asyncio.run(validator.extract_complaint_detail(dispatcher, tracker, {}))
    assert added == {"complaint_detail": "空调装歪了；而且他还把地板弄脏了"}
    assert validator.validate_phone("而且他还把地板弄脏了", dispatcher, tracker, {}) == {"phone": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_complaint_detail_noted"]  # not "没能识别出有效的手机号"
    tracker, dispatcher = at_phone_question("再给个说法", intent="give_suggestion")
    assert asyncio.run(validator.extract_complaint_detail(dispatcher, tracker, {})) == {"complaint_demand": "重新安装；再给个说法"}


def test_a_phone_a_question_or_courtesy_at_the_phone_question_is_not_added():
    validator = forms.ValidateComplaintForm()
    for text in ("13812345678", "好的", "为什么要手机号？", "要留电话吗"):
        tracker, dispatcher = at_phone_question(text, intent="inform")
        assert asyncio.run(validator.extract_complaint_detail(dispatcher, tracker, {})) == {}, text
        assert dispatcher.messages == []


def test_a_demand_at_the_demand_question_is_the_demand():
    tracker, dispatcher = at_demand_question("希望换个师傅重新上门")
    assert forms.ValidateComplaintForm().validate_complaint_demand("希望换个师傅重新上门", dispatcher, tracker, {}) == {
        "complaint_demand": "希望换个师傅重新上门"}
    assert dispatcher.messages == []
