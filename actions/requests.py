"""Actions that turn a filled form into a ticket: repair, installation, complaint,
return, suggestion. Every confirmation quotes a ticket that was committed first."""
from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    contact_name,
    contact_phone,
    format_moment,
    format_window,
    idempotency_key,
    latest_text,
    parse_iso,
    registered_products,
    safety_config,
    service_failure,
    ticket_card,
    verified_customer_id,
    verified_phone,
    with_session,
)
from actions.escalation import escalate, settle_waiting_handoff
from actions.asking import asked_again_this_turn
from actions.forms import UNKNOWN_MODEL
from kefu.dialogue_config import says_only_it_has_a_suggestion, suggestion_misread_repair
from kefu.nlp.catalogue import emergency_faults, find_products, load_catalogue
from kefu.nlp.normalize import extract_order_no, is_negated
from kefu.services import customers, tickets
from kefu.services.tickets import TicketRequest
from kefu.settings import service_config

logger = logging.getLogger(__name__)
MODEL_BUTTONS = 3  # registered models offered as buttons

FORM_SLOTS = {
    "repair": ["product", "product_model", "fault", "fault_description", "address", "appointment_time",
               "appointment_start", "appointment_end", "emergency", "registered_model", "customer_address"],
    "installation": ["product", "install_kind", "product_model", "registered_model", "address", "appointment_time",
                     "appointment_start", "appointment_end"],
    "complaint": ["complaint_detail", "complaint_demand"],
    "return": ["order_no", "external_order_no", "return_kind", "return_reason", "product", "product_model"],
    "suggestion": ["suggestion_text"],
}


def reset(kind: str) -> List[EventType]:
    """Clear a finished request's slots so that the next request starts fresh."""
    events: List[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS[kind] if slot != "emergency"]
    if kind == "repair":
        events.append(SlotSet("emergency", False))
    return events


def reported_faults(text: str, fault: Optional[str]) -> List[str]:
    """The faults the text reports, negated mentions left out ("没有燃气味"); without a text,
    the fault slot."""
    if not text:
        return [fault] if fault else []
    return [m.canonical for m in load_catalogue().match_faults(text) if not is_negated(text, m.start)]


def emergency_fault(text: str, fault: Optional[str]) -> Optional[str]:
    """The emergency fault the text reports, ignoring negated mentions ("没有燃气味")."""
    return next((f for f in reported_faults(text, fault) if f in emergency_faults()), None)


def first_aid_tip(text: str, fault: Optional[str]) -> Optional[str]:
    """The response with a first-aid tip for a reported fault that is no emergency
    (config/safety.yml fault_tips), ignoring negated mentions ("没有漏水")."""
    tips = safety_config().get("fault_tips") or {}
    return next((tips[f] for f in reported_faults(text, fault) if f in tips), None)


class ActionTriageRepair(Action):
    """Safety first: an emergency gets its safety instruction before any question."""

    def name(self) -> Text:
        return "action_triage_repair"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from kefu.dialogue_config import dialogue_config

        text = latest_text(tracker)
        events = emergency_first(dispatcher, text, tracker.get_slot("fault"))
        if not events and any(word in text for word in dialogue_config().chaser_words):
            # "人呢 说好的上午来修空调 现在都下午了": a visit already booked, chased
            return [SlotSet("ticket_op", "urge"), FollowupAction("ticket_lookup_form")]
        if not events:
            dispatcher.utter_message(response="utter_repair_start")
            tip = first_aid_tip(text, tracker.get_slot("fault"))
            if tip:
                dispatcher.utter_message(response=tip)
        if not tracker.get_slot("product"):
            product = next(iter(find_products(text)), None)
            if product:
                events.append(SlotSet("product", product))
        return events


def emergency_first(dispatcher: CollectingDispatcher, text: str, fault: Optional[str]) -> List[EventType]:
    """An emergency's safety instruction before any question (and the slots saying so)."""
    fault = emergency_fault(text, fault)
    if not fault:
        return []
    config = safety_config()
    dispatcher.utter_message(response=config["fault_instructions"].get(fault, config["default_instruction"]))
    dispatcher.utter_message(text="我们马上为您登记紧急抢修，只需要再确认几项信息。")
    return [SlotSet("emergency", True), SlotSet("fault", fault)]


