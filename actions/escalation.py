"""Escalation and handoff actions (protocol: docs/architecture.md, "Handoff protocol").

`escalate()` is called after the turns that matter (explicit request, complaint,
submitted tickets, urging, repeated fallback): it asks the rules engine whether a
person should take over; if so it queues a handoff with a summary, tells the customer
the queue position, and pauses the conversation (Rasa's ConversationPaused). Outside
agent hours, or with nobody online, it books a call-back ticket instead.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Dict, Iterable, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    contact_name,
    contact_phone,
    filled,
    format_window,
    in_thread,
    latest_intent,
    latest_text,
    service_failure,
    verified_customer_id,
    with_session,
)
from kefu import transcript as kefu_transcript
from kefu.escalation import Decision, TurnContext, default_engine
from kefu.escalation.desk_config import desk_config
from kefu.services import customers, handoffs

logger = logging.getLogger(__name__)

INTENT_OF_HINT = {"complaint": "complain", "urge": "urge_ticket", "repair": "report_repair"}
SUMMARY_SLOTS = ("product", "product_model", "fault", "fault_description", "address", "phone", "appointment_time",
                 "complaint_detail", "complaint_demand", "order_no", "return_kind", "return_reason", "ticket_no",
                 "last_ticket_no", "install_kind", "person_name")


def transcript(tracker: Tracker, limit: int = kefu_transcript.SUMMARY_MESSAGES) -> List[Dict[str, Any]]:
    """The last `limit` customer/bot/agent messages for the agent's summary (kefu/transcript.py)."""
    return kefu_transcript.summary_messages(tracker.events, limit)


def count_user_turns(tracker: Tracker, predicate) -> int:
    return sum(1 for e in tracker.events if e.get("event") == "user" and predicate(e))


def consecutive_fallbacks(tracker: Tracker) -> int:
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "nlu_fallback":
            count += 1
        else:
            break
    return count


def _customer_facts(session, customer_id: Optional[int], phone: Optional[str]) -> Dict[str, Any]:
    """The customer behind this chat; the tier (VIP专席 routing) only for a verified token:
    a phone typed in chat links the handoff to the archive but never unlocks a tier."""
    if customer_id is not None:
        customer = customers.get_customer(session, customer_id)
        return {"customer_id": customer.id, "tier": customer.tier}
    customer = customers.find_customer_by_phone(session, phone) if phone else None
    return {"customer_id": customer.id if customer else None, "tier": None}


def turn_context(tracker: Tracker, *, intent_hint: Optional[str], notices: Iterable[str], tier: Optional[str],
                 ticket_overdue: bool, urge_count: int, fallbacks: Optional[int] = None,
                 form_stall_turns: int = 0) -> TurnContext:
    notices = set(notices)
    intent = latest_intent(tracker)
    if intent_hint and intent not in (INTENT_OF_HINT.get(intent_hint), "request_human"):
        intent = INTENT_OF_HINT.get(intent_hint, intent)
    confidence = float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 1.0)
    human_requests = count_user_turns(
        tracker, lambda e: ((e.get("parse_data") or {}).get("intent") or {}).get("name") == "request_human"
        or "人工" in (e.get("text") or ""))
    return TurnContext(
        intent=intent,
        confidence=confidence,
        text=latest_text(tracker),
        slots={k: v for k, v in tracker.slots.items() if filled(v)},
        active_form=(tracker.active_loop or {}).get("name"),
        customer_tier=tier,
        repeat_complaint="repeat_complaint" in notices,
        ticket_overdue=ticket_overdue,
        urge_count=urge_count,
        consecutive_fallbacks=consecutive_fallbacks(tracker) if fallbacks is None else fallbacks,
        form_stall_turns=form_stall_turns,
        human_request_count=human_requests,
        emergency=bool(tracker.get_slot("emergency")) or "emergency" in notices,
    )


async def escalate(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    ticket: Optional[Dict[str, Any]] = None,
    notices: Iterable[str] = (),
    intent_hint: Optional[str] = None,
    ticket_overdue: bool = False,
    urge_count: int = 0,
    fallbacks: Optional[int] = None,
    form_stall_turns: int = 0,
    stall_check: bool = False,
) -> List[EventType]:
    """Evaluate the escalation rules for this turn; hand over if one fires.

    ``stall_check``: called by a form validator after a turn without progress. Hand over
    only if the stall itself just made a rule fire: the other rules are checked where
    their turns happen, and a stall already answered must not be answered every turn.
    """
    customer_id = verified_customer_id(tracker)
    phone = contact_phone(tracker)
    try:
        facts = await with_session(_customer_facts, customer_id, phone)
    except Exception as error:  # tier is an input to the rules, not a reason to fail the turn
        logger.warning("customer lookup for escalation failed: %s", error)
        facts = {"customer_id": customer_id, "tier": None}
    ctx = turn_context(tracker, intent_hint=intent_hint, notices=notices, tier=facts["tier"],
                       ticket_overdue=ticket_overdue, urge_count=urge_count, fallbacks=fallbacks,
                       form_stall_turns=form_stall_turns)
    engine = await in_thread(default_engine)
    decision = await in_thread(engine.evaluate, ctx)
    if decision is None:
        return []
    if stall_check:
        before = await in_thread(engine.evaluate, replace(ctx, form_stall_turns=max(form_stall_turns - 1, 0)))
        if before is not None:
            return []
        dispatcher.utter_message(response="utter_form_stall_handoff")
    return await hand_over(dispatcher, tracker, decision, ticket_no=(ticket or {}).get("ticket_no") or tracker.get_slot("last_ticket_no"),
                           customer_id=facts["customer_id"], tier=facts["tier"], phone=phone, intent=ctx.intent)


