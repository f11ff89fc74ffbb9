"""Kefu's custom actions against a real database (SQLite and PostgreSQL).

Actions are driven like Rasa drives them: a Tracker built from a dict, a
CollectingDispatcher, and the async `run`. What the customer is told is checked
against what is in the database.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions import forms, lookups, requests
from kefu import db
from kefu.models.service import Ticket
from kefu.services import tickets
from kefu.services.tickets import TicketRequest


def make_tracker(slots: Dict[str, Any], text: str = "", intent: str = "inform", sender: str = "conv-1",
                 metadata: Optional[Dict[str, Any]] = None, events: Optional[List[Dict[str, Any]]] = None) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.98}, "entities": [], "metadata": metadata or {}}
    user_event = {"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}, "input_channel": "socketio"}
    return Tracker(sender, slots, latest, (events or []) + [user_event], False, None, {}, "action_listen")


def deactivated_form_tracker(text: str, intent: str, asked: str, form: str = "repair_form") -> Tracker:
    """What an action after ``action_deactivate_loop`` sees: ``text`` (read as ``intent``)
    came while ``form`` asked for ``asked``, and a rule set the form aside."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.95}, "entities": []}
    events: List[Dict[str, Any]] = [
        {"event": "active_loop", "name": form},
        {"event": "slot", "name": "requested_slot", "value": asked},
        {"event": "user", "text": text, "parse_data": latest},
        {"event": "action", "name": "action_deactivate_loop"},
        {"event": "active_loop", "name": None},
        {"event": "slot", "name": "requested_slot", "value": None},
    ]
    return Tracker(f"{intent}-1", {}, latest, events, False, None, {}, "action_listen")


