"""A return instead of the repair (chat probe, 2026-12-07): the customer filed a repair of the
air conditioner, then said "不修了，直接退货吧" and went through the return form. The repair
ticket stayed open and a technician would still have been sent. Now the return ticket of the
same customer and product replaces the conversation's open repair ticket: it is cancelled
(tickets.cancel_ticket, with a note naming the return ticket) and the customer is told."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from sqlalchemy import select

from actions import forms, requests
from kefu import db
from kefu.models.service import Ticket, TicketEvent
from tests.actions.test_actions import REPAIR_SLOTS, make_tracker, responses, run

PHONE = REPAIR_SLOTS["phone"]
RETURN_SLOTS = {"order_no": forms.NO_ORDER_NO, "return_kind": "退货", "return_reason": "修来修去太麻烦", "phone": PHONE}


def user(text: str, intent: str = "inform", entities: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.95}, "entities": entities or []}
    return {"event": "user", "text": text, "parse_data": parse, "metadata": {}}


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def file_repair(sender: str = "conv-r1", phone: str = PHONE, product: str = "空调") -> tuple:
    """The repair ticket filed earlier in the conversation: (its number, the conversation so far)."""
    slots = dict(REPAIR_SLOTS, phone=phone, product=product, fault_description=f"{product}不制冷了")
    opening = [action("action_listen"), user(f"{product}不制冷了，要报修", "report_repair"), action("action_triage_repair")]
    messages, events = run(requests.ActionSubmitRepair(), make_tracker(slots, text="明天下午", sender=sender, events=opening))
    ticket_no = next(m["ticket_no"] for m in messages if m.get("response") == "utter_ticket_created_repair")
    return ticket_no, opening + [action("repair_form"), action("action_submit_repair")] + events


def submit_return(history: List[Dict[str, Any]], said: List[Dict[str, Any]], slots: Optional[Dict[str, Any]] = None,
                  sender: str = "conv-r1"):
    """The return form's turns (``said``) after ``history``, then its submission."""
    events = list(history)
    for message in said:
        events += [action("action_listen"), message, action("return_form")]
    tracker = make_tracker({**RETURN_SLOTS, **(slots or {})}, text=PHONE, sender=sender, events=events)
    return run(requests.ActionSubmitReturn(), tracker)


def ticket(url: str, ticket_no: str) -> Dict[str, Any]:
    with db.session_scope(url) as session:
        found = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        notes = [e.note or "" for e in session.execute(
            select(TicketEvent).where(TicketEvent.ticket_id == found.id).order_by(TicketEvent.id)).scalars()]
        return {"status": found.status, "notes": notes}


def return_ticket_no(messages) -> str:
    return next(m["ticket_no"] for m in messages if m.get("response") == "utter_ticket_created_return")


def test_a_return_instead_of_the_repair_cancels_the_repair_ticket(service_db):
    repair_no, history = file_repair()
    messages, _ = submit_return(history, [user("不修了，直接退货吧", "request_return"), user("订单号找不到"),
                                          user("修来修去太麻烦")])
    return_no = return_ticket_no(messages)
    said = responses(messages)
    assert said.index("utter_repair_replaced_by_return") > said.index("utter_ticket_created_return")
    told = next(m for m in messages if m.get("response") == "utter_repair_replaced_by_return")
    assert told["repair_ticket_no"] == repair_no
    repair = ticket(service_db, repair_no)
    assert repair["status"] == "已取消"
    assert return_no in repair["notes"][-1]          # why it was cancelled: replaced by the return
    assert any(repair_no in note for note in ticket(service_db, return_no)["notes"])
    assert ticket(service_db, return_no)["status"] == "受理"


def test_looking_the_repair_up_again_after_giving_it_up_still_counts(service_db):
    repair_no, history = file_repair()
    gave_up = [action("action_listen"), user("不修了，直接退货吧", "request_return"), action("return_form"),
               action("action_listen"), user("刚才那个报修单是什么状态", "query_ticket"), action("action_ticket_operation"),
               {"event": "slot", "name": "last_ticket_no", "value": repair_no}]  # the look-up names it again
    messages, _ = submit_return(history + gave_up, [user("订单号找不到")], {"return_reason": "不想要了"})
    assert "utter_repair_replaced_by_return" in responses(messages)
    assert ticket(service_db, repair_no)["status"] == "已取消"


def test_without_giving_up_the_repair_it_stays_open(service_db):
    repair_no, history = file_repair()
    messages, _ = submit_return(history, [user("另外我还要办个退货", "request_return"), user("订单号找不到"),
                                          user("质量问题")], {"return_reason": "质量问题"})
    assert "utter_ticket_created_return" in responses(messages)
    assert "utter_repair_replaced_by_return" not in responses(messages)
    assert ticket(service_db, repair_no)["status"] == "受理"


def test_giving_up_another_repair_before_this_one_was_filed_does_not_count(service_db):
    earlier = [action("action_listen"), user("冰箱不修了，算了", "stop_form"), action("action_abandon_form")]
    repair_no, history = file_repair()
    messages, _ = submit_return(earlier + history, [user("我还要办个退货", "request_return")], {"return_reason": "质量问题"})
    assert "utter_repair_replaced_by_return" not in responses(messages)
    assert ticket(service_db, repair_no)["status"] == "受理"


def test_a_return_of_another_product_leaves_the_repair_alone(service_db):
    repair_no, history = file_repair(product="空调")
    fridge = [{"entity": "product", "value": "冰箱"}]
    messages, _ = submit_return(history, [user("冰箱不修了，直接退货吧", "request_return", fridge)], {"product": "冰箱"})
    assert "utter_ticket_created_return" in responses(messages)
    assert "utter_repair_replaced_by_return" not in responses(messages)
    assert ticket(service_db, repair_no)["status"] == "受理"


def test_another_customers_or_another_conversations_repair_stays_open(service_db):
    repair_no, history = file_repair(phone="13900001111")
    messages, _ = submit_return(history, [user("不修了，直接退货吧", "request_return")])  # the return's phone: PHONE
    assert "utter_repair_replaced_by_return" not in responses(messages)
    assert ticket(service_db, repair_no)["status"] == "受理"
    elsewhere_no, _ = file_repair(sender="conv-other")
    messages, _ = submit_return([], [user("不修了，直接退货吧", "request_return")], sender="conv-r2")
    assert "utter_repair_replaced_by_return" not in responses(messages)
    assert ticket(service_db, elsewhere_no)["status"] == "受理"


def test_a_repair_that_is_already_done_is_not_touched(service_db):
    from kefu.services import tickets

    repair_no, history = file_repair()
    with db.session_scope(service_db) as session:
        repair = tickets.get_ticket(session, repair_no)
        for status in ("已派单", "处理中", "已解决"):
            tickets.change_status(session, repair, status, actor="agent:wang")
    messages, _ = submit_return(history, [user("不修了，直接退货吧", "request_return")])
    assert "utter_repair_replaced_by_return" not in responses(messages)
    assert ticket(service_db, repair_no)["status"] == "已解决"
