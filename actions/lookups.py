"""Actions on existing tickets and orders: query, urge, cancel, reschedule, order status.

A customer sees and changes only their own tickets: anonymous chats prove ownership
with the phone number on the ticket, signed-in chats with a verified customer token.
"Not found" and "someone else's" get the same answer, so nothing leaks.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    contact_phone,
    latest_text,
    previous_value,
    format_moment,
    latest_intent,
    format_window,
    parse_iso,
    service_failure,
    ticket_card,
    verified_customer_id,
    with_session,
)
from actions.escalation import escalate, hand_over
from kefu.escalation import Decision
from kefu import clock
from kefu.settings import service_config
from kefu.errors import KefuError
from kefu.services import orders, tickets

STATUS_DETAIL = {
    "受理": "我们已受理您的请求，服务人员会在 {due} 前与您联系。",
    "已派单": "已派发给服务网点，师傅会提前电话联系您确认上门时间。",
    "处理中": "师傅正在处理中。",
    "已解决": "问题已处理完毕，欢迎对本次服务进行评价。",
    "已回访": "服务已完成并已回访，感谢您的评价。",
    "已关闭": "工单已关闭。",
    "已取消": "该工单已取消。",
}

URGE_DUE = "我们承诺在 {due} 前处理完毕。"

LOOKUP_RESET = [SlotSet("ticket_no", None), SlotSet("ticket_op", None), SlotSet("appointment_time", None),
                SlotSet("appointment_start", None), SlotSet("appointment_end", None)]


def _owner(tracker: Tracker) -> Dict[str, Any]:
    return {"phone": contact_phone(tracker), "customer_id": verified_customer_id(tracker)}


LOOKUP_LIMIT_DECISION = Decision(rule_id="lookup_limit", group="综合", priority="普通",
                                 reason="匿名查询次数达到上限，需人工核实身份")


async def lookup_limited(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """Anonymous look-ups (phone + number) per conversation and per client address
    (config/security.yml); past the limit nothing is looked up and a person (or a
    call-back outside hours) is offered instead. Signed-in customers are not limited."""
    from kefu.security.config import security_config
    from kefu.security.ratelimit import default_limiter

    if verified_customer_id(tracker) is not None:
        return None
    limiter = default_limiter()
    checks = [("lookup_per_conversation", tracker.sender_id)]
    client_ip = ((tracker.latest_message or {}).get("metadata") or {}).get("client_ip")
    if client_ip:
        checks.append(("lookup_per_ip", str(client_ip)))
    if all(limiter.hit(name, key).allowed for name, key in checks):
        return None
    dispatcher.utter_message(text=security_config().messages.lookup_limited)
    events = await hand_over(dispatcher, tracker, LOOKUP_LIMIT_DECISION, ticket_no=None, customer_id=None, tier=None,
                             phone=contact_phone(tracker), intent=latest_intent(tracker))
    return LOOKUP_RESET + [SlotSet("order_no", None)] + events


def _status_detail(summary: Dict[str, Any]) -> str:
    detail = STATUS_DETAIL.get(summary["status"], "").format(due=format_moment(parse_iso(summary["first_response_due"])))
    if summary.get("appointment_start") and summary["status"] in ("受理", "已派单"):
        detail += f"预约上门时间：{format_window(parse_iso(summary['appointment_start']), parse_iso(summary['appointment_end']))}。"
    return detail + _recorded(summary)


def _recorded(summary: Dict[str, Any]) -> str:
    """What the ticket says the customer asked about, read back so that a wrong product or
    model is caught ("这个单子写的是冰箱吗 型号对不对"; chat probe, 2026-12-08)."""
    what = " ".join(str(summary[key]) for key in ("product", "product_model") if summary.get(key))
    if not what:
        return ""
    fault = f"（{summary['fault']}）" if summary.get("fault") else ""
    return f"登记的产品：{what}{fault}。"


def _urge_detail(summary: Dict[str, Any]) -> str:
    """What the urge speeds up: before anyone has called, the call and the visit the customer
    was told of when the ticket was filed (the 72-hour resolution time limit read as a new,
    later promise: widget chat, 2026-12-07); afterwards, that time limit."""
    if summary["status"] == "受理":
        return _status_detail(summary)
    return URGE_DUE.format(due=format_moment(parse_iso(summary["resolution_due"])))


class ActionTicketOperation(Action):
    def name(self) -> Text:
        return "action_ticket_operation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from actions.forms import misread_address_correction, misread_repair_opening

        if misread_address_correction(tracker):  # "地址改一下，改成…" read as a reschedule
            return await ActionCorrectTicket().run(dispatcher, tracker, domain) + LOOKUP_RESET

        if misread_repair_opening(tracker):  # "我想报修，空调不太对劲" read as a ticket question
            from actions.requests import repair_request_events

            events = repair_request_events(dispatcher, tracker)
            if not dispatcher.messages:  # no emergency instruction said
                dispatcher.utter_message(response="utter_repair_start")
            return events + LOOKUP_RESET + [FollowupAction("repair_form")]
        op = tracker.get_slot("ticket_op") or "query"
        ticket_no = tracker.get_slot("ticket_no")
        owner = _owner(tracker)
        limited = await lookup_limited(dispatcher, tracker)
        if limited is not None:
            return limited + [SlotSet("pending_correction", None)]
        pending = tracker.get_slot("pending_correction")
        if pending and op == "query":  # a correction typed before the ticket was identified
            done = [SlotSet("pending_correction", None)] + LOOKUP_RESET
            events = await apply_correction(dispatcher, tracker, ticket_no, pending.get("text", ""),
                                            pending.get("entities") or [], owner["phone"],
                                            not_found_response="utter_ticket_not_found")
            if dispatcher.messages and dispatcher.messages[-1].get("response") == "utter_ticket_not_found":
                return done + [SlotSet("phone", None)]
            return done + [SlotSet("last_ticket_no", ticket_no)] + events

        def work(session):
            ticket = tickets.get_ticket_for_customer(session, ticket_no, **owner)
            result = None
            if op == "urge" and ticket.status in tickets.OPEN_STATUSES:
                result = tickets.urge_ticket(session, ticket, actor="customer")
            elif op == "reschedule" and ticket.status in tickets.OPEN_STATUSES:
                tickets.reschedule_ticket(session, ticket, parse_iso(tracker.get_slot("appointment_start")),
                                          parse_iso(tracker.get_slot("appointment_end")), actor="customer")
            return tickets.ticket_summary(ticket), result

        try:
            summary, urge = await with_session(work)
        except KefuError as error:
            if error.code in ("not_found", "invalid_ticket_no"):
                dispatcher.utter_message(response="utter_ticket_not_found")
                return LOOKUP_RESET + [SlotSet("phone", None)]
            return service_failure(dispatcher, error)
        except Exception as error:
            return service_failure(dispatcher, error)

        events: List[EventType] = [SlotSet("last_ticket_no", summary["ticket_no"])] + LOOKUP_RESET
        args = {"ticket_no": summary["ticket_no"], "status": summary["status"], "type_label": summary["type_label"]}
        if op == "cancel":
            if summary["is_open"]:
                dispatcher.utter_message(response="utter_ask_cancel_confirm", last_ticket_no=summary["ticket_no"],
                                         cancel_note=service_config().ticket_types[summary["type"]].cancel_note)
                return events + [SlotSet("pending_cancel", True)]
            dispatcher.utter_message(response="utter_ticket_not_cancellable", **args)
        elif op == "reschedule":
            if summary["is_open"]:
                dispatcher.utter_message(response="utter_ticket_rescheduled", ticket_no=summary["ticket_no"],
                                         appointment=format_window(parse_iso(summary["appointment_start"]), parse_iso(summary["appointment_end"])))
            else:
                dispatcher.utter_message(response="utter_ticket_not_reschedulable", **args)
        elif op == "urge" and urge is not None:
            if urge.should_escalate:
                reason = "已超过承诺时限" if urge.overdue else f"已是第 {urge.urge_count} 次催办"
                dispatcher.utter_message(response="utter_urge_escalated", ticket_no=summary["ticket_no"], reason=reason)
                events += await escalate(dispatcher, tracker, ticket=summary, intent_hint="urge",
                                         ticket_overdue=urge.overdue, urge_count=urge.urge_count)
            else:
                dispatcher.utter_message(response="utter_urge_recorded", urge_count=urge.urge_count,
                                         detail=_urge_detail(summary), **args)
        else:
            dispatcher.utter_message(response="utter_ticket_status", detail=_status_detail(summary), **args)
        dispatcher.utter_message(json_message=ticket_card(summary))
        if op == "query" and summary["status"] == "已解决":
            # 回访: a resolved, not yet surveyed ticket gets the satisfaction question now
            events += [SlotSet("survey_ticket_no", summary["ticket_no"]), FollowupAction("survey_form")]
        return events


class ActionConfirmCancel(Action):
    def name(self) -> Text:
        return "action_confirm_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from kefu.nlp.normalize import extract_ticket_no

        ticket_no = tracker.get_slot("last_ticket_no")
        named = extract_ticket_no(latest_text(tracker))
        if named and named != ticket_no:  # "取消 BX…-0003" while another one waits for its yes
            return [SlotSet("pending_cancel", False), SlotSet("ticket_no", named), SlotSet("ticket_op", "cancel"),
                    FollowupAction("ticket_lookup_form")]
        owner = _owner(tracker)

        def work(session):
            ticket = tickets.get_ticket_for_customer(session, ticket_no, **owner)
            tickets.cancel_ticket(session, ticket, actor="customer", reason="客户在线取消")
            return tickets.ticket_summary(ticket)

        try:
            summary = await with_session(work)
        except KefuError as error:
            if error.code == "not_cancellable":
                dispatcher.utter_message(response="utter_ticket_not_cancellable", ticket_no=ticket_no, status=getattr(error, "status", "已处理"))
                return [SlotSet("pending_cancel", False)]
            return service_failure(dispatcher, error) + [SlotSet("pending_cancel", False)]
        except Exception as error:
            return service_failure(dispatcher, error) + [SlotSet("pending_cancel", False)]
        dispatcher.utter_message(response="utter_ticket_cancelled", ticket_no=summary["ticket_no"])
        return [SlotSet("pending_cancel", False)]


class ActionKeepTicket(Action):
    def name(self) -> Text:
        return "action_keep_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ticket_kept")
        return [SlotSet("pending_cancel", False)]


class ActionQueryOrder(Action):
    def name(self) -> Text:
        return "action_query_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        order_no = tracker.get_slot("order_no")
        owner = _owner(tracker)
        limited = await lookup_limited(dispatcher, tracker)
        if limited is not None:
            return limited

        def work(session):
            return orders.order_summary(orders.get_order_for_customer(session, order_no, **owner))

        reset = [SlotSet("order_no", None)]
        try:
            summary = await with_session(work)
        except KefuError as error:
            if error.code in ("not_found", "invalid_order_no"):
                dispatcher.utter_message(response="utter_order_not_found")
                return reset + [SlotSet("phone", None)]
            return service_failure(dispatcher, error)
        except Exception as error:
            return service_failure(dispatcher, error)
        dispatcher.utter_message(response="utter_order_status", order_no=summary["order_no"],
                                 status=f"{summary['status']}，{summary['shipping_status']}", detail=order_detail(summary))
        return reset


def order_detail(summary: Dict[str, Any]) -> str:
    parts = []
    if summary.get("carrier") and summary.get("tracking_no"):
        parts.append(f"承运商：{summary['carrier']}，运单号：{summary['tracking_no']}。")
    if summary.get("delivered_at"):
        parts.append(f"签收时间：{format_moment(parse_iso(summary['delivered_at']))}。")
    elif summary.get("expected_delivery"):
        parts.append(f"预计送达：{summary['expected_delivery']}。")
    elif summary.get("shipping_status") == "待发货":
        parts.append("仓库正在备货，发货后会短信通知您。")
    return "".join(parts)


class ActionCorrectTicket(Action):
    """A correction typed after a request was submitted ("地址写错了，是602室", "时间改成下周一上午"):
    it goes to the ticket this conversation told the customer about. A new or partial address
    changes the ticket's address (the street stays when only the room is named), a new visit
    time reschedules it, anything else is kept on the ticket as the customer's note for the
    technician. Without a ticket in this conversation (a customer back in a new chat) the
    correction is kept aside, the ticket is identified as for a query (number + phone), and
    the correction is then made to it (``ActionTicketOperation``)."""

    def name(self) -> Text:
        return "action_correct_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from kefu.nlp.normalize import extract_phone

        ticket_no = tracker.get_slot("last_ticket_no")
        text = latest_text(tracker)
        entities = [{"entity": e.get("entity"), "value": e.get("value")}
                    for e in (tracker.latest_message or {}).get("entities") or []
                    if e.get("entity") in ("address", "product")]
        new_phone = extract_phone(text)
        # The number that owns the ticket: the one before this message (the correction's own
        # number was put in the phone slot by its mapping)
        owner_phone = (previous_value(tracker, "phone") or contact_phone(tracker)) if new_phone else contact_phone(tracker)
        if ticket_no and asks_about_the_ticket(text):
            # "这个单子写的是冰箱吗 型号对不对" is a question, not a correction: it was noted on the
            # ticket as one (chat probe, 2026-12-08); the ticket is read back instead
            return [SlotSet("ticket_op", "query"), FollowupAction("ticket_lookup_form")]
        if ticket_no:
            return await apply_correction(dispatcher, tracker, ticket_no, text, entities, owner_phone)
        dispatcher.utter_message(response="utter_correct_find_ticket_first")
        events: List[EventType] = [SlotSet("pending_correction", {"text": text, "entities": entities}),
                                   SlotSet("ticket_op", "query"), FollowupAction("ticket_lookup_form")]
        if new_phone and verified_customer_id(tracker) is None:
            events.append(SlotSet("phone", previous_value(tracker, "phone")))  # the lookup asks for the ticket's number
        return events


CORRECTION_MARKERS = re.compile(r"(?<!对)不对|错了|写错|弄错|搞错|说错|改成|改为|改一下|应该是|其实是|更正")
ASKS_IF_RIGHT = re.compile(r"[？?]|吗|对不对|对吧|是不是|有没有")


def asks_about_the_ticket(text: str) -> bool:
    """A question whether the ticket is right, that corrects nothing itself."""
    return bool(ASKS_IF_RIGHT.search(text)) and not CORRECTION_MARKERS.search(text)


async def apply_correction(dispatcher: CollectingDispatcher, tracker: Tracker, ticket_no: str, text: str,
                           entities: List[Dict[str, Any]], owner_phone: Optional[str],
                           not_found_response: str = "utter_ask_what_to_correct") -> List[EventType]:
    """Make the correction ``text`` (with its address/product ``entities``) to ``ticket_no``,
    which must belong to ``owner_phone`` or the signed-in customer, and tell the customer."""
    from kefu.nlp.address import correction_part, is_partial_address, merge_address, plausible_address
    from kefu.nlp.normalize import clean_user_text, extract_phone
    from kefu.nlp.timeparse import parse_appointment

    text, _ = clean_user_text(text, max_len=200)
    address = next((str(e.get("value")) for e in entities if e.get("entity") == "address"), None)
    if address is None and ("地址" in text or is_partial_address(text)):
        address = text
    if address is not None and not (is_partial_address(address) or plausible_address(correction_part(address))):
        dispatcher.utter_message(response="utter_ask_correct_address")  # "地址写错了" without the new one
        return []
    phone = None if address or verified_customer_id(tracker) is not None else extract_phone(text)
    window = None if address or phone else parse_appointment(text, clock.now())
    product = next((str(e.get("value")) for e in entities if e.get("entity") == "product"), None)
    owner = {"phone": owner_phone, "customer_id": verified_customer_id(tracker)}

    def work(session):
        ticket = tickets.get_ticket_for_customer(session, ticket_no, **owner)
        if product and not address and not window and not phone and ticket.product != product:
            return None, None  # "不对，是冰箱" after an air-conditioner ticket: another ticket
        if phone:
            tickets.change_contact_phone(session, ticket, phone)
        elif address:
            tickets.change_address(session, ticket, merge_address(ticket.address, address))
        elif window:
            tickets.reschedule_ticket(session, ticket, window.start, window.end)
        else:
            tickets.add_note(session, ticket, f"客户更正：{text}", actor="customer")
        return tickets.ticket_summary(ticket), ticket.address

    try:
        summary, new_address = await with_session(work)
    except KefuError as error:
        if error.code in ("not_found", "invalid_ticket_no"):
            dispatcher.utter_message(response=not_found_response)
            return []
        if error.code in ("not_amendable", "not_reschedulable"):
            dispatcher.utter_message(response="utter_ticket_not_amendable", ticket_no=ticket_no,
                                     status=getattr(error, "details", {}).get("status", ""))
            return []
        return service_failure(dispatcher, error)
    except Exception as error:
        return service_failure(dispatcher, error)
    if summary is None:
        dispatcher.utter_message(response="utter_ask_ticket_no")
        return []
    if phone:
        dispatcher.utter_message(response="utter_ticket_phone_changed", ticket_no=ticket_no, phone=phone)
        return [SlotSet("phone", phone)]
    if address:
        dispatcher.utter_message(response="utter_ticket_address_changed", ticket_no=ticket_no, address=new_address)
    elif window:
        dispatcher.utter_message(response="utter_ticket_rescheduled", ticket_no=ticket_no,
                                 appointment=format_window(parse_iso(summary["appointment_start"]), parse_iso(summary["appointment_end"])))
    else:
        dispatcher.utter_message(response="utter_ticket_correction_noted", ticket_no=ticket_no)
    return []