def summary_slots(tracker: Tracker) -> Dict[str, Any]:
    """The slots the agent's summary shows; the customer's name as the ticket carries it."""
    slots = {k: tracker.get_slot(k) for k in SUMMARY_SLOTS}
    slots["person_name"] = contact_name(tracker)
    return slots


async def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, decision: Decision, *, ticket_no: Optional[str],
                    customer_id: Optional[int], tier: Optional[str], phone: Optional[str], intent: Optional[str]) -> List[EventType]:
    slots = summary_slots(tracker)

    def queue(session):
        outcome = handoffs.request_handover(
            session, conversation_id=tracker.sender_id, decision=decision, intent=intent, slots=slots,
            ticket_no=ticket_no, customer_id=customer_id, customer_tier=tier, messages=transcript(tracker),
            phone=phone, channel=tracker.get_latest_input_channel())
        if outcome.queued:
            return {"queued": True, "position": outcome.position, "wait": outcome.expected_wait_minutes,
                    "ticket_no": outcome.ticket_no}
        callback = outcome.callback
        return {"queued": False, "covered_by_ticket": outcome.covered_by_ticket,
                "within_hours": outcome.within_agent_hours,
                "callback": None if callback is None else {
                    "ticket_no": callback.ticket.ticket_no,
                    "window": format_window(callback.window_start, callback.window_end)}}

    try:
        outcome = await with_session(queue)
    except Exception as error:
        return service_failure(dispatcher, error)
    hours = agent_hours_text()
    if outcome["queued"]:
        ahead = max(outcome["position"] - 1, 0)
        if ahead:
            dispatcher.utter_message(response="utter_handoff_queued", group=decision.group, ahead=ahead,
                                     wait=max(outcome["wait"], 1))
        else:
            dispatcher.utter_message(response="utter_handoff_next", group=decision.group)
        dispatcher.utter_message(json_message={"type": "queue", "position": outcome["position"],
                                               "wait_minutes": max(outcome["wait"], 1), "group": decision.group})
        # The survey after the hand-back is about the ticket this handoff row carries: noted
        # now, because the hand-back runs inside the desk's resolve transaction (on SQLite
        # the action server cannot read the database until that commits).
        return [SlotSet("handoff_active", True), SlotSet("survey_ticket_no", outcome["ticket_no"]),
                ConversationPaused()]
    asked = intent == "request_human"
    if outcome.get("covered_by_ticket"):
        # The ticket confirmation already promised a call within its SLA: no second
        # (call-back) ticket. A customer who asked for a person is never left unanswered;
        # one who did not (an emergency's automatic hand-over) hears nothing more about
        # busy agents (a chat probe found "人工客服此刻都在忙" after every emergency ticket).
        if asked:
            dispatcher.utter_message(response="utter_handoff_closed" if not outcome["within_hours"] else "utter_handoff_no_agent",
                                     hours=hours)
        return []
    form_brings_call = bool((tracker.active_loop or {}).get("name")) or intent == "complain"
    if not outcome["within_hours"]:
        reason = "utter_handoff_closed"
    else:
        reason = "utter_handoff_no_agent_form" if form_brings_call and not outcome["callback"] else "utter_handoff_no_agent"
    dispatcher.utter_message(response=reason, hours=hours)
    if outcome["callback"]:
        dispatcher.utter_message(response="utter_handoff_callback", **outcome["callback"])
        return [SlotSet("last_ticket_no", outcome["callback"]["ticket_no"])]
    if form_brings_call:
        return []  # the form in progress asks for the phone; its ticket brings the call-back
    return [FollowupAction("callback_form")]


async def settle_waiting_handoff(tracker: Tracker, ticket_no: str) -> None:
    """A ticket now carries the follow-up (with its own call-back SLA): a handoff that
    is still waiting because nobody was online is closed, not left in the queue."""

    def work(session):
        handoff = handoffs.open_handoff(session, tracker.sender_id)
        if handoff is not None and handoff.status in ("queued", "offered"):
            handoffs.cancel(session, handoff.id, note=f"无坐席接入，由工单 {ticket_no} 跟进")

    try:
        await with_session(work)
    except Exception as error:  # the ticket exists either way; the queue entry only lingers
        logger.warning("closing the waiting handoff of %s failed: %s", tracker.sender_id, error)


