"""Conversation-level actions: satisfaction survey, two-stage fallback."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import contact_phone, faq_topic, intent_labels, verified_customer_id, with_session
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
        from actions.common import latest_text
        from kefu.dialogue_config import dialogue_config, is_courtesy

        if is_courtesy(latest_text(tracker)):  # "嗯嗯～" is not a request to guess at
            from actions.courtesy import courtesy_reply

            courtesy_reply(dispatcher, tracker)
            return []
        from actions.requests import add_to_complaint, complaint_added_to

        complaint = complaint_added_to(tracker)
        if complaint:  # more for the complaint just filed, whatever the NLU made of it
            # (inside Rasa's fallback loop: no follow-up action of our own)
            return [e for e in await add_to_complaint(dispatcher, tracker, complaint) if e.get("event") != "followup"]
        keep_words = dialogue_config().keep_ticket_words
        if tracker.get_slot("pending_cancel") and any(w in latest_text(tracker) for w in keep_words):
            # "不不不 不取消" to "确定要取消工单吗？": a no, never a guess that offers 取消工单
            dispatcher.utter_message(response="utter_ticket_kept")
            return [SlotSet("pending_cancel", False)]
        labels = intent_labels()
        ranking = [r["name"] for r in (tracker.latest_message or {}).get("intent_ranking", []) if r.get("name") != "nlu_fallback"]
        if tracker.get_slot("pending_cancel") and ranking and ranking[0] in ("affirm", "cancel_ticket"):
            # "是的，取消" to "确定要取消工单吗？": yes or "cancel it", either way the answer is yes
            from actions.lookups import ActionConfirmCancel

            return await ActionConfirmCancel().run(dispatcher, tracker, domain)
        buttons: List[Dict[str, Any]] = []
        for name in ranking:
            if name == "faq":
                topic = labels["faq"].get(faq_topic(tracker) or "")
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
    """Rasa's fallback (core fallback, or the two-stage fallback giving up). Always ends the turn.

    Like Rasa's own ``action_default_fallback`` it reverts the customer's message
    (``UserUtteranceReverted``): the dialogue goes back to where it was, so the next
    prediction is ``action_listen`` and the fallback can never run twice in one turn.
    A message with nothing to act on (courtesy, "好的", "嗯嗯") gets a short reply and is
    never escalated; a person is offered only after two failed attempts at a message with
    content.
    """

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from actions.common import latest_text
        from kefu.dialogue_config import is_courtesy

        if ran_this_turn(tracker, self.name()):
            return [UserUtteranceReverted()]  # answered once already
        if is_courtesy(latest_text(tracker)):
            from actions.courtesy import courtesy_reply

            courtesy_reply(dispatcher, tracker)
            return [UserUtteranceReverted()]
        if failed_attempts(tracker) < 2:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return [UserUtteranceReverted()]
        # Two failed attempts at a message with content: apologise and offer a person.
        dispatcher.utter_message(response="utter_fallback_offer_human")
        events = await escalate(dispatcher, tracker, fallbacks=2)
        if len(dispatcher.messages) == 1:
            dispatcher.utter_message(response="utter_out_of_scope")
        return [UserUtteranceReverted()] + events


def ran_this_turn(tracker: Tracker, action: str) -> bool:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") == action:
            return True
    return False


def failed_attempts(tracker: Tracker) -> int:
    """Consecutive customer messages (this one included) the bot could not understand:
    classified ``nlu_fallback`` or answered by the fallback action."""
    from kefu.dialogue_config import is_courtesy

    turns: List[Dict[str, Any]] = []  # newest first: {"intent", "fallback", "text"}
    current: Dict[str, Any] = {"fallback": False}
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "action" and event.get("name") == "action_default_fallback":
            current["fallback"] = True
        elif kind == "user":
            parse = event.get("parse_data") or {}
            current["intent"] = (parse.get("intent") or {}).get("name")
            current["text"] = parse.get("text_normalized") or event.get("text") or ""
            turns.append(current)
            current = {"fallback": False}
    count = 0
    seen = set()
    for index, turn in enumerate(turns):
        if turn["text"] in seen:  # the two-stage fallback re-logs the same message
            continue
        seen.add(turn["text"])
        failed = index == 0 or turn["fallback"] or turn.get("intent") == "nlu_fallback"
        if not failed or is_courtesy(turn["text"]):
            break
        count += 1
    return count


class ActionRouteInform(Action):
    """A bare answer outside any form ("退货", "BX20261122-0042", "空调不制冷"):
    start the request it implies instead of guessing."""

    def name(self) -> Text:
        return "action_route_inform"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from rasa_sdk.events import FollowupAction

        from actions.common import latest_text
        from actions.forms import ValidateInstallationForm, ValidateReturnForm
        from kefu.nlp.catalogue import find_faults, find_products
        from kefu.nlp.normalize import extract_order_no, extract_ticket_no

        from actions.courtesy import courtesy_reply
        from kefu.dialogue_config import is_courtesy

        text = latest_text(tracker)
        if is_courtesy(text):  # "没有了", "好的" read as a bare answer: courtesy, not a request
            courtesy_reply(dispatcher, tracker)
            return []
        from actions.requests import add_to_complaint, complaint_added_to

        complaint = complaint_added_to(tracker)
        if complaint:  # "补充一下 那个师傅姓王" right after the complaint ticket
            return await add_to_complaint(dispatcher, tracker, complaint)
        offered = offered_intent(tracker)
        if offered in ("report_repair", "request_installation") and (find_products(text) or find_faults(text)):
            # "您是要报修吗？" answered with a product or fault name: that is a yes, with details
            return await start_request(offered, dispatcher, tracker, domain, text)
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
        if tracker.get_slot("last_ticket_no") and names_only_a_time(text):
            # "那就后天上午吧" after a visit was booked: a new time for that visit
            return [SlotSet("ticket_op", "reschedule"), SlotSet("appointment_time", text.strip()),
                    FollowupAction("ticket_lookup_form")]
        if find_faults(text):
            return await start_request("report_repair", dispatcher, tracker, domain, text)
        if find_products(text):  # a bare product name: repair or installation?
            dispatcher.utter_message(response="utter_ask_product_service", product=find_products(text)[0])
            return []
        dispatcher.utter_message(response="utter_ask_what_service")
        return []


def names_only_a_time(text: str) -> bool:
    """A statement of a day and nothing else to act on ("嗯 周六吧", "晚上不上门的话就后天上午吧"):
    no question, product or fault ("上午下午都行" names no day: it is no new time)."""
    from actions.forms import ASKS, now_local
    from kefu.nlp.catalogue import find_faults, find_products
    from kefu.nlp.timeparse import names_a_day, parse_appointment

    return (not ASKS.search(text) and not find_faults(text) and not find_products(text) and names_a_day(text)
            and parse_appointment(text, now_local(), within_visit_hours=False) is not None)


def offered_intent(tracker: Tracker) -> Optional[str]:
    """The intent the bot's last question offered ("您是要报修吗？" -> report_repair), if any.

    Looks at the latest bot message before the customer's latest message: its first
    button payload names the intent (action_default_ask_affirmation, utter_ask_product_service)."""
    latest = None
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if latest is not None and event.get("text") != latest:
                return None  # an earlier exchange (the two-stage fallback re-logs the same text)
            latest = event.get("text")
        elif kind == "bot" and latest is not None:
            buttons = (event.get("data") or {}).get("buttons") or []
            payload = (buttons[0].get("payload") or "") if buttons else ""
            return payload[1:] if payload.startswith("/") else None
    return None


async def start_request(intent: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                        text: str) -> List[EventType]:
    from rasa_sdk.events import FollowupAction

    from kefu.nlp.catalogue import find_faults, find_products

    events: List[EventType] = []
    product = next(iter(find_products(text)), None)
    if product:
        events.append(SlotSet("product", product))
    if intent == "request_installation":
        dispatcher.utter_message(response="utter_installation_start")
        return events + [FollowupAction("installation_form")]
    from actions.requests import ActionTriageRepair

    events += await ActionTriageRepair().run(dispatcher, tracker, domain)  # safety first here too
    if any(event.get("event") == "followup" for event in events):
        return events  # not a new repair after all (a chased visit)
    if find_faults(text):
        events.append(SlotSet("fault_description", text))
    return events + [FollowupAction("repair_form")]
