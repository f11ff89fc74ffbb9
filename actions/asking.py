"""A form's question that is not asked twice in one turn.

When a slot's answer is not valid, its validation says so in a message that already tells
the customer what to type ("这个号码好像不是有效的手机号呢，请输入 11 位…"); the form would then
ask the same question again in a second message. config/dialogue.yml
asked_in_invalid_message names those slots and messages."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import said_this_turn
from kefu.dialogue_config import dialogue_config


def asked_again_this_turn(tracker: Tracker, slot: str) -> bool:
    """Whether a "not valid" message for ``slot`` already asked for it after the latest message."""
    return any(said_this_turn(tracker, response) for response in dialogue_config().asked_in_invalid_message.get(slot, []))


class AskUnlessAskedAgain(Action, ABC):
    """utter_ask_<slot>, unless this turn's "not valid" message asked for it already.

    Abstract, so that rasa_sdk does not register it as an action of its own."""

    form = ""  # set for a form that asks in its own words (utter_ask_<form>_<slot>)

    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot asked for (a class attribute in each action)."""

    def name(self) -> Text:
        return f"action_ask_{self.form}_{self.slot}" if self.form else f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if not asked_again_this_turn(tracker, self.slot):
            dispatcher.utter_message(response="utter" + self.name()[len("action"):])
        return []


class ActionAskPhone(AskUnlessAskedAgain):
    slot = "phone"


class ActionAskAppointmentTime(AskUnlessAskedAgain):
    slot = "appointment_time"


class ActionAskOrderNo(AskUnlessAskedAgain):
    slot = "order_no"


class ActionAskTicketNo(AskUnlessAskedAgain):
    slot = "ticket_no"


# Rasa prefers a form's own question (utter_ask_<form>_<slot>) to the slot's: these forms
# ask for the phone in their own words, so they need their own actions.
class ActionAskTicketLookupFormPhone(ActionAskPhone):
    form = "ticket_lookup_form"


class ActionAskOrderLookupFormPhone(ActionAskPhone):
    form = "order_lookup_form"


class ActionAskCallbackFormPhone(ActionAskPhone):
    form = "callback_form"
