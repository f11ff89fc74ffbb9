"""Conversation-level actions: satisfaction survey, two-stage fallback."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import contact_phone, intent_labels, verified_customer_id, with_session
from actions.escalation import escalate
from kefu.settings import service_config
from kefu.services import surveys

SURVEY_RESET = [SlotSet("satisfaction_score", None), SlotSet("satisfaction_comment", None), SlotSet("survey_ticket_no", None)]


class ActionSubmitSurvey(Action):
    def name(self) -> Text:
        return "action_submit_survey"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        score = int(tracker.get_slot("satisfaction_score") or 0)
        comment = tracker.get_slot("satisfaction_comment")
        ticket_no = tracker.get_slot("survey_ticket_no")
        if ticket_no:
            phone, customer_id = contact_phone(tracker), verified_customer_id(tracker)

            def work(session):
                # only a ticket of this conversation (or one it proved it owns), and only if resolved
                ticket = surveys.ticket_for_conversation_survey(session, ticket_no, tracker.sender_id,
                                                                phone=phone, customer_id=customer_id)
                surveys.record_survey(session, ticket, score, None if comment in (None, "无") else comment)

            try:
                await with_session(work)
            except Exception:  # not saved (unknown/unresolved/already surveyed ticket, DB down): say so
                dispatcher.utter_message(response="utter_survey_unavailable")
                return SURVEY_RESET
        dispatcher.utter_message(response="utter_survey_thanks", score=score)
        if ticket_no and score <= service_config().survey.low_score_max:
            # true: the desk's supervisor page lists recent low scores (surveys.low_score_surveys)
            dispatcher.utter_message(response="utter_survey_low_score")
        return SURVEY_RESET


class ActionDefaultAskAffirmation(Action):
    """Stage 1 of the fallback: "您是想…吗？" with the likeliest intents as buttons."""

    def name(self) -> Text:
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        labels = intent_labels()
        ranking = [r["name"] for r in (tracker.latest_message or {}).get("intent_ranking", []) if r.get("name") != "nlu_fallback"]
        buttons: List[Dict[str, Any]] = []
        for name in ranking:
            if name == "faq":
                selector = ((tracker.latest_message or {}).get("response_selector") or {}).get("faq", {})
                key = ((selector.get("response") or {}).get("intent_response_key") or "").split("/")[-1]
                topic = labels["faq"].get(key)
                if topic:
                    # the canonical question is classified confidently on the normal FAQ path
                    buttons.append({"title": topic["label"], "payload": topic["question"]})
            elif name in labels["intents"]:
                buttons.append({"title": labels["intents"][name], "payload": f"/{name}"})
            if len(buttons) == 2:
                break
        if not buttons:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        buttons.append({"title": "都不是", "payload": "/out_of_scope"})
        dispatcher.utter_message(response="utter_ask_affirmation", label=buttons[0]["title"], buttons=buttons)
        return []


class ActionDefaultFallback(Action):
    """Stage 2: still not understood — apologise and offer a person (the rules decide)."""

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        # Reaching this action means two attempts failed (two-stage fallback gave up).
        dispatcher.utter_message(response="utter_fallback_offer_human")
        events = await escalate(dispatcher, tracker, fallbacks=2)
        if len(dispatcher.messages) == 1:
            dispatcher.utter_message(response="utter_default")
            dispatcher.utter_message(response="utter_out_of_scope")
        return events


class ActionRouteInform(Action):
    """A bare answer outside any form ("退货", "BX20261122-0042", "空调不制冷"):
    start the request it implies instead of guessing."""

    def name(self) -> Text:
        return "action_route_inform"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from rasa_sdk.events import FollowupAction

        from actions.common import latest_text
        from actions.forms import ValidateInstallationForm, ValidateReturnForm
        from kefu.nlp.catalogue import find_faults
        from kefu.nlp.normalize import extract_order_no, extract_ticket_no

        text = latest_text(tracker)
        if extract_ticket_no(text):
            return [SlotSet("ticket_op", "query"), FollowupAction("ticket_lookup_form")]
        if extract_order_no(text):
            return [FollowupAction("order_lookup_form")]
        if ValidateReturnForm()._kind(text):
            dispatcher.utter_message(response="utter_return_start")
            return [FollowupAction("return_form")]
        if ValidateInstallationForm()._kind(text) in ("移机", "拆机", "新装") and not find_faults(text):
            dispatcher.utter_message(response="utter_installation_start")
            return [FollowupAction("installation_form")]
        if find_faults(text):
            from actions.requests import ActionTriageRepair

            events = await ActionTriageRepair().run(dispatcher, tracker, domain)  # safety first here too
            return events + [SlotSet("fault_description", text), FollowupAction("repair_form")]
        dispatcher.utter_message(response="utter_ask_what_service")
        return []
