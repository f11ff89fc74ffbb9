"""Form stall: the customer has answered the same form question several times without
the form moving on (an invalid phone three times, an address the validator keeps
rejecting). The escalation rules decide (``form_stall_turns``) whether a person helps.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import filled, latest_intent, previous_value
from actions.escalation import escalate

# Slots the form machinery sets itself: changing them is not the customer's progress.
NOT_PROGRESS = frozenset({"requested_slot"})
# Actions Rasa runs before the policies choose; they do not say who handled a turn.
PRELUDE_ACTIONS = frozenset({"action_listen", "action_extract_slots"})


def _progress(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return any(filled(value) and before.get(name) != value
               for name, value in after.items() if name not in NOT_PROGRESS)


def earlier_stalled_turns(events: Iterable[Dict[str, Any]], form: str) -> int:
    """Consecutive customer turns before the latest one that `form` handled without progress.

    A turn the form did not handle (an FAQ asked mid-form, chit-chat) neither counts nor
    breaks the run; a turn that filled or changed a slot, or the form's activation, ends it.
    """
    turns: List[Dict[str, Any]] = []
    slots: Dict[str, Any] = {}
    active: Optional[str] = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if turns:
                turns[-1]["after"] = dict(slots)
            turns.append({"active": active, "handler": None, "before": dict(slots)})
        elif kind == "slot":
            slots[event.get("name")] = event.get("value")
        elif kind == "active_loop":
            active = event.get("name")
        elif kind == "action" and turns and turns[-1]["handler"] is None and event.get("name") not in PRELUDE_ACTIONS:
            turns[-1]["handler"] = event.get("name")
    count = 0
    for turn in reversed(turns[:-1]):  # the last turn is the one being validated now
        if turn["active"] != form:
            break
        if turn["handler"] != form:
            continue
        if _progress(turn["before"], turn.get("after", {})):
            break
        count += 1
    return count


def progressed_now(validation_events: Iterable[Dict[str, Any]], tracker: Tracker) -> bool:
    """Did this turn's validation fill (or change) a slot?"""
    return any(
        event.get("event") == "slot" and event.get("name") not in NOT_PROGRESS and filled(event.get("value"))
        and event.get("value") != previous_value(tracker, event.get("name"))
        for event in validation_events
    )


# Intents the dialogue rules answer inside every form (data/rules.yml), besides the form
# switches of config/dialogue.yml.
DIGRESSIONS = frozenset({"faq", "chitchat", "bot_challenge", "stop_form", "request_human"})


def another_request(form: str, validation_events: Iterable[Dict[str, Any]], tracker: Tracker) -> bool:
    """Is the latest message another request that does not answer the form's question?

    "你们空调质量太差了，我要投诉", "算了洗衣机我不修了，我要退货", "对了我之前的单子
    AZ20261112-0001 怎么样了" name a product, a ticket or a time: Rasa's entity mappings fill
    those slots, so the form took the message for an answer (Rasa rejects a form turn only
    when nothing was extracted) and the complaint, return or look-up was lost. Such a turn is
    rejected like one with nothing to extract, and the request's rule (an FAQ answer, a
    switch) runs instead.
    """
    from kefu.dialogue_config import dialogue_config

    asked, intent = tracker.get_slot("requested_slot"), latest_intent(tracker)
    if not asked or not intent or not validating_the_message(tracker, form):
        return False
    if asked == "appointment_time" and time_answer(tracker):
        return False  # "晚上十点" heard as an FAQ: an answer (refused for the hours, or taken)
    if intent not in DIGRESSIONS and dialogue_config().switch_for(intent, form) is None:
        return False
    return not any(event.get("event") == "slot" and event.get("name") == asked and filled(event.get("value"))
                   for event in validation_events)


def time_answer(tracker: Tracker) -> bool:
    """Whether the latest message states a time (asked for one, it is the answer)."""
    from actions.common import latest_text
    from actions.forms import ASKS, TIME_MISHEARD_AS, now_local
    from kefu.nlp.timeparse import parse_appointment

    text = latest_text(tracker).strip()
    return (latest_intent(tracker) in TIME_MISHEARD_AS and bool(text) and not ASKS.search(text)
            and parse_appointment(text, now_local(), within_visit_hours=False) is not None)


def validating_the_message(tracker: Tracker, form: str) -> bool:
    """Does the form run right after the customer's message (Rasa validates it then), not
    again after a rule answered it (the FAQ answer, then the form asks its question again)?
    Rasa adds the form's own ActionExecuted to the tracker it sends to the validator."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") not in ("action_extract_slots", form):
            return event.get("name") == "action_listen"
        if event.get("event") == "user":
            return True
    return True


class StallWatch:
    """Form-validator mixin: after validating, check the form-stall escalation rule.

    When a person takes over, the form stops (its slots go to the agent's summary) and
    the conversation pauses; with nobody available the form simply goes on. Another
    request that does not answer the question (``another_request``) is no stall: the form
    rejects the turn, without the validators' remarks, and the request's rule runs.
    """

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if another_request(self.form_name(), events, tracker):
            dispatcher.messages.clear()  # "这个时间小暖没看懂" about a time the customer did not give as one
            return [ActionExecutionRejected(self.form_name())]
        if progressed_now(events, tracker):
            return events
        stall_turns = earlier_stalled_turns(tracker.events, self.form_name()) + 1
        handover = await escalate(dispatcher, tracker, form_stall_turns=stall_turns, stall_check=True)
        if any(event.get("event") == "pause" for event in handover):
            return events + handover + [SlotSet("requested_slot", None), ActiveLoop(None)]
        return events + handover