def repair_request_events(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """A repair request typed inside another form ("那我先报个修吧，冰箱不制冷" while booking an
    installation) is the repair form's start: its product, fault and description (the other
    form's product and model were about another machine); an emergency is triaged first."""
    text = latest_text(tracker)
    named = [e.get("value") for e in (tracker.latest_message or {}).get("entities", []) if e.get("entity") == "product"]
    product = next(iter(named), None) or next(iter(find_products(text)), None)
    fault = next((e.get("value") for e in (tracker.latest_message or {}).get("entities", []) if e.get("entity") == "fault"), None)
    events = emergency_first(dispatcher, text, fault)
    if product:
        events += [SlotSet("product", product), SlotSet("product_model", None)]
    if fault and not any(e.get("name") == "fault" for e in events):
        events.append(SlotSet("fault", fault))
    from actions.forms import describes_a_fault

    # "那继续报修吧" resumes the repair: it is no fault description
    return events + ([SlotSet("fault_description", text)] if describes_a_fault(text) else [])


class ActionAskProductModel(Action):
    """Signed-in customers are asked to confirm the registered model (保养卡): the repair and,
    for a machine they already own, the installation form (移机/拆机) ask this way."""

    def name(self) -> Text:
        return "action_ask_product_model"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        product = tracker.get_slot("product")
        models = [p["model"] for p in await registered_products(tracker, product)] if product else []
        models = list(dict.fromkeys(m for m in models if m))[:MODEL_BUTTONS]
        if len(models) == 1:
            registered = models[0]
            dispatcher.utter_message(
                text=f"是上次登记的 {registered} 型号{product}吗？",
                buttons=[{"title": f"是，{registered}", "payload": registered}, {"title": "不是 / 不清楚", "payload": "不清楚"}],
            )
            return [SlotSet("registered_model", registered)]
        if models:  # several cards of this product: the customer picks one
            dispatcher.utter_message(
                text=f"您登记过 {len(models)} 台{product}，请问是哪一台？",
                buttons=[{"title": m, "payload": m} for m in models] + [{"title": "都不是 / 不清楚", "payload": "不清楚"}],
            )
            return [SlotSet("registered_model", None)]
        dispatcher.utter_message(response="utter_ask_product_model")
        return []


class ActionAskAddress(Action):
    """Signed-in customers can confirm the address on file instead of typing it."""

    def name(self) -> Text:
        return "action_ask_address"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if asked_again_this_turn(tracker, "address"):
            return []  # "地址好像不太完整，请写明…" already asks again: not a second prompt
        customer_id = verified_customer_id(tracker)
        address = None
        if customer_id is not None:
            try:
                address = await with_session(lambda s: customers.get_customer(s, customer_id).address)
            except Exception as error:
                logger.warning("customer address lookup failed: %s", error)
        if address:
            dispatcher.utter_message(
                text=f"上门地址还是“{address}”吗？如果换了地址，请直接输入新地址。",
                buttons=[{"title": "是的，就是这个地址", "payload": address}],
            )
            return [SlotSet("customer_address", address)]
        dispatcher.utter_message(response="utter_ask_address")
        return []


# A raised priority is said inside the confirmation (domain.yml), so that a ticket plus a
# hand-over stays within the messages one turn may send (config/dialogue.yml).
PRIORITY_SUFFIXES = {"repeat_complaint": "_repeat", "third_repair": "_third"}
PRIORITY_CONFIRMATIONS = {"utter_ticket_created_complaint_repeat", "utter_ticket_created_repair_third",
                          "utter_ticket_created_emergency_third"}


def confirmation_response(response: str, result: Any, tell_history: bool) -> str:
    """The response that confirms a ticket: existing, emergency or ordinary, with its priority
    note. The note tells the customer's history ("这已经是这台空调第三次报修了"), so only a
    verified customer hears it: a typed phone number proves nothing, and anyone could type
    someone else's (the ticket's priority is raised either way)."""
    if not result.created:
        return "utter_ticket_existing"
    if "emergency" in result.notices:
        response = "utter_ticket_created_emergency"
    if not tell_history:
        return response
    for notice, suffix in PRIORITY_SUFFIXES.items():
        if notice in result.notices and response + suffix in PRIORITY_CONFIRMATIONS:
            return response + suffix
    return response


class SubmitTicketAction(Action, ABC):
    """Create the ticket, confirm it, then run the escalation check.

    Abstract, so that rasa_sdk does not register it as an action of its own."""

    kind = ""
    response = ""

    def offer_next(self, dispatcher: CollectingDispatcher, tracker: Tracker, summary: Dict[str, Any]) -> None:
        """Something to offer after the confirmation (nothing by default)."""

    @abstractmethod
    def request(self, tracker: Tracker) -> TicketRequest:
        """The ticket this conversation asks for."""

    def response_args(self, tracker: Tracker, summary: Dict[str, Any]) -> Dict[str, Any]:
        return {}

    def with_ticket(self, session: Any, tracker: Tracker, ticket: Any) -> List[Dict[str, Any]]:
        """Work done in the new ticket's own transaction (nothing by default), and what to tell
        the customer about it after the confirmation (utter_message arguments)."""
        return []

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        request = self.request(tracker)
        request.customer_id = verified_customer_id(tracker)
        request.phone = verified_phone(tracker) or request.phone
        request.conversation_id = tracker.sender_id
        request.channel = tracker.get_latest_input_channel() or "web"
        request.idempotency_key = idempotency_key(
            tracker, self.kind, [request.phone, request.product, request.description, request.address, sorted(request.extra.items())]
        )

        def create(session):
            result = tickets.create_ticket(session, request)
            told = self.with_ticket(session, tracker, result.ticket) if result.created else []
            return result, tickets.ticket_summary(result.ticket), told

        try:
            result, summary, told = await with_session(create)
        except Exception as error:
            return service_failure(dispatcher, error)

        args = {"ticket_no": summary["ticket_no"], "response_due": format_moment(parse_iso(summary["first_response_due"])),
                "appointment": format_window(parse_iso(summary["appointment_start"]), parse_iso(summary["appointment_end"]))}
        args.update(self.response_args(tracker, summary))
        tell_history = request.customer_id is not None  # signed in (a verified customer token)
        dispatcher.utter_message(response=confirmation_response(self.response, result, tell_history), **args,
                                 product=summary.get("product") or "产品")
        dispatcher.utter_message(json_message=ticket_card(summary))
        for message in told:
            dispatcher.utter_message(**message)
        events: List[EventType] = [SlotSet("last_ticket_no", summary["ticket_no"])] + reset(self.kind)
        said = len(dispatcher.messages)
        events += await escalate(dispatcher, tracker, ticket=summary, notices=result.notices, intent_hint=self.kind)
        if len(dispatcher.messages) == said:  # nothing more said: room for one offer
            self.offer_next(dispatcher, tracker, summary)
        if not any(event.get("event") == "pause" for event in events):
            await settle_waiting_handoff(tracker, summary["ticket_no"])
        return events


class ActionSubmitRepair(SubmitTicketAction):
    kind, response = "repair", "utter_ticket_created_repair"

    def name(self) -> Text:
        return "action_submit_repair"

    def offer_next(self, dispatcher: CollectingDispatcher, tracker: Tracker, summary: Dict[str, Any]) -> None:
        """"冰箱不制冷 空调也不制热 两个都要修" made one ticket: offer the other product's repair."""
        text = tracker.get_slot("fault_description") or ""
        others = [p for p in dict.fromkeys(find_products(text)) if p != summary.get("product")]
        if others:
            other = others[0]
            dispatcher.utter_message(response="utter_offer_other_repair", product=other, buttons=[
                {"title": f"也给{other}报修", "payload": f"{other}也要报修"}, {"title": "不用了", "payload": "不用了"}])

    def request(self, tracker: Tracker) -> TicketRequest:
        model = tracker.get_slot("product_model")
        return TicketRequest(
            type="repair",
            phone=tracker.get_slot("phone"),
            product=tracker.get_slot("product"),
            product_model=None if model in (None, UNKNOWN_MODEL) else model,
            fault=tracker.get_slot("fault"),
            description=tracker.get_slot("fault_description") or "",
            address=tracker.get_slot("address"),
            contact_name=contact_name(tracker),
            appointment_start=parse_iso(tracker.get_slot("appointment_start")),
            appointment_end=parse_iso(tracker.get_slot("appointment_end")),
        )


class ActionSubmitInstallation(SubmitTicketAction):
    kind, response = "installation", "utter_ticket_created_installation"

    def name(self) -> Text:
        return "action_submit_installation"

    def request(self, tracker: Tracker) -> TicketRequest:
        kind = tracker.get_slot("install_kind") or "新装"
        model = tracker.get_slot("product_model")
        return TicketRequest(
            type="installation",
            phone=tracker.get_slot("phone"),
            product=tracker.get_slot("product"),
            product_model=None if model in (None, UNKNOWN_MODEL) else model,
            description=f"{kind}：{tracker.get_slot('product') or ''}",
            address=tracker.get_slot("address"),
            contact_name=contact_name(tracker),
            appointment_start=parse_iso(tracker.get_slot("appointment_start")),
            appointment_end=parse_iso(tracker.get_slot("appointment_end")),
            extra={"install_kind": kind},
        )

    def response_args(self, tracker: Tracker, summary: Dict[str, Any]) -> Dict[str, Any]:
        return {"install_kind": tracker.get_slot("install_kind") or "安装"}


class ActionSubmitComplaint(SubmitTicketAction):
    kind, response = "complaint", "utter_ticket_created_complaint"

    def name(self) -> Text:
        return "action_submit_complaint"

    def request(self, tracker: Tracker) -> TicketRequest:
        return TicketRequest(
            type="complaint",
            phone=tracker.get_slot("phone"),
            product=tracker.get_slot("product"),
            description=tracker.get_slot("complaint_detail") or "",
            contact_name=contact_name(tracker),
            extra={"demand": tracker.get_slot("complaint_demand") or ""},
        )


class ActionSubmitReturn(SubmitTicketAction):
    kind, response = "return", "utter_ticket_created_return"

    def name(self) -> Text:
        return "action_submit_return"

    def request(self, tracker: Tracker) -> TicketRequest:
        model = tracker.get_slot("product_model")
        return TicketRequest(
            type="return",
            phone=tracker.get_slot("phone"),
            product=tracker.get_slot("product"),  # set from the signed-in owner's order (forms.ValidateReturnForm)
            product_model=None if model in (None, UNKNOWN_MODEL) else model,
            description=tracker.get_slot("return_reason") or "",
            extra={"order_no": tracker.get_slot("order_no"), "return_kind": tracker.get_slot("return_kind"),
                   "reason": tracker.get_slot("return_reason"), "external_order_no": tracker.get_slot("external_order_no")},
        )

    def response_args(self, tracker: Tracker, summary: Dict[str, Any]) -> Dict[str, Any]:
        return {"return_kind": tracker.get_slot("return_kind") or "退换货"}

    def with_ticket(self, session: Any, tracker: Tracker, ticket: Any) -> List[Dict[str, Any]]:
        """"不修了，直接退货吧": the return replaces the repair it was asked for instead
        (``replaced_repairs``). That repair ticket is cancelled, so no technician comes, with a
        note naming the return ticket; the return ticket notes the repair it replaces."""
        replaced = replaced_repairs(session, tracker, ticket)
        for repair in replaced:
            tickets.cancel_ticket(session, repair, actor="customer",
                                  reason=f"客户不再维修，改为退换货（退换货工单 {ticket.ticket_no}）")
            tickets.add_note(session, ticket, f"替代报修单 {repair.ticket_no}（{repair.product or '产品'}），该报修单已取消",
                             actor="bot")
        if not replaced:
            return []
        return [{"response": "utter_repair_replaced_by_return", "repair_ticket_no": "、".join(r.ticket_no for r in replaced)}]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        # The order must belong to the customer before anything is promised.
        from kefu.services import orders

        from actions.forms import NO_ORDER_NO

        order_no = tracker.get_slot("order_no")
        if order_no == NO_ORDER_NO:  # forgotten: the after-sales team matches the order by phone
            return await super().run(dispatcher, tracker, domain)
        if not extract_order_no(str(order_no or "")):
            # never validated (it reached the slot around the validator): the return is filed
            # without it, as for a forgotten number, rather than failing at the last step
            logger.warning("return of %s: order number %r is not one; filed without it", tracker.sender_id, order_no)
            tracker = tracker.copy()
            tracker.slots["order_no"] = NO_ORDER_NO
            return await super().run(dispatcher, tracker, domain)
        phone = contact_phone(tracker)
        customer_id = verified_customer_id(tracker)
        try:
            await with_session(lambda s: orders.get_order_for_customer(s, order_no, phone=phone, customer_id=customer_id))
        except Exception as error:
            if getattr(error, "code", None) != "not_found":
                return service_failure(dispatcher, error)
            # not this phone's order (bought on a relative's phone, mistyped, or not in our
            # records): filed for the after-sales team to match by hand, as another shop's
            # number is. It ended the form and dropped the reason given (chat probe, 2026-12-08).
            dispatcher.utter_message(response="utter_order_unmatched_filed", order_no=order_no)
            tracker = tracker.copy()
            tracker.slots.update({"order_no": NO_ORDER_NO, "external_order_no": order_no})
        return await super().run(dispatcher, tracker, domain)


def replaced_repairs(session: Any, tracker: Tracker, return_ticket: Any) -> List[Any]:
    """The open repair tickets of this conversation that a new return ticket replaces: the same
    customer's (the same phone or signed-in customer), given up after their confirmation
    ("不修了", config/dialogue.yml repair_dropped_words), and of the return's product -- the
    order's or the one named, else the one product those repairs are for (repairs of several
    products and no product named: none is guessed)."""
    customer_id = return_ticket.customer_id or getattr(return_ticket.customer, "id", None)
    if customer_id is None:
        return []
    repairs = tickets.list_conversation_tickets(session, tracker.sender_id, "repair", customer_id)
    given_up = {r.ticket_no: dropped_after(tracker, r.ticket_no) for r in repairs}
    repairs = [r for r in repairs if given_up[r.ticket_no] is not None]
    named = {return_ticket.product} if return_ticket.product else {
        p for r in repairs for m in given_up[r.ticket_no] or [] for p in products_named(m)}
    if named:
        repairs = [r for r in repairs if r.product in named]
    return repairs if len({r.product for r in repairs}) == 1 else []


def dropped_after(tracker: Tracker, ticket_no: str) -> Optional[List[Dict[str, Any]]]:
    """The customer's messages that give up a repair ("不修了，直接退货吧") since the ticket
    ``ticket_no`` was confirmed (all messages the tracker holds when its confirmation is older);
    None when there is none."""
    from kefu.dialogue_config import dialogue_config

    words = dialogue_config().repair_dropped_words
    events = tracker.events
    # its confirmation: the first time the conversation named it (a later look-up names it again)
    confirmed = next((i for i, e in enumerate(events) if e.get("event") == "slot"
                      and e.get("name") == "last_ticket_no" and e.get("value") == ticket_no), -1)
    said = [e for e in events[confirmed + 1:] if e.get("event") == "user"
            and any(w in user_text(e) for w in words)]
    return said or None


def user_text(event: Dict[str, Any]) -> str:
    """A user event's text as the NLU read it (Simplified, slang mapped; as ``latest_text``)."""
    parse = event.get("parse_data") or {}
    return parse.get("text_normalized") or event.get("text") or parse.get("text") or ""


def products_named(event: Dict[str, Any]) -> List[str]:
    """The catalogue products a user event names (its entities, else its text)."""
    from kefu.nlp.catalogue import canonical_product

    entities = [canonical_product(str(e.get("value") or "")) for e in (event.get("parse_data") or {}).get("entities") or []
                if e.get("entity") == "product"]
    return [p for p in entities if p] or find_products(user_text(event))


def complaint_just_filed(tracker: Tracker) -> Optional[str]:
    """The complaint ticket confirmed in the bot's turn right before the latest message, if any."""
    ticket_no = tracker.get_slot("last_ticket_no")
    events = tracker.events
    latest_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    before = max((i for i, e in enumerate(events[:latest_user]) if e.get("event") == "user"), default=-1)
    filed = any(e.get("event") == "action" and e.get("name") == "action_submit_complaint"
                for e in events[before + 1:latest_user])
    return ticket_no if filed and ticket_no else None


def complaint_added_to(tracker: Tracker) -> Optional[str]:
    """The complaint ticket the latest message adds to, if any: the one filed in the bot's turn
    right before, or this conversation's last ticket when the message names it, and the message
    adds something (kefu.dialogue_config.adds_to_a_complaint)."""
    from kefu.dialogue_config import adds_to_a_complaint
    from kefu.nlp.normalize import extract_ticket_no

    text = latest_text(tracker)
    last = tracker.get_slot("last_ticket_no")
    named = extract_ticket_no(text)
    complaint = complaint_just_filed(tracker) or (
        last if named and named == last and last.startswith(service_config().ticket_types["complaint"].prefix) else None)
    return complaint if complaint and adds_to_a_complaint(text) else None


async def add_to_complaint(dispatcher: CollectingDispatcher, tracker: Tracker, ticket_no: str) -> List[EventType]:
    """A demand ("希望给我个道歉") or more of what happened ("补充一下 那个师傅姓王") right after the
    complaint ticket was filed goes onto that ticket for the complaint desk (客户诉求 / 客户补充),
    not into a suggestion or a second complaint (widget chat, 2026-12-07; chat probe, 2026-12-08:
    a demand became suggestion JY…, an addition a second complaint ticket)."""
    from kefu.dialogue_config import dialogue_config, says_a_demand
    from kefu.nlp.normalize import clean_user_text

    text, _ = clean_user_text(latest_text(tracker), max_len=500)
    demand = says_a_demand(text)

    def work(session):
        # this conversation's ticket (last_ticket_no is set by actions only, so it is the
        # customer's): a look-up by phone could miss it (the signed-in customer's phone wins
        # over the one the form took) and answer "service failure" for an existing ticket
        ticket = tickets.get_ticket(session, ticket_no)
        tickets.add_note(session, ticket, f"{'客户诉求' if demand else '客户补充'}：{text}", actor="customer")

    try:
        await with_session(work)
    except Exception as error:
        return service_failure(dispatcher, error)
    config = dialogue_config()
    dispatcher.utter_message(text=(config.complaint_demand_added if demand else config.complaint_detail_added).format(ticket_no=ticket_no))
    return [FollowupAction("action_listen")]


class ActionSubmitSuggestion(SubmitTicketAction):
    kind, response = "suggestion", "utter_ticket_created_suggestion"

    def name(self) -> Text:
        return "action_submit_suggestion"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if not tracker.get_slot("suggestion_text") and says_only_it_has_a_suggestion(latest_text(tracker)):
            # "我有个建议": nothing to record yet; the form asks for the suggestion itself
            return [FollowupAction("suggestion_form")]
        complaint = None if tracker.get_slot("suggestion_text") else complaint_added_to(tracker)
        if complaint:
            return await add_to_complaint(dispatcher, tracker, complaint)
        if not tracker.get_slot("suggestion_text") and suggestion_misread_repair(latest_text(tracker)):
            from actions.conversation import start_request  # "对了 我家冰箱也不太制冷 能一起报吗"

            return await start_request("report_repair", dispatcher, tracker, domain, latest_text(tracker))
        return await super().run(dispatcher, tracker, domain)

    def request(self, tracker: Tracker) -> TicketRequest:
        description = tracker.get_slot("suggestion_text") or latest_text(tracker)
        return TicketRequest(type="suggestion", phone=tracker.get_slot("phone"), description=description)


class ActionAcknowledgeComplaint(Action):
    """先处理情感: acknowledge feelings first; a severe complaint goes to a person now."""

    def name(self) -> Text:
        return "action_acknowledge_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        complaint = complaint_added_to(tracker)
        if complaint:  # "我是给投诉补充信息啊 TS…": onto that complaint, not a second one
            return await add_to_complaint(dispatcher, tracker, complaint)
        unlike = unlike_a_complaint(latest_text(tracker), after_a_ticket=bool(tracker.get_slot("last_ticket_no")))
        if unlike is not None:
            return await not_a_complaint(dispatcher, tracker, unlike)
        dispatcher.utter_message(response="utter_complaint_empathy")
        return await escalate(dispatcher, tracker, intent_hint="complaint")


# "我不是投诉啊", "没要投诉": the customer says it is no complaint
NO_COMPLAINT = re.compile(r"(?:不是|没要|没有要|没|不)(?:要)?投诉")


def unlike_a_complaint(text: str, after_a_ticket: bool) -> Optional[str]:
    """Why a message the NLU read as a complaint is none: "denied" (it says so); after a ticket
    of this conversation, "question" (it asks something and names nothing a complaint is about:
    config/lexicons/complaint.txt and the anger lists) or "no_signal" (it names nothing of the
    kind); None: a complaint. Right after tickets the NLU read "安装要收费吗 还要买什么管子吗",
    "照片怎么发给你们" and "还是装吧 还是明天上午" as complaints with confidence 1.0 and complaint
    tickets were filed (chat probe, 2026-12-08). Before any ticket the NLU is trusted: half of
    the training complaints name none of those words."""
    from actions.forms import ASKS
    from kefu.escalation import default_engine

    if NO_COMPLAINT.search(text):
        return "denied"
    engine = default_engine()
    if not after_a_ticket or engine.mentions(text, "complaint") or engine.severity(text)[0] != "none":
        return None
    return "question" if ASKS.search(text) else "no_signal"


async def not_a_complaint(dispatcher: CollectingDispatcher, tracker: Tracker, why: str) -> List[EventType]:
    """No complaint form for it: an FAQ answer when the selector is sure of a topic for the
    question, else the question what was meant (the likeliest requests as buttons, 投诉 among
    them), or a request to rephrase when the customer said it is no complaint."""
    from actions.archive import ActionAnswerFaq

    selector = ((tracker.latest_message or {}).get("response_selector") or {}).get("faq") or {}
    if why in ("denied", "question") and float((selector.get("response") or {}).get("confidence") or 0) >= FAQ_TOPIC_SURE:
        # the domain is not read (actions other than form validators receive none)
        return await ActionAnswerFaq().run(dispatcher, tracker, {}) + [FollowupAction("action_listen")]
    if why == "denied":
        dispatcher.utter_message(response="utter_ask_rephrase")
        return [FollowupAction("action_listen")]
    return [FollowupAction("action_default_ask_affirmation")]  # "您是要投诉吗？" with buttons


FAQ_TOPIC_SURE = 0.6  # the selector's confidence in a topic for a question the NLU called a complaint


class ActionAbandonForm(Action):
    def name(self) -> Text:
        return "action_abandon_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from actions.courtesy import answer_heard_as_stop

        answered = await answer_heard_as_stop(dispatcher, tracker)
        if answered is not None:  # "记不清了" to the model question is its answer, not a stop
            return answered
        from actions.courtesy import previous_form

        lookup = previous_form(tracker) in ("ticket_lookup_form", "order_lookup_form")  # nothing was being filed
        dispatcher.utter_message(response="utter_lookup_abandoned" if lookup else "utter_form_abandoned")
        slots = {s for kind in FORM_SLOTS.values() for s in kind} | {"ticket_no", "ticket_op", "satisfaction_score", "satisfaction_comment"}
        return [SlotSet(slot, None) for slot in sorted(slots)] + [SlotSet("emergency", False)]
