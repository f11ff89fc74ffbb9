""""I don't know" is an answer, not a dead end (found chatting as a customer):

- "不知道单号" in the ticket look-up only repeated the number format: now a signed-in
  customer picks one of their recent tickets, anyone else hears where the number is and
  gets a button to a person (never a ticket's details for a phone number alone);
- "记不清了" to the model question, taken by the NLU for "stop the form", ended the repair
  form: it is the answer (model unknown) unless the customer also says they want to stop.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import forms
from actions.forms import ValidateTicketLookupForm
from actions.requests import ActionAbandonForm
from kefu import db
from kefu.services import customers, tickets
from kefu.services.tickets import TicketRequest
from kefu.tokens import sign_customer_token
from tests.actions.test_actions import deactivated_form_tracker, make_tracker, responses, run

PHONE = "13900000931"


@pytest.fixture
def service_db(clean_db, monkeypatch):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    return clean_db


def stopped(text: str, asked: str, form: str = "repair_form") -> Tracker:
    """The tracker action_abandon_form sees after "stop_form" set ``form`` aside."""
    return deactivated_form_tracker(text, "stop_form", asked, form)


def slot_value(events: List[Dict[str, Any]], name: str) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name)


def validate_ticket_no(tracker: Tracker):
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateTicketLookupForm().validate_ticket_no(tracker.latest_message["text"], dispatcher, tracker, {}))
    return dispatcher.messages, result


def test_dont_know_to_the_model_question_is_the_answer_not_a_stop():
    for text in ["记不清了", "不知道", "忘了型号"]:
        messages, events = run(ActionAbandonForm(), stopped(text, "product_model"))
        assert responses(messages) == [], text
        assert slot_value(events, "product_model") == "未知"
        assert events[-1]["event"] == "followup" and events[-1]["name"] == "repair_form"


def test_a_real_stop_still_ends_the_form():
    for text, asked in [("不知道，算了不修了", "product_model"), ("算了", "product_model"), ("不弄了", "address"),
                        ("记不清了", "address")]:
        messages, events = run(ActionAbandonForm(), stopped(text, asked))
        assert responses(messages) == ["utter_form_abandoned"], (text, asked)
        assert not any(e.get("event") == "followup" for e in events)


def test_a_forgotten_ticket_number_heard_as_stop_gets_the_way_forward_and_the_lookup_goes_on():
    messages, events = run(ActionAbandonForm(), stopped("单号忘了", "ticket_no", form="ticket_lookup_form"))
    assert responses(messages) == ["utter_ticket_no_unknown"]
    assert messages[0]["buttons"] == [{"title": "转人工客服", "payload": "/request_human"}]
    assert events[0] == {"event": "active_loop", "name": "ticket_lookup_form", "timestamp": None}
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "ticket_lookup_form"


def test_a_forgotten_ticket_number_typed_to_the_lookup_form_is_not_called_malformed(service_db):
    messages, result = validate_ticket_no(make_tracker({"requested_slot": "ticket_no"}, text="不记得单号了"))
    assert result == {"ticket_no": None}
    assert responses(messages) == ["utter_ticket_no_unknown"]
    messages, result = validate_ticket_no(make_tracker({"requested_slot": "ticket_no"}, text="BX2026"))
    assert responses(messages) == ["utter_invalid_ticket_no"]


def test_a_signed_in_customer_picks_one_of_their_own_recent_tickets(service_db):
    with db.session_scope(service_db) as session:
        customer, _ = customers.get_or_create_customer(session, PHONE, name="周敏")
        other, _ = customers.get_or_create_customer(session, "13900000932", name="别人")
        session.flush()
        mine = tickets.create_ticket(session, TicketRequest(type="repair", customer_id=customer.id, product="空调",
                                                            fault="不制冷", description="空调不制冷")).ticket.ticket_no
        theirs = tickets.create_ticket(session, TicketRequest(type="repair", customer_id=other.id, product="冰箱",
                                                              description="冰箱不制冷")).ticket.ticket_no
        token = sign_customer_token(customer.id, PHONE)
    tracker = make_tracker({"requested_slot": "ticket_no"}, text="单号找不到了", metadata={"customer_token": token})
    messages, result = validate_ticket_no(tracker)
    assert result == {"ticket_no": None}
    assert responses(messages) == ["utter_pick_recent_ticket"]
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == [mine] and theirs not in payloads
    assert messages[0]["buttons"][0]["title"] == f"{mine} 空调"


def test_stopping_a_lookup_says_so_rather_than_cancelling_a_registration():
    messages, _ = run(ActionAbandonForm(), stopped("算了不查了", "ticket_no", form="ticket_lookup_form"))
    assert responses(messages) == ["utter_lookup_abandoned"]
    messages, _ = run(ActionAbandonForm(), stopped("算了", "phone", form="order_lookup_form"))
    assert responses(messages) == ["utter_lookup_abandoned"]


def test_a_repair_request_read_as_a_ticket_question_goes_to_the_repair_form():
    """"我想报修，油烟机不太对劲" and "油烟机故障了 求上门" opened the ticket look-up (7 of 200
    simulated repairs, 2026-12-07): with no ticket named, the look-up asks nothing and hands
    the request to the repair form with its product and description."""
    from actions.forms import ValidateTicketLookupForm
    from actions.lookups import ActionTicketOperation

    text = "我想报修，油烟机不太对劲"
    tracker = make_tracker({}, text=text, intent="query_ticket")
    required = asyncio.run(ValidateTicketLookupForm().required_slots(["ticket_no", "phone", "appointment_time"],
                                                                     CollectingDispatcher(), tracker, {}))
    assert required == []
    messages, events = run(ActionTicketOperation(), tracker)
    assert responses(messages) == ["utter_repair_start"]
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["product"] == "油烟机" and slots["fault_description"] == text and slots["ticket_op"] is None
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "repair_form"}


def test_a_real_ticket_question_still_opens_the_look_up():
    from actions.forms import ValidateTicketLookupForm
    from kefu.dialogue_config import misread_repair_request

    for text in ["师傅什么时候上门", "帮我查一下维修进度", "催一下维修", "我的工单BX20261122-0042 空调还是坏的", "查一下",
                 "人呢？说好的上午来修空调 现在都下午了"]:  # a chaser (chat probe, 2026-12-08)
        assert not misread_repair_request(text), text
        tracker = make_tracker({}, text=text, intent="query_ticket")
        required = asyncio.run(ValidateTicketLookupForm().required_slots(["ticket_no", "phone", "appointment_time"],
                                                                         CollectingDispatcher(), tracker, {}))
        assert required == ["ticket_no", "phone"], text
    asked = make_tracker({"requested_slot": "ticket_no"}, text="空调坏了", intent="query_ticket")  # answering, not opening
    assert asyncio.run(ValidateTicketLookupForm().required_slots(["ticket_no", "phone"], CollectingDispatcher(), asked, {})) \
        == ["ticket_no", "phone"]


def test_a_wrong_installation_kind_gets_one_short_hint_not_the_question_twice():
    """The validator said the whole question and the form asked it again: twice a turn, for
    every later answer (found chatting as a customer). Now a short hint; the form asks once."""
    from actions.forms import ValidateInstallationForm

    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"requested_slot": "install_kind"}, text="滚筒的")
    assert ValidateInstallationForm().validate_install_kind("滚筒的", dispatcher, tracker, {}) == {"install_kind": None}
    assert responses(dispatcher.messages) == ["utter_invalid_install_kind"]
    assert ValidateInstallationForm().validate_install_kind("就是装一下", CollectingDispatcher(), tracker, {}) \
        == {"install_kind": "新装"}


def test_an_answer_heard_as_thanks_is_judged_as_the_answer():
    """"在京东买的" at the return form's order question was heard as thanks (0.56) and got
    "不用客气" and the question again (chat probe, 2026-12-08)."""
    import asyncio

    from actions.courtesy import ActionCourtesy
    from tests.actions.test_dialogue_actions import action, tracker_of, user

    tracker = tracker_of([action("action_listen"), user("在京东买的", intent="thank")], {"requested_slot": "order_no"},
                         active_loop="return_form")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionCourtesy().run(dispatcher, tracker, {}))
    assert [m.get("response") for m in dispatcher.messages] == ["utter_no_order_no_ok"]
    assert {"event": "slot", "name": "order_no", "value": forms.NO_ORDER_NO, "timestamp": None} in events
    # thanks and a short yes stay courtesy
    for text, intent in (("谢谢你", "thank"), ("没问题", "affirm")):
        tracker = tracker_of([action("action_listen"), user(text, intent=intent)], {"requested_slot": "product_model"},
                             active_loop="repair_form")
        dispatcher = CollectingDispatcher()
        assert asyncio.run(ActionCourtesy().run(dispatcher, tracker, {})) == []
