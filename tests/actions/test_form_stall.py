"""The form-stall rule: a customer stuck on one form question is handed to a person.

Counting is checked on tracker event lists shaped like Rasa's; the hand-over runs the
real repair-form validator against a real database (SQLite and PostgreSQL).
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import forms
from actions.stall import earlier_stalled_turns
from desk.auth import create_agent
from kefu import db
from kefu.models.desk import Handoff
from kefu.services import handoffs
from moments import MONDAY_03_BEIJING, NEW_YEARS_EVE_10_BEIJING

MONDAY_10 = dt.datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Asia/Shanghai"))  # within agent hours
DOMAIN = {"forms": {"repair_form": {"required_slots": ["product", "product_model", "fault_description",
                                                         "address", "phone", "appointment_time"]}}}
FILLED = {"product": "空调", "product_model": "未知", "fault_description": "空调不制冷", "address": "上海市浦东新区张江路100号"}


def activation() -> List[Dict[str, Any]]:
    return [
        {"event": "user", "text": "空调不制冷了，要报修", "parse_data": {"intent": {"name": "report_repair"}}},
        {"event": "action", "name": "action_triage_repair"},
        {"event": "action", "name": "repair_form"},
        {"event": "active_loop", "name": "repair_form"},
        {"event": "slot", "name": "product", "value": "空调"},
        {"event": "slot", "name": "requested_slot", "value": "product_model"},
    ]


def form_turn(text: str, slot: str, value: Any, validated: Any) -> List[Dict[str, Any]]:
    """One customer answer handled by the form: extracted `value`, validator kept `validated`."""
    return [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "inform"}}},
        {"event": "action", "name": "action_extract_slots"},
        {"event": "slot", "name": slot, "value": value},
        {"event": "action", "name": "repair_form"},
        {"event": "slot", "name": slot, "value": validated},
        {"event": "slot", "name": "requested_slot", "value": slot},
    ]


def faq_turn() -> List[Dict[str, Any]]:
    return [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "上门费怎么收", "parse_data": {"intent": {"name": "faq"}}},
        {"event": "action", "name": "action_extract_slots"},
        {"event": "action", "name": "utter_faq"},
        {"event": "action", "name": "repair_form"},
    ]


def current_turn(text: str) -> List[Dict[str, Any]]:
    return [{"event": "action", "name": "action_listen"},
            {"event": "user", "text": text, "parse_data": {"intent": {"name": "inform"}}}]


def test_counts_consecutive_form_turns_without_progress():
    bad_phone = form_turn("12345", "phone", "12345", None)
    events = activation() + form_turn("不知道", "product_model", "不知道", "未知") + bad_phone + bad_phone + current_turn("x")
    assert earlier_stalled_turns(events, "repair_form") == 2


def test_progress_resets_the_count_and_digressions_do_not_count():
    bad_phone = form_turn("12345", "phone", "12345", None)
    good_address = form_turn("张江路100号", "address", "上海市浦东新区张江路100号", "上海市浦东新区张江路100号")
    events = activation() + bad_phone + good_address + bad_phone + faq_turn() + current_turn("x")
    assert earlier_stalled_turns(events, "repair_form") == 1
    # the activation turn ends the run even when it filled nothing
    assert earlier_stalled_turns(activation() + current_turn("x"), "repair_form") == 0
    # another form's turns do not count for this one
    assert earlier_stalled_turns(activation() + bad_phone + current_turn("x"), "installation_form") == 0


def stalled_tracker(earlier_failures: int, answer: str = "12345") -> Tracker:
    events = activation()
    for _ in range(earlier_failures):
        events += form_turn("12345", "phone", "12345", None)
    events += current_turn(answer) + [{"event": "slot", "name": "phone", "value": answer}]
    slots = dict(FILLED, phone=answer, requested_slot="phone")
    latest = {"text": answer, "intent": {"name": "inform", "confidence": 0.9}, "entities": []}
    return Tracker("stalled-1", slots, latest, events, False, None, {"name": "repair_form"}, "action_listen")


def validate(tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(forms.ValidateRepairForm().run(dispatcher, tracker, DOMAIN))
    return [m.get("response") for m in dispatcher.messages], events


@pytest.fixture
def agent_online(clean_db, monkeypatch, pinned_clock):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    pinned_clock.set(MONDAY_10)
    with db.session_scope(clean_db) as session:
        agent = create_agent(session, username="wang", display_name="坐席王", password="correct horse",
                             role="agent", groups=("综合",))
        handoffs.heartbeat(session, agent, now=MONDAY_10)
    return clean_db


def test_third_failed_answer_hands_over_and_stops_the_form(agent_online):
    said, events = validate(stalled_tracker(earlier_failures=2))
    assert said[0] == "utter_invalid_phone"
    assert "utter_form_stall_handoff" in said and "utter_handoff_next" in said
    assert {"event": "pause", "timestamp": None} in events
    assert events[-1] == {"event": "active_loop", "name": None, "timestamp": None}  # the form stops
    with db.session_scope(agent_online) as session:
        handoff = session.execute(select(Handoff)).scalar_one()
        assert (handoff.rule_id, handoff.group_name, handoff.conversation_id) == ("form_stalled", "综合", "stalled-1")
        assert handoff.summary["slots"]["address"] == FILLED["address"]  # the agent sees what was filled


def test_fewer_failures_or_a_valid_answer_keep_the_form_going(agent_online):
    said, events = validate(stalled_tracker(earlier_failures=1))
    assert said == ["utter_invalid_phone"] and not any(e.get("event") == "pause" for e in events)
    said, events = validate(stalled_tracker(earlier_failures=4, answer="13812345678"))
    assert said == [] and {"event": "slot", "name": "phone", "value": "13812345678", "timestamp": None} in events
    with db.session_scope(agent_online) as session:
        assert session.execute(select(Handoff)).first() is None


def test_a_stall_already_answered_is_not_answered_again(agent_online):
    # Four earlier failures: the rule fired at the third; the fifth must not queue again.
    said, events = validate(stalled_tracker(earlier_failures=4))
    assert said == ["utter_invalid_phone"] and not any(e.get("event") == "pause" for e in events)


def test_with_nobody_online_the_form_goes_on_and_its_ticket_takes_over(clean_db, monkeypatch, pinned_clock):
    from actions import requests

    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    pinned_clock.set(MONDAY_10)
    said, events = validate(stalled_tracker(earlier_failures=2))
    # "我先帮您把情况登记下来，登记好后专人会尽快给您回电": the form's ticket brings the call
    assert "utter_form_stall_handoff" in said and "utter_handoff_no_agent_form" in said
    assert not any(e.get("event") in ("pause", "active_loop") for e in events)  # the form asks again
    slots = dict(FILLED, phone="13812345678", fault="不制冷", appointment_start=None, appointment_end=None)
    latest = {"text": "13812345678", "intent": {"name": "inform", "confidence": 0.9}, "entities": []}
    tracker = Tracker("stalled-1", slots, latest, [{"event": "user", "text": "13812345678", "parse_data": latest}],
                      False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(requests.ActionSubmitRepair().run(dispatcher, tracker, {}))
    assert any(m.get("response") == "utter_ticket_created_repair" for m in dispatcher.messages)
    with db.session_scope(clean_db) as session:
        handoff = session.execute(select(Handoff)).scalar_one()
        assert handoff.status == "cancelled"  # the ticket's call-back replaces the wait in the queue
        assert "由工单" in handoff.events[-1].note


@pytest.mark.parametrize("moment, reply", [(MONDAY_10, "utter_handoff_no_agent_form"), (MONDAY_03_BEIJING, "utter_handoff_closed"),
                                           (NEW_YEARS_EVE_10_BEIJING, "utter_handoff_closed")],
                         ids=["agent-hours", "night", "holiday"])
def test_nobody_online_is_explained_by_the_time_of_day(clean_db, monkeypatch, pinned_clock, moment, reply):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    pinned_clock.set(moment)
    said, _ = validate(stalled_tracker(earlier_failures=2))
    assert "utter_form_stall_handoff" in said and reply in said