def book_callback(session, handoff_id: int, phone: Optional[str], tracker: Tracker) -> Dict[str, str]:
    callback = handoffs.offer_callback(session, handoff_id, phone=phone, description=None,
                                       channel=tracker.get_latest_input_channel())
    return {"ticket_no": callback.ticket.ticket_no, "window": format_window(callback.window_start, callback.window_end)}


class ActionBookCallback(Action):
    """No agent could take the chat and the customer left a phone: book the call-back."""

    def name(self) -> Text:
        return "action_book_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if request_limited(dispatcher, tracker):
            return []
        phone = contact_phone(tracker)

        def book(session):
            handoff = handoffs.open_handoff(session, tracker.sender_id)
            if handoff is None or handoff.status not in ("queued", "offered"):
                return None
            return book_callback(session, handoff.id, phone, tracker)

        try:
            callback = await with_session(book)
        except Exception as error:
            return service_failure(dispatcher, error)
        if callback is None:
            dispatcher.utter_message(response="utter_anything_else")
            return []
        dispatcher.utter_message(response="utter_handoff_callback", **callback)
        return [SlotSet("last_ticket_no", callback["ticket_no"])]


def agent_hours_text() -> str:
    hours = desk_config().agent_hours
    days = "每天" if len(hours.weekdays) == 7 else "周" + "、".join("一二三四五六日"[d - 1] for d in hours.weekdays)
    return f"{days} {hours.open:%H:%M}–{hours.close:%H:%M}"


def request_limited(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Too many requests for a person / call-back from this client address (config/security.yml
    ``rate_limits.handoff_per_ip``); the customer is told what to do instead."""
    from kefu.security.config import security_config
    from kefu.security.ratelimit import default_limiter

    client_ip = ((tracker.latest_message or {}).get("metadata") or {}).get("client_ip")
    if not client_ip or default_limiter().hit("handoff_per_ip", str(client_ip)).allowed:
        return False
    logger.warning("handoff requests from %s limited", client_ip)
    dispatcher.utter_message(text=security_config().messages.handoff_rate_limited)
    return True


class ActionEscalate(Action):
    """The customer asked for a person (or the fallback gave up)."""

    def name(self) -> Text:
        return "action_escalate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if request_limited(dispatcher, tracker):
            return []
        events = await escalate(dispatcher, tracker, intent_hint=None)
        if not events and not dispatcher.messages:
            # No rule fired (e.g. rules edited): still never leave a request for a human unanswered.
            events = await hand_over(dispatcher, tracker, handoffs.EXPLICIT_REQUEST, ticket_no=tracker.get_slot("last_ticket_no"),
                                     customer_id=verified_customer_id(tracker), tier=None,
                                     phone=contact_phone(tracker), intent=latest_intent(tracker))
        return events


EXTERNAL_PREFIX = kefu_transcript.EXTERNAL_TEXT_PREFIX  # Rasa's text for intents sent through trigger_intent


def triggered_by_api(tracker: Tracker) -> bool:
    """True when the latest "user" message is an external event from Rasa's (token-protected)
    trigger_intent API, not something the customer typed (e.g. ``/EXTERNAL_handoff_resolved``).

    Rasa marks external events with ``is_external`` metadata and the text "EXTERNAL: <intent>";
    the channels never let a client choose ``is_external`` (channels/guards.py allow-list).
    """
    latest = tracker.latest_message or {}
    intent = latest_intent(tracker) or ""
    metadata = latest.get("metadata") or {}
    return metadata.get("is_external") is True and latest.get("text") == f"{EXTERNAL_PREFIX}{intent}"


class ActionHandback(Action):
    """The agent resolved the handoff: the bot takes over again and asks for satisfaction.

    Acts only on a genuine hand-back (the desk's trigger_intent call after an agent resolved
    the handoff). The survey's ticket is the one the handoff row carried, noted in
    ``survey_ticket_no`` when the handoff was queued (``hand_over``), never the message's
    entities; ``action_submit_survey`` checks it against the database again.
    """

    def name(self) -> Text:
        return "action_handback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if not triggered_by_api(tracker):
            logger.warning("hand-back refused for %s: not the desk's trigger", tracker.sender_id)
            dispatcher.utter_message(response="utter_default")
            return [FollowupAction("action_listen")]
        dispatcher.utter_message(response="utter_handback")
        return [SlotSet("handoff_active", False), SlotSet("survey_ticket_no", tracker.get_slot("survey_ticket_no") or ""),
                SlotSet("satisfaction_score", None), SlotSet("satisfaction_comment", None)]
