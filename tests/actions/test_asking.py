"""actions/asking.py: a "not valid" message that says what to type again is not followed by
the form's question for the same slot (chat probe: "退货" as an order number got "订单号格式
好像不对…" and then "请提供订单号…")."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions import asking
from kefu.dialogue_config import dialogue_config
from tests.actions.test_actions import make_tracker, responses, run

ROOT = Path(__file__).resolve().parents[2]
ASK_ACTIONS = [asking.ActionAskPhone, asking.ActionAskAppointmentTime, asking.ActionAskOrderNo, asking.ActionAskTicketNo,
               asking.ActionAskTicketLookupFormPhone, asking.ActionAskOrderLookupFormPhone, asking.ActionAskCallbackFormPhone]


def _invalid(response: str) -> dict:
    return {"event": "bot", "text": "……", "metadata": {"utter_action": response}}


@pytest.mark.parametrize("action", ASK_ACTIONS, ids=lambda a: a().name())
def test_the_question_is_asked_unless_this_turns_invalid_message_asked_it(action):
    slot, question = action.slot, "utter" + action().name()[len("action"):]
    invalid = dialogue_config().asked_in_invalid_message[slot][0]
    assert responses(run(action(), make_tracker({}, text="你好"))[0]) == [question]
    this_turn = make_tracker({}, text="退货")
    this_turn.events.append(_invalid(invalid))
    assert run(action(), this_turn)[0] == []
    earlier_turn = make_tracker({}, text="13812345678", events=[_invalid(invalid)])
    assert responses(run(action(), earlier_turn)[0]) == [question]


def test_another_message_this_turn_does_not_hold_the_question_back():
    tracker = make_tracker({}, text="好的")
    tracker.events.append(_invalid("utter_courtesy_in_form"))
    assert responses(run(asking.ActionAskPhone(), tracker)[0]) == ["utter_ask_phone"]


def test_every_configured_slot_has_its_ask_action_and_responses_in_the_domain():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for slot, invalid in dialogue_config().asked_in_invalid_message.items():
        assert f"action_ask_{slot}" in domain["actions"], slot
        assert all(r in domain["responses"] for r in invalid), (slot, invalid)
        assert f"utter_ask_{slot}" in domain["responses"], slot
    assert {a.slot for a in ASK_ACTIONS} | {"address"} == set(dialogue_config().asked_in_invalid_message)
    # a form's own wording of such a question has its own action, or Rasa would use it instead
    for response in domain["responses"]:
        form_slot = [(form, response[len(f"utter_ask_{form}_"):]) for form in domain["forms"]
                     if response.startswith(f"utter_ask_{form}_")]
        for form, slot in form_slot:
            if slot in dialogue_config().asked_in_invalid_message:
                assert f"action_ask_{form}_{slot}" in domain["actions"], response
    assert {a().name() for a in ASK_ACTIONS} <= set(domain["actions"])


@pytest.mark.parametrize("asked, text", [("order_no", "DD12"), ("phone", "1381234"), ("ticket_no", "bx2026")])
def test_a_mistyped_number_heard_as_courtesy_is_the_forms_answer(asked, text):
    """"DD12" at the order question (NLU: affirm) got "好的。" and the question again; it goes
    to the form's validator, whose message says what is wrong."""
    from actions.courtesy import ActionCourtesy

    tracker = make_tracker({"requested_slot": asked}, text=text, intent="affirm")
    tracker.active_loop = {"name": "order_lookup_form"}
    messages, events = run(ActionCourtesy(), tracker)
    assert responses(messages) == [dialogue_config().asked_in_invalid_message[asked][0]]
    assert events == []  # nothing stored: the form's validator never saw it


def test_a_valid_number_heard_as_courtesy_is_left_to_the_form():
    """Its entity fills the slot whatever the intent, and the form validates it."""
    from actions.courtesy import ActionCourtesy

    tracker = make_tracker({"requested_slot": "order_no"}, text="DD202611150042", intent="affirm")
    tracker.active_loop = {"name": "order_lookup_form"}
    messages, events = run(ActionCourtesy(), tracker)
    assert events == [] and responses(messages) == ["utter_ack_short"]


@pytest.mark.parametrize("text", ["好的", "ok", "3q", "886"])
def test_courtesy_at_a_number_question_stays_courtesy(text):
    from actions.courtesy import ActionCourtesy

    tracker = make_tracker({"requested_slot": "order_no"}, text=text, intent="affirm")
    tracker.active_loop = {"name": "order_lookup_form"}
    messages, events = run(ActionCourtesy(), tracker)
    # no "订单号格式好像不对": an acknowledgement, or a thanks/bye that sets the look-up aside
    expected = "utter_ack_short" if text in ("好的", "ok") else "utter_look_up_set_aside"
    assert responses(messages) == [expected]
    assert (events == []) == (expected == "utter_ack_short")
