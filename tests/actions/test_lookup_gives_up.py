"""A look-up whose number is not known ends with where to find it and a button to a person:
it asked for the number again whatever was typed ("那约个师傅吧", an address, a phone number,
"周六上午 thx 没了 bye": five times in a chat probe, 2026-12-07)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import forms

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
LOOKUPS = [  # form, validator, slot, its "not valid" response, its "unknown" response
    ("ticket_lookup_form", forms.ValidateTicketLookupForm, "ticket_no", "utter_invalid_ticket_no", "utter_ticket_no_unknown"),
    ("order_lookup_form", forms.ValidateOrderLookupForm, "order_no", "utter_invalid_order_no", "utter_order_no_unknown"),
]


def lookup_turn(form: str, slot: str, text: str, earlier_invalid: str = "") -> Tracker:
    events: List[Dict[str, Any]] = [{"event": "action", "name": form}, {"event": "active_loop", "name": form}]
    if earlier_invalid:
        events += [{"event": "user", "text": "周二", "parse_data": {"text": "周二", "intent": {"name": "inform"}, "entities": []}},
                   {"event": "bot", "text": "……", "metadata": {"utter_action": earlier_invalid}}]
    latest = {"text": text, "intent": {"name": "inform", "confidence": 0.6}, "entities": []}
    events += [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text, "parse_data": latest},
               {"event": "slot", "name": slot, "value": text}]
    return Tracker("lookup-1", {slot: text, "requested_slot": slot}, latest, events, False, None, {"name": form}, "action_listen")


def validate(validator, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(validator().run(dispatcher, tracker, DOMAIN))
    return [m.get("response") for m in dispatcher.messages], dispatcher.messages, events


@pytest.mark.parametrize("form, validator, slot, invalid, unknown", LOOKUPS)
def test_a_first_answer_that_is_no_number_is_asked_again(form, validator, slot, invalid, unknown):
    said, _, events = validate(validator, lookup_turn(form, slot, "那约个师傅吧"))
    assert said == [invalid]
    assert not any(e.get("event") == "active_loop" for e in events)


@pytest.mark.parametrize("form, validator, slot, invalid, unknown", LOOKUPS)
def test_a_second_answer_that_is_no_number_ends_the_lookup_with_a_way_forward(form, validator, slot, invalid, unknown):
    said, messages, events = validate(validator, lookup_turn(form, slot, "周六上午 thx 没了 bye", earlier_invalid=invalid))
    assert said == [unknown] and messages[0]["buttons"] == [{"title": "转人工客服", "payload": "/request_human"}]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    assert {"event": "followup", "name": "action_listen", "timestamp": None} in events


@pytest.mark.parametrize("form, validator, slot, invalid, unknown", LOOKUPS)
def test_a_valid_number_after_a_wrong_one_is_taken(form, validator, slot, invalid, unknown):
    number = "BX20261205-0032" if slot == "ticket_no" else "DD202611150042"
    said, _, events = validate(validator, lookup_turn(form, slot, number, earlier_invalid=invalid))
    assert said == [] and {"event": "slot", "name": slot, "value": number, "timestamp": None} in events
    assert not any(e.get("event") == "active_loop" for e in events)