def run(action, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def responses(messages) -> List[str]:
    return [m.get("response") for m in messages if m.get("response")]


REPAIR_SLOTS = {
    "product": "空调", "product_model": "未知", "fault": "不制冷", "fault_description": "空调不制冷了",
    "address": "上海市浦东新区张江路100弄5号601室", "phone": "13812345678",
    "appointment_start": None, "appointment_end": None,
}


def count_tickets(url: str) -> int:
    with db.session_scope(url) as session:
        return session.execute(select(func.count(Ticket.id))).scalar_one()


def test_repair_submission_creates_the_ticket_it_announces(service_db):
    messages, events = run(requests.ActionSubmitRepair(), make_tracker(REPAIR_SLOTS))
    created = [m for m in messages if m.get("response") == "utter_ticket_created_repair"]
    assert created, messages
    ticket_no = created[0]["ticket_no"]
    with db.session_scope(service_db) as session:
        ticket = tickets.get_ticket_for_customer(session, ticket_no, phone="13812345678")
        assert ticket.type == "repair" and ticket.product == "空调" and ticket.conversation_id == "conv-1"
    card = [m["custom"] for m in messages if m.get("custom")]
    assert card and card[0]["ticket_no"] == ticket_no
    assert {"event": "slot", "name": "last_ticket_no", "value": ticket_no, "timestamp": None} in events


def test_submitting_the_same_form_twice_creates_one_ticket(service_db):
    first, _ = run(requests.ActionSubmitRepair(), make_tracker(REPAIR_SLOTS))
    second, _ = run(requests.ActionSubmitRepair(), make_tracker(REPAIR_SLOTS))
    assert "utter_ticket_existing" in responses(second)
    assert first[0]["ticket_no"] == second[0]["ticket_no"]
    assert count_tickets(service_db) == 1


def test_emergency_gets_safety_instruction_first_and_top_priority(service_db):
    messages, events = run(requests.ActionTriageRepair(), make_tracker({}, text="热水器有很浓的燃气味", intent="report_repair"))
    assert responses(messages)[0] == "utter_safety_gas"
    assert {"event": "slot", "name": "emergency", "value": True, "timestamp": None} in events
    slots = dict(REPAIR_SLOTS, product="热水器", fault="燃气泄漏", fault_description="热水器有很浓的燃气味", emergency=True)
    messages, _ = run(requests.ActionSubmitRepair(), make_tracker(slots))
    assert "utter_ticket_created_emergency" in responses(messages)
    with db.session_scope(service_db) as session:
        assert session.execute(select(Ticket.priority)).scalar_one() == "抢修"


@pytest.mark.parametrize("text, expected", [
    ("热水器漏水了，要报修", ["utter_repair_start", "utter_tip_water_leak"]),
    ("空调一直在滴水", ["utter_repair_start", "utter_tip_water_leak"]),       # a variant of 漏水
    ("洗衣机没有漏水，就是不脱水", ["utter_repair_start"]),                  # negated: no tip
    ("冰箱不制冷", ["utter_repair_start"]),
    ("水管爆了，到处是水", ["utter_safety_water"]),                          # 漫水 is an emergency
])
def test_a_leak_gets_a_first_aid_tip_before_the_questions(service_db, text, expected):
    messages, _ = run(requests.ActionTriageRepair(), make_tracker({}, text=text, intent="report_repair"))
    assert responses(messages)[:len(expected)] == expected
    assert "utter_tip_water_leak" not in responses(messages)[len(expected):]


def test_every_first_aid_tip_is_a_catalogue_fault_with_a_response():
    from actions.common import safety_config
    from kefu.nlp.catalogue import load_catalogue
    domain = yaml.safe_load(open("domain.yml", encoding="utf-8"))
    catalogue = load_catalogue()
    for fault, response in safety_config()["fault_tips"].items():
        assert response in domain["responses"]
        assert fault in catalogue.faults and not catalogue.faults[fault].emergency


def test_database_down_never_claims_success(monkeypatch, clean_db):
    monkeypatch.setenv("KEFU_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
    messages, events = run(requests.ActionSubmitRepair(), make_tracker(REPAIR_SLOTS))
    assert responses(messages) == ["utter_service_unavailable"]
    assert not any(e.get("name") in ("product", "address") for e in events)  # slots kept for a retry


def test_ticket_lookup_does_not_leak_other_customers_tickets(service_db):
    with db.session_scope(service_db) as session:
        ticket_no = tickets.create_ticket(session, TicketRequest(type="repair", phone="13812345678", product="冰箱",
                                                                 description="冰箱不制冷")).ticket.ticket_no
    stranger, _ = run(lookups.ActionTicketOperation(), make_tracker({"ticket_no": ticket_no, "phone": "13900000000", "ticket_op": "query"}))
    unknown, _ = run(lookups.ActionTicketOperation(), make_tracker({"ticket_no": "BX20200101-9999", "phone": "13812345678", "ticket_op": "query"}))
    assert responses(stranger) == responses(unknown) == ["utter_ticket_not_found"]
    owner, _ = run(lookups.ActionTicketOperation(), make_tracker({"ticket_no": ticket_no, "phone": "13812345678", "ticket_op": "query"}))
    status = [m for m in owner if m.get("response") == "utter_ticket_status"]
    assert status and status[0]["status"] == "受理"


def test_cancel_asks_for_confirmation_then_cancels(service_db):
    with db.session_scope(service_db) as session:
        ticket_no = tickets.create_ticket(session, TicketRequest(type="installation", phone="13812345678", product="空调",
                                                                 description="新装")).ticket.ticket_no
    messages, events = run(lookups.ActionTicketOperation(), make_tracker({"ticket_no": ticket_no, "phone": "13812345678", "ticket_op": "cancel"}))
    assert "utter_ask_cancel_confirm" in responses(messages)
    assert {"event": "slot", "name": "pending_cancel", "value": True, "timestamp": None} in events
    messages, _ = run(lookups.ActionConfirmCancel(), make_tracker({"last_ticket_no": ticket_no, "phone": "13812345678"}, intent="affirm"))
    assert "utter_ticket_cancelled" in responses(messages)
    with db.session_scope(service_db) as session:
        assert tickets.get_ticket(session, ticket_no).status == "已取消"


def test_the_cancel_confirmation_says_what_cancelling_this_kind_of_ticket_means(service_db):
    """Cancelling a complaint was confirmed with "取消后师傅将不再上门" (chat probe, 2026-12-08)."""
    said = {}
    for kind in ("installation", "complaint"):
        with db.session_scope(service_db) as session:
            ticket_no = tickets.create_ticket(session, TicketRequest(type=kind, phone="13812345678", product="空调",
                                                                     description="师傅态度很差")).ticket.ticket_no
        messages, _ = run(lookups.ActionTicketOperation(), make_tracker({"ticket_no": ticket_no, "phone": "13812345678", "ticket_op": "cancel"}))
        said[kind] = next(m for m in messages if m.get("response") == "utter_ask_cancel_confirm")["cancel_note"]
    assert "师傅" in said["installation"] and "上门" in said["installation"]
    assert "投诉" in said["complaint"] and "上门" not in said["complaint"]


def test_phone_validation_accepts_chinese_digits_and_rejects_garbage():
    validator = forms.ValidateRepairForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({})
    assert validator.validate_phone("一三八一二三四五六七八", dispatcher, tracker, {}) == {"phone": "13812345678"}
    assert validator.validate_phone("12345", dispatcher, tracker, {}) == {"phone": None}
    assert responses(dispatcher.messages) == ["utter_invalid_phone"]


def test_verified_customer_is_not_asked_for_a_phone(service_db):
    from kefu.tokens import sign_customer_token

    token = sign_customer_token(customer_id=1, phone="13812345678")
    tracker = make_tracker({}, metadata={"customer_token": token})
    slots = asyncio.run(forms.ValidateRepairForm().required_slots(
        ["product", "product_model", "fault_description", "address", "phone", "appointment_time"], CollectingDispatcher(), tracker, {}))
    assert "phone" not in slots
    forged = make_tracker({}, metadata={"customer_token": token[:-2] + "xx"})
    slots = asyncio.run(forms.ValidateRepairForm().required_slots(["phone"], CollectingDispatcher(), forged, {}))
    assert slots == ["phone"]


def test_fault_description_needs_content():
    validator = forms.ValidateRepairForm()
    tracker = make_tracker({})
    assert validator.validate_fault_description("我要报修", CollectingDispatcher(), tracker, {}) == {"fault_description": None}
    result = validator.validate_fault_description("洗衣机漏水，地上全是水", CollectingDispatcher(), tracker, {})
    assert result["fault_description"] and result["fault"] == "漏水"


@pytest.mark.parametrize("text,score", [("5", 5), ("五星", 5), ("非常满意", 5), ("还行吧", 3), ("太差了", 1), ("4分", 4)])
def test_survey_score_parsing(text, score):
    assert forms.parse_score(text) == score


def test_severe_complaint_is_handed_to_the_complaint_desk(service_db):
    messages, events = run(requests.ActionAcknowledgeComplaint(),
                           make_tracker({}, text="你们再不处理我就去12315投诉你们，还要找媒体曝光", intent="complain"))
    assert responses(messages)[0] == "utter_complaint_empathy"  # feelings first
    from kefu.models.desk import Handoff

    with db.session_scope(service_db) as session:
        handoff = session.execute(select(Handoff)).scalar_one()
        assert handoff.group_name == "投诉专席" and handoff.conversation_id == "conv-1"
        assert "12315" in handoff.summary["terms"]


@pytest.mark.parametrize("text,expected", [("热水器有燃气味", "燃气泄漏"), ("没有燃气味，就是打不着火", None),
                                           ("空调没有电了", None), ("洗衣机外壳带电，手一摸就麻", "漏电")])
def test_emergency_detection_ignores_negations(text, expected):
    assert requests.emergency_fault(text, None) == expected


def test_correction_is_acknowledged_even_when_rasa_repeats_the_slot_event():
    events = [{"event": "slot", "name": "product", "value": "洗衣机"}, {"event": "user", "text": "不对，是冰箱"},
              {"event": "slot", "name": "product", "value": "冰箱"}, {"event": "slot", "name": "product", "value": "冰箱"}]
    tracker = Tracker("c", {"product": "冰箱"}, {}, events, False, None, {"name": "repair_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    assert forms.ValidateRepairForm().validate_product("冰箱", dispatcher, tracker, {}) == {"product": "冰箱"}
    assert "更正为冰箱" in dispatcher.messages[0]["text"]


def test_validators_stay_silent_for_slots_reset_by_an_action():
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({})
    assert forms.ValidateSurveyForm().validate_satisfaction_score(None, dispatcher, tracker, {}) == {"satisfaction_score": None}
    assert forms.ValidateSurveyForm().validate_satisfaction_comment(None, dispatcher, tracker, {}) == {"satisfaction_comment": None}
    assert forms.ValidateRepairForm().validate_product(None, dispatcher, tracker, {}) == {"product": None}
    assert dispatcher.messages == []


def test_reschedule_moves_the_appointment_of_the_customers_ticket(service_db):
    with db.session_scope(service_db) as session:
        ticket_no = tickets.create_ticket(session, TicketRequest(type="repair", phone="13812345678", product="空调",
                                                                 description="空调不制冷")).ticket.ticket_no
    window = forms.parse_appointment("后天上午", forms.now_local())
    slots = {"ticket_no": ticket_no, "phone": "13812345678", "ticket_op": "reschedule",
             "appointment_start": window.start.isoformat(), "appointment_end": window.end.isoformat()}
    messages, _ = run(lookups.ActionTicketOperation(), make_tracker(slots))
    assert "utter_ticket_rescheduled" in responses(messages)
    with db.session_scope(service_db) as session:
        ticket = tickets.get_ticket(session, ticket_no)
        assert ticket.appointment_start == window.start
        assert "rescheduled" in [e.kind for e in ticket.events]


def test_signed_in_customer_is_asked_to_confirm_the_registered_model(service_db):
    from kefu.models.service import RegisteredProduct
    from kefu.services import customers
    from kefu.tokens import sign_customer_token

    with db.session_scope(service_db) as session:
        customer, _ = customers.get_or_create_customer(session, "13812345678", address="上海市浦东新区张江路100弄5号601室")
        session.add(RegisteredProduct(customer_id=customer.id, category="净水器", model="RO-600G"))
        session.flush()
        token = sign_customer_token(customer_id=customer.id, phone="13812345678")
    tracker = make_tracker({"product": "净水器"}, metadata={"customer_token": token})
    messages, events = run(requests.ActionAskProductModel(), tracker)
    assert "RO-600G" in messages[0]["text"] and messages[0]["buttons"][0]["payload"] == "RO-600G"
    messages, _ = run(requests.ActionAskAddress(), tracker)
    assert "张江路100弄5号601室" in messages[0]["text"]
    anonymous, _ = run(requests.ActionAskProductModel(), make_tracker({"product": "净水器", "phone": "13812345678"}))
    assert anonymous[0]["response"] == "utter_ask_product_model"  # a typed phone reveals nothing


def test_the_address_is_not_asked_twice_after_it_was_found_incomplete():
    """"滚筒的" as the address: "地址好像不太完整，请写明…" already asks again, so the form's
    question does not follow it in the same turn (e2e: two address prompts in one reply)."""
    invalid = {"event": "bot", "text": "地址好像不太完整", "metadata": {"utter_action": "utter_invalid_address"}}
    tracker = make_tracker({}, text="滚筒的")
    tracker.events.append(invalid)
    assert run(requests.ActionAskAddress(), tracker)[0] == []
    earlier_turn = make_tracker({}, text="杭州市西湖区文三路478号1203室", events=[invalid])
    assert responses(run(requests.ActionAskAddress(), earlier_turn)[0]) == ["utter_ask_address"]


def test_a_second_product_in_the_request_is_offered_after_the_ticket(service_db, pinned_clock):
    """"冰箱不制冷 空调也不制热 两个都要修" made one ticket (chat probe): the other one is offered."""
    slots = dict(REPAIR_SLOTS, fault_description="冰箱不制冷 空调也不制热 两个都要修")
    messages, _ = run(requests.ActionSubmitRepair(), make_tracker(slots))
    offer = [m for m in messages if m.get("response") == "utter_offer_other_repair"]
    assert len(offer) == 1 and offer[0]["product"] == "冰箱"
    assert offer[0]["buttons"][0] == {"title": "也给冰箱报修", "payload": "冰箱也要报修"}
    single, _ = run(requests.ActionSubmitRepair(), make_tracker(dict(REPAIR_SLOTS, phone="13900000009")))
    assert "utter_offer_other_repair" not in responses(single)
