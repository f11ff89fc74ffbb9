""""希望给我个道歉" right after a complaint ticket was filed became a suggestion ticket (JY…)
and the complaint went to the desk without the customer's demand (widget chat, 2026-12-07).
It is added to the complaint ticket; a suggestion later on is still a suggestion."""
from __future__ import annotations

from sqlalchemy import select

from actions import requests
from kefu import db
from kefu.models.service import Ticket, TicketEvent
from kefu.services import tickets
from kefu.services.tickets import TicketRequest
from tests.actions.test_actions import make_tracker, responses, run

PHONE = "13812345678"


def complaint(service_db) -> str:
    with db.session_scope(service_db) as session:
        return tickets.create_ticket(session, TicketRequest(
            type="complaint", phone=PHONE, description="师傅装完就走了 垃圾都没收拾 还跟我吵")).ticket.ticket_no


def after(ticket_no: str, text: str, filed_last_turn: bool = True):
    earlier = [{"event": "user", "text": "他装完就走了 垃圾都没收拾 还跟我吵", "parse_data": {}}]
    if filed_last_turn:
        earlier.append({"event": "action", "name": "action_submit_complaint"})
    else:
        earlier += [{"event": "action", "name": "action_submit_complaint"},
                    {"event": "user", "text": "好的", "parse_data": {}}, {"event": "action", "name": "utter_anything_else"}]
    tracker = make_tracker({"last_ticket_no": ticket_no, "phone": PHONE}, text=text, intent="give_suggestion", events=earlier)
    return run(requests.ActionSubmitSuggestion(), tracker)


def notes(service_db, ticket_no):
    with db.session_scope(service_db) as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        return [e.note for e in session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).scalars()]


def all_types(service_db):
    with db.session_scope(service_db) as session:
        return sorted(t.type for t in session.execute(select(Ticket)).scalars())


def test_a_demand_right_after_the_complaint_is_added_to_it(service_db):
    ticket_no = complaint(service_db)
    messages, events = after(ticket_no, "希望给我个道歉")
    assert ticket_no in messages[0]["text"] and "诉求" in messages[0]["text"]
    assert {"event": "followup", "name": "action_listen", "timestamp": None} in events
    assert "客户诉求：希望给我个道歉" in notes(service_db, ticket_no)
    assert all_types(service_db) == ["complaint"]  # no suggestion ticket


def test_a_suggestion_later_on_is_still_a_suggestion(service_db):
    ticket_no = complaint(service_db)
    messages, _ = after(ticket_no, "希望你们周末也能安排师傅", filed_last_turn=False)
    assert responses(messages)[0] == "utter_ticket_created_suggestion"
    assert all_types(service_db) == ["complaint", "suggestion"]


def test_a_suggestion_without_a_demand_right_after_the_complaint_is_a_suggestion(service_db):
    ticket_no = complaint(service_db)
    messages, _ = after(ticket_no, "客服电话太难打通了")
    assert responses(messages)[0] == "utter_ticket_created_suggestion"


def test_the_demand_reaches_the_complaint_when_the_chat_holds_another_phone(service_db):
    """The look-up by the chat's phone missed the ticket and the customer read "系统暂时无法保存"
    for a complaint that exists: the ticket this chat filed a turn ago is the customer's."""
    ticket_no = complaint(service_db)
    earlier = [{"event": "user", "text": "他装完就走了", "parse_data": {}}, {"event": "action", "name": "action_submit_complaint"}]
    tracker = make_tracker({"last_ticket_no": ticket_no, "phone": "13900001111"}, text="希望给我个道歉",
                           intent="give_suggestion", events=earlier)
    messages, _ = run(requests.ActionSubmitSuggestion(), tracker)
    assert ticket_no in messages[0]["text"] and "诉求" in messages[0]["text"]
    assert "客户诉求：希望给我个道歉" in notes(service_db, ticket_no)


def test_an_addition_right_after_the_complaint_is_noted_on_it_whatever_the_nlu_heard(service_db):
    """"补充一下 那个师傅姓王 是11月30号来的" got "您是要报修、安装…还是退换货？", and "我是给投诉补充
    信息啊 TS…" a second complaint ticket (chat probe, 2026-12-08)."""
    from actions import conversation

    ticket_no = complaint(service_db)
    earlier = [{"event": "user", "text": "他装完就走了", "parse_data": {}}, {"event": "action", "name": "action_submit_complaint"}]
    for action_obj, intent in ((conversation.ActionRouteInform(), "inform"), (requests.ActionAcknowledgeComplaint(), "complain")):
        tracker = make_tracker({"last_ticket_no": ticket_no, "phone": PHONE}, text="补充一下 那个师傅姓王 是11月30号来的",
                               intent=intent, events=earlier)
        messages, _ = run(action_obj, tracker)
        assert [ticket_no in m["text"] and "补充" in m["text"] for m in messages] == [True]
    assert notes(service_db, ticket_no).count("客户补充：补充一下 那个师傅姓王 是11月30号来的") == 2
    later = [*earlier, {"event": "user", "text": "好的", "parse_data": {}}, {"event": "action", "name": "utter_anything_else"}]
    tracker = make_tracker({"last_ticket_no": ticket_no, "phone": PHONE}, text=f"我是给投诉补充信息啊 {ticket_no}", intent="complain",
                           events=later)
    messages, _ = run(requests.ActionAcknowledgeComplaint(), tracker)
    assert ticket_no in messages[0]["text"]
    assert all_types(service_db) == ["complaint"]  # no second complaint


def test_a_new_complaint_later_on_is_a_new_complaint(service_db):
    ticket_no = complaint(service_db)
    later = [{"event": "user", "text": "他装完就走了", "parse_data": {}}, {"event": "action", "name": "action_submit_complaint"},
             {"event": "user", "text": "好的", "parse_data": {}}, {"event": "action", "name": "utter_anything_else"}]
    tracker = make_tracker({"last_ticket_no": ticket_no, "phone": PHONE}, text="另外我还要投诉你们的客服电话打不通", intent="complain",
                           events=later)
    messages, _ = run(requests.ActionAcknowledgeComplaint(), tracker)
    assert responses(messages)[0] == "utter_complaint_empathy"
