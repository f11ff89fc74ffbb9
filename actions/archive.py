"""One-to-one service for signed-in customers: a greeting that starts from their archive.

Only a verified signed customer token (actions.common.customer_claims) opens the archive;
a phone or name typed in chat never does. The facts come from kefu/services/archive.py.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    WEEKDAYS,
    faq_topic,
    intent_labels,
    latest_text,
    local_time,
    parse_iso,
    registered_products,
    verified_customer_id,
    with_session,
)
from kefu import clock
from kefu.nlp.catalogue import find_products, load_catalogue
from kefu.services import archive

logger = logging.getLogger(__name__)

_PROGRESS_ON_SITE = {"受理": "已受理，正在为您安排师傅", "已派单": "已派单，师傅会尽快联系您确认上门时间",
                     "处理中": "正在处理中"}
_PROGRESS = {"受理": "已受理，正在为您处理", "已派单": "已转交相关部门处理", "处理中": "正在处理中"}
_SHIPPING = {"已发货": "已发货", "运输中": "正在运输途中", "派送中": "正在派送中"}
_ON_SITE = ("repair", "installation")  # tickets with a technician's visit (reschedulable)


def day_phrase(moment: dt.datetime, now: dt.datetime) -> str:
    """今天 / 明天 / 后天 / 12月8日（周二）, in the centre's time zone."""
    local, today = local_time(moment), local_time(now).date()
    delta = (local.date() - today).days
    if delta in (0, 1, 2):
        return ("今天", "明天", "后天")[delta]
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）"


def part_of_day(moment: dt.datetime) -> str:
    hour = local_time(moment).hour
    return "上午" if hour < 12 else ("中午" if hour < 14 else ("下午" if hour < 18 else "晚上"))


def ticket_line(ticket: Dict[str, Any], now: dt.datetime) -> str:
    """您12月1日报修的洗衣机，师傅明天上午上门（工单号 BX20261201-0001）。"""
    created = local_time(parse_iso(ticket["created_at"]))
    day = f"{created.month}月{created.day}日"
    on_site = ticket["type"] in _ON_SITE
    if ticket.get("product"):
        line = f"您{day}{ticket['type_label']}的{ticket['product']}"
    else:
        line = f"您{day}提交的{ticket['type_label']}工单"
    start = parse_iso(ticket.get("appointment_start"))
    if on_site and start is not None and start >= now:
        line += f"，师傅{day_phrase(start, now)}{part_of_day(start)}上门"
    else:
        progress = (_PROGRESS_ON_SITE if on_site else _PROGRESS).get(ticket["status"], "正在处理中")
        line += f"，{progress}"
    return f"{line}（工单号 {ticket['ticket_no']}）。"


def ticket_buttons(ticket: Dict[str, Any]) -> List[Dict[str, str]]:
    number = ticket["ticket_no"]
    buttons = [
        {"title": "查询进度", "payload": f'/query_ticket{{"ticket_no": "{number}"}}'},
        {"title": "催一下", "payload": f'/urge_ticket{{"ticket_no": "{number}"}}'},
    ]
    if ticket["type"] in _ON_SITE:
        buttons.append({"title": "改约时间", "payload": f'/reschedule_ticket{{"ticket_no": "{number}"}}'})
    return buttons


def order_line(order: Dict[str, Any]) -> str:
    items = order.get("items") or []
    first = items[0] if items else {}
    what = " ".join(str(v) for v in (first.get("product"), first.get("model")) if v)
    status = _SHIPPING.get(order["shipping_status"], order["shipping_status"])
    line = f"您的订单 {order['order_no']}（{what}）{status}" if what else f"您的订单 {order['order_no']} {status}"
    expected = order.get("expected_delivery")
    if expected:
        day = dt.date.fromisoformat(expected)
        line += f"，预计{day.month}月{day.day}日送达"
    return line + "。"


