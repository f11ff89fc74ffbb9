"""Form stall: the customer has answered the same form question several times without
the form moving on (an invalid phone three times, an address the validator keeps
rejecting). The escalation rules decide (``form_stall_turns``) whether a person helps.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import filled, previous_value
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


class StallWatch:
    """Form-validator mixin: after validating, check the form-stall escalation rule.

    When a person takes over, the form stops (its slots go to the agent's summary) and
    the conversation pauses; with nobody available the form simply goes on.
    """

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if progressed_now(events, tracker):
            return events
        stall_turns = earlier_stalled_turns(tracker.events, self.form_name()) + 1
        handover = await escalate(dispatcher, tracker, form_stall_turns=stall_turns, stall_check=True)
        if any(event.get("event") == "pause" for event in handover):
            return events + handover + [SlotSet("requested_slot", None), ActiveLoop(None)]
        return events + handover
