"""A fault of a machine that is already installed, told inside the installation form, is a
repair (chat probe, 2026-12-07): "空调装好了但是不制冷" was heard as an installation request,
the form asked "新机安装、移机，还是拆机？" and, as the customer kept describing the fault,
said "还需要您选一下服务类型" and asked again, without end. The form now hands the request to
the repair form with the product and the fault description, at its first question as at the
install_kind question."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import forms

INSTALL_DOMAIN = {"forms": {"installation_form": {"required_slots": ["product", "install_kind", "address", "phone",
                                                                        "appointment_time"]}}, "slots": {}}
REPAIR_DOMAIN = {"forms": {"repair_form": {"required_slots": ["product", "product_model", "fault_description",
                                                              "address", "phone", "appointment_time"]}}, "slots": {}}


def installation_turn(text: str, intent: str, extracted: Dict[str, Any], slots: Optional[Dict[str, Any]] = None,
                      entities: Optional[List[Dict[str, Any]]] = None, activation: bool = False) -> Tracker:
    """What the installation form's validation action sees after ``text``: at the form's activation
    (the rule said utter_installation_start first, no loop active yet) or at ``requested_slot``."""
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.93}, "entities": entities or []}
    slots = dict(slots or {})
    events: List[Dict[str, Any]] = [] if activation else [{"event": "active_loop", "name": "installation_form"}]
    events += [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": parse, "metadata": {}},
        {"event": "action", "name": "action_extract_slots"},
    ]
    if activation:
        events += [{"event": "action", "name": "utter_installation_start"},
                   {"event": "bot", "text": "好的，为您预约安装服务。", "data": {}, "metadata": {}}]
    events += [{"event": "slot", "name": "requested_slot", "value": slots.get("requested_slot")},
               {"event": "action", "name": "installation_form"}]
    events += [{"event": "slot", "name": name, "value": value} for name, value in extracted.items()]
    loop = {} if activation else {"name": "installation_form"}
    return Tracker("install-1", {**slots, **extracted}, parse, events, False, None, loop, "action_listen")


def validate_installation(tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(forms.ValidateInstallationForm().run(dispatcher, tracker, INSTALL_DOMAIN))
    return [m.get("response") for m in dispatcher.messages], events


def slot_values(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def switched_to_repair(events: List[Dict[str, Any]]) -> bool:
    return (events[-1] == {"event": "followup", "name": "repair_form", "timestamp": None}
            and {"event": "active_loop", "name": None, "timestamp": None} in events
            and slot_values(events).get("requested_slot", "unset") is None)


AT_KIND = {"product": "空调", "requested_slot": "install_kind"}


@pytest.mark.parametrize("text, intent, tip", [
    ("装好了啊，就是不制冷", "inform", []),
    ("不是安装，是装好了不制冷", "request_installation", []),
    ("就是不制冷啊", "inform", []),                 # the fault again, no kind: it is no installation
    ("装完之后一直漏水", "request_installation", ["utter_tip_water_leak"]),  # as the repair's triage
])
def test_a_fault_told_at_the_install_kind_question_switches_to_the_repair(service_db, text, intent, tip):
    said, events = validate_installation(installation_turn(text, intent, {"install_kind": text}, AT_KIND))
    assert "utter_invalid_install_kind" not in said      # before: the question again, without end
    assert said == ["utter_installed_fault_repair"] + tip
    assert switched_to_repair(events), events
    slots = slot_values(events)
    assert slots["install_kind"] is None and slots["fault_description"] == text
    assert slots.get("product", "空调") == "空调"          # the installation's product stays


def test_the_opening_message_switches_before_the_first_question(service_db):
    text = "空调装好了但是不制冷"
    tracker = installation_turn(text, "request_installation", {"product": "空调"},
                                entities=[{"entity": "product", "value": "空调"}], activation=True)
    said, events = validate_installation(tracker)
    assert said == ["utter_installed_fault_repair"]
    assert switched_to_repair(events), events
    slots = slot_values(events)
    assert slots["product"] == "空调" and slots["fault_description"] == text and slots["install_kind"] is None


def test_an_emergency_of_an_installed_machine_gets_its_safety_instruction_first(service_db):
    text = "热水器刚装好就有很浓的燃气味"
    tracker = installation_turn(text, "request_installation", {"product": "热水器"},
                                entities=[{"entity": "product", "value": "热水器"}], activation=True)
    said, events = validate_installation(tracker)
    assert said[0] == "utter_safety_gas" and "utter_installed_fault_repair" not in said
    assert switched_to_repair(events) and slot_values(events)["emergency"] is True


def test_the_repair_form_takes_the_carried_details_and_asks_the_model(service_db):
    text = "装好了啊，就是不制冷"
    _, switch = validate_installation(installation_turn(text, "inform", {"install_kind": text}, AT_KIND))
    carried = {e["name"]: e["value"] for e in switch if e.get("event") == "slot" and e["name"] != "requested_slot"}
    parse = {"text": text, "intent": {"name": "inform", "confidence": 0.93}, "entities": []}
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text, "parse_data": parse},
              {"event": "action", "name": "action_extract_slots"}, {"event": "action", "name": "installation_form"}]
    events += [{"event": "slot", "name": n, "value": v} for n, v in carried.items()]
    events += [{"event": "slot", "name": "requested_slot", "value": None}, {"event": "action", "name": "repair_form"}]
    events += [{"event": "slot", "name": n, "value": v} for n, v in carried.items() if v is not None]
    tracker = Tracker("install-1", {"product": "空调", **carried}, parse, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    validated = asyncio.run(forms.ValidateRepairForm().run(dispatcher, tracker, REPAIR_DOMAIN))
    slots = slot_values(validated)
    assert slots["fault_description"] == text and slots["fault"] == "不制冷"
    filled = {**tracker.slots, **slots}
    required = REPAIR_DOMAIN["forms"]["repair_form"]["required_slots"]
    assert next(s for s in required if not filled.get(s)) == "product_model"  # Rasa asks this next


@pytest.mark.parametrize("text, intent, extracted, slots, kind", [
    ("空调要移机", "request_installation", {"product": "空调"}, {}, "移机"),
    ("新买的空调，帮我装一下", "request_installation", {"product": "空调"}, {}, "新装"),
    ("移机，原来那个位置老是漏水", "inform", {"install_kind": "移机，原来那个位置老是漏水"}, AT_KIND, "移机"),
    ("新装的，旧的那台不制冷了才换", "inform", {"install_kind": "新装的，旧的那台不制冷了才换"}, AT_KIND, "新装"),
])
def test_an_installation_that_mentions_a_fault_stays_an_installation(service_db, text, intent, extracted, slots, kind):
    said, events = validate_installation(installation_turn(text, intent, extracted, slots, activation=not slots))
    assert not any(e.get("event") == "followup" for e in events)
    assert slot_values(events)["install_kind"] == kind


def test_a_fault_at_a_later_question_switches_only_when_it_says_the_machine_is_installed(service_db):
    at_address = {"product": "空调", "install_kind": "新装", "requested_slot": "address"}
    text = "等一下，空调其实已经装好了，就是不制冷"
    said, events = validate_installation(installation_turn(text, "inform", {"address": text}, at_address))
    assert switched_to_repair(events) and said == ["utter_installed_fault_repair"]
    text = "上海市浦东新区张江路100弄5号601室"
    said, events = validate_installation(installation_turn(text, "inform", {"address": text}, at_address))
    assert not any(e.get("event") == "followup" for e in events)
    assert slot_values(events)["address"] == text


def test_a_question_about_the_fault_is_left_to_the_faq_answer(service_db):
    text = "空调装好了不制冷怎么办？"
    said, events = validate_installation(installation_turn(text, "faq", {}, AT_KIND))
    assert not any(e.get("event") == "followup" for e in events)