def maintenance_line(item: Dict[str, Any], today: dt.date) -> str:
    what = f"{item['category']}（{item['model']}）" if item.get("model") else item["category"]
    due = dt.date.fromisoformat(item["due_on"])
    when = f"已于{due.month}月{due.day}日到期" if due < today else f"{due.month}月{due.day}日到期"
    return f"温馨提醒：您家的{what}到了{item['item']}的时候（{when}），需要的话我可以帮您预约师傅上门。"


def maintenance_button(item: Dict[str, Any]) -> Dict[str, str]:
    return {"title": f"预约{item['category']}保养",
            "payload": f'/book_maintenance{{"product": "{item["category"]}"}}'}


class ActionGreet(Action):
    """A greeting; for a verified signed-in customer, by name and from their archive."""

    def name(self) -> Text:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from actions.requests import reported_faults

        text = latest_text(tracker)
        if reported_faults(text, None):
            # "喂 你好 我是帮我妈问的 她家的燃气灶左边那个灶眼打不着", heard as a greeting: a repair
            # request that starts with hello (it got the general greeting, chat probe 2026-12-07)
            from actions.conversation import start_request

            return await start_request("report_repair", dispatcher, tracker, domain, text)
        customer_id = verified_customer_id(tracker)
        if customer_id is None:  # anonymous, or a typed phone/name: the general greeting only
            dispatcher.utter_message(response="utter_greet")
            return []
        now = clock.now()
        try:
            facts = await with_session(archive.customer_archive, customer_id, now)
        except Exception as error:  # the archive is a convenience: greet anyway
            logger.warning("customer archive unavailable: %s", error)
            dispatcher.utter_message(response="utter_greet")
            return []
        return await self._greet(dispatcher, tracker, facts, now)

    async def _greet(self, dispatcher: CollectingDispatcher, tracker: Tracker, facts: Dict[str, Any],
                     now: dt.datetime) -> List[EventType]:
        name = facts.get("name")
        has_news = facts["open_tickets"] or facts["orders_in_transit"] or facts["maintenance"]
        if name:
            dispatcher.utter_message(response="utter_greet_known" if has_news else "utter_greet_known_plain", name=name)
        else:
            dispatcher.utter_message(response="utter_greet")
        for ticket in facts["open_tickets"]:
            dispatcher.utter_message(text=ticket_line(ticket, now), buttons=ticket_buttons(ticket))
        for order in facts["orders_in_transit"]:
            dispatcher.utter_message(text=order_line(order), buttons=[
                {"title": "查看物流", "payload": f'/query_order{{"order_no": "{order["order_no"]}"}}'}])
        today = local_time(now).date()
        for item in facts["maintenance"]:
            dispatcher.utter_message(text=maintenance_line(item, today), buttons=[maintenance_button(item)])
        if facts["maintenance"]:
            try:  # mentioned once per due date
                await with_session(archive.mark_archive_reminders, facts["customer_id"],
                                   [m["product_id"] for m in facts["maintenance"]],
                                   conversation_id=tracker.sender_id, now=now)
            except Exception as error:
                logger.warning("could not record maintenance reminders: %s", error)
        # No identity slots: every message proves itself (actions.common.customer_claims).
        events: List[EventType] = []
        survey = facts.get("survey_ticket")
        if survey and not (tracker.active_loop or {}).get("name"):
            resolved = local_time(parse_iso(survey.get("resolved_at")))
            when = f"{resolved.month}月{resolved.day}日" if resolved else "近期"
            dispatcher.utter_message(response="utter_followup_survey", when=when,
                                     type_label=survey["type_label"], ticket_no=survey["ticket_no"])
            events += [SlotSet("survey_ticket_no", survey["ticket_no"]), FollowupAction("survey_form")]
        return events


class ActionBookMaintenance(Action):
    """The reminder's one-tap booking: a repair-form visit with the maintenance filled in."""

    def name(self) -> Text:
        return "action_book_maintenance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalogue = load_catalogue()
        text = (tracker.latest_message or {}).get("text") or ""
        product = tracker.get_slot("product") or next(iter(find_products(text)), None)
        found = catalogue.products.get(product or "")
        spec = found.maintenance if found else None
        events: List[EventType] = [SlotSet("product", product)] if product else []
        if spec is not None:
            dispatcher.utter_message(response="utter_book_maintenance", product=product, item=spec.item)
            events.append(SlotSet("fault_description", f"定期保养：{spec.item}"))
        else:  # a product without periodic maintenance, or none named: an ordinary visit
            dispatcher.utter_message(response="utter_book_maintenance_general")
            events.append(SlotSet("fault_description", None))
        return events  # the rule runs repair_form next


def card_line(card: Dict[str, Any], fact: str, today: dt.date) -> Optional[str]:
    """One registered product's fact for a model-dependent FAQ answer; None when the card lacks it."""
    what = f"{card['category']}（{card['model']}）" if card.get("model") else card["category"]
    if fact == "maintenance" and card.get("maintenance_on") and card.get("maintenance_item"):
        due = dt.date.fromisoformat(card["maintenance_on"])
        when = f"已于{due.year}年{due.month}月{due.day}日到期" if due < today else f"在{due.year}年{due.month}月{due.day}日"
        return f"您保养卡上登记的{what}，下次{card['maintenance_item']}{when}，需要的话可以直接预约师傅上门。"
    if fact == "warranty" and card.get("warranty_end"):
        end = dt.date.fromisoformat(card["warranty_end"])
        state = "目前在保修期内" if end >= today else "目前已过保修期"
        return f"您保养卡上登记的{what}保修期至{end.year}年{end.month}月{end.day}日，{state}。"
    return None


# "铭牌看不清" / "型号磨掉了": where the model is written is no help then.
MODEL_UNREADABLE = re.compile(r"看不清|看不见|看不到|找不到|磨掉|磨没|掉了|模糊|没有铭牌|没铭牌|不知道|不清楚")


def model_not_to_be_had(tracker: Tracker) -> bool:
    """At the model question, "铭牌看不清" (heard as "where is the model?"), or that question a
    second time: the model is unknown and the form goes on. The simulator's customer typed
    "铭牌看不清" three times and got the same answer and question each time."""
    from actions.forms import already_said

    if tracker.get_slot("requested_slot") != "product_model" or not (tracker.active_loop or {}).get("name"):
        return False
    return bool(MODEL_UNREADABLE.search(latest_text(tracker))) or already_said(tracker, "utter_faq/model_location")


class ActionAnswerFaq(Action):
    """The FAQ answer (utter_faq/<topic>); for a verified signed-in customer, when the answer
    depends on the model (config/intent_labels.yml `card`), also what their 保养卡 says."""

    def name(self) -> Text:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        topic = faq_topic(tracker)
        if topic is None:  # no selector output: nothing to answer from
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        if topic == "model_location" and model_not_to_be_had(tracker):
            from actions.forms import UNKNOWN_MODEL

            return [SlotSet("product_model", UNKNOWN_MODEL)]  # the form goes on with its next question
        dispatcher.utter_message(response=f"utter_faq/{topic}")
        card = ((intent_labels().get("faq") or {}).get(topic) or {}).get("card")
        if not card or verified_customer_id(tracker) is None:
            return []
        named = next(iter(find_products(latest_text(tracker))), None)
        product = named or card.get("product")
        cards = await registered_products(tracker, product)
        if len(cards) != 1:  # none, or several machines of that product: the general answer stands
            return []
        line = card_line(cards[0], card["fact"], local_time(clock.now()).date())
        if line is None:
            return []
        buttons = [maintenance_button({"category": cards[0]["category"]})] if card["fact"] == "maintenance" else []
        dispatcher.utter_message(text=line, buttons=buttons)
        return []
