"""action_correct_ticket: a correction typed after the ticket was made changes that ticket
(chatting as a customer: "地址写错了，是602室" after the ticket number only got a generic reply,
and the ticket kept the wrong address)."""
from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import lookups
from kefu import db
from kefu.errors import NotFound
from kefu.models.service import Ticket
from kefu.services import tickets
from kefu.services.tickets import TicketRequest
from tests.actions.test_actions import make_tracker, responses, run

PHONE = "13812345678"
ADDRESS = "上海市浦东新区张江路100弄5号601室"


@pytest.fixture()
def ticket_no(service_db):
    with db.session_scope(service_db) as session:
        return tickets.create_ticket(session, TicketRequest(type="repair", phone=PHONE, product="空调", fault="不制冷",
                                                            address=ADDRESS, description="空调不制冷")).ticket.ticket_no


def correct(text, ticket_no, entities=(), phone=PHONE):
    tracker = make_tracker({"last_ticket_no": ticket_no, "phone": phone}, text=text, intent="correct")
    tracker.latest_message["entities"] = list(entities)
    return run(lookups.ActionCorrectTicket(), tracker)


def stored(service_db, ticket_no):
    with db.session_scope(service_db) as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        return ticket.address, ticket.appointment_start, [(e.kind, e.note, e.to_value) for e in ticket.events]


def test_a_room_number_correction_changes_only_the_room(service_db, ticket_no):
    messages, _ = correct("地址写错了，门牌号是602室", ticket_no)
    assert responses(messages) == ["utter_ticket_address_changed"]
    assert messages[0]["address"] == "上海市浦东新区张江路100弄5号602室"
    address, _, events = stored(service_db, ticket_no)
    assert address == "上海市浦东新区张江路100弄5号602室"
    assert events[-1] == ("note", "客户更正上门地址", address)


def test_a_whole_new_address_replaces_the_old_one(service_db, ticket_no):
    text = "地址错了 是杭州市西湖区文三路90号"
    messages, _ = correct(text, ticket_no, [{"entity": "address", "value": "杭州市西湖区文三路90号"}])
    assert stored(service_db, ticket_no)[0] == "杭州市西湖区文三路90号"
    assert "杭州市西湖区文三路90号" in messages[0]["address"]


def test_a_new_visit_time_reschedules_the_ticket(service_db, ticket_no):
    messages, _ = correct("时间说错了，是后天上午", ticket_no)
    assert responses(messages) == ["utter_ticket_rescheduled"]
    _, start, events = stored(service_db, ticket_no)
    assert start is not None and events[-1][0] == "rescheduled"


def test_anything_else_is_kept_as_a_note_for_the_technician(service_db, ticket_no):
    messages, _ = correct("型号说错了，应该是KFR-35GW", ticket_no)
    assert responses(messages) == ["utter_ticket_correction_noted"]
    assert stored(service_db, ticket_no)[2][-1] == ("note", "客户更正：型号说错了，应该是KFR-35GW", None)


def test_another_product_means_another_ticket_and_nothing_changes(service_db, ticket_no):
    messages, _ = correct("不对，是冰箱", ticket_no, [{"entity": "product", "value": "冰箱"}])
    assert responses(messages) == ["utter_ask_ticket_no"]
    assert stored(service_db, ticket_no)[2][-1][0] == "created"


def pending_of(events):
    return next(e["value"] for e in events if e.get("name") == "pending_correction")


def test_in_a_new_conversation_the_ticket_is_found_first_then_corrected(service_db, ticket_no):
    """A customer back in a new chat ("我报修的地址写错了，是602室"): no ticket in this
    conversation, so the ticket is identified like a query and the correction then made to it
    (it used to ask "需要更正哪一项" again and again: nothing could be corrected)."""
    messages, events = correct("我报修的地址写错了，是602室", None, phone=None)
    assert responses(messages) == ["utter_correct_find_ticket_first"]
    assert {"event": "followup", "timestamp": None, "name": "ticket_lookup_form"} in events
    pending = pending_of(events)
    assert stored(service_db, ticket_no)[0] == ADDRESS  # nothing changed before the ticket is known

    tracker = make_tracker({"ticket_no": ticket_no, "phone": PHONE, "ticket_op": "query", "pending_correction": pending},
                           text=PHONE)
    messages, events = run(lookups.ActionTicketOperation(), tracker)
    assert responses(messages) == ["utter_ticket_address_changed"]
    assert stored(service_db, ticket_no)[0] == "上海市浦东新区张江路100弄5号602室"
    assert {"event": "slot", "timestamp": None, "name": "pending_correction", "value": None} in events
    assert {"event": "slot", "timestamp": None, "name": "last_ticket_no", "value": ticket_no} in events


def test_a_pending_correction_with_the_wrong_phone_changes_nothing(service_db, ticket_no):
    _, events = correct("地址写错了，是602室", None, phone=None)
    tracker = make_tracker({"ticket_no": ticket_no, "phone": "13900000000", "ticket_op": "query",
                            "pending_correction": pending_of(events)}, text="13900000000")
    messages, events = run(lookups.ActionTicketOperation(), tracker)
    assert responses(messages) == ["utter_ticket_not_found"]
    assert stored(service_db, ticket_no)[0] == ADDRESS
    assert {"event": "slot", "timestamp": None, "name": "pending_correction", "value": None} in events


def test_a_new_phone_typed_before_the_ticket_is_known_is_not_taken_as_the_owner(service_db, ticket_no):
    """"电话留错了，应该是13698765433" in a new chat: the phone mapping put the new number in the
    slot; the lookup must ask for the number on the ticket, and the ticket then moves to the new one."""
    tracker = make_tracker({"phone": "13698765433"}, text="电话留错了，应该是13698765433", intent="correct")
    _, events = run(lookups.ActionCorrectTicket(), tracker)
    assert {"event": "slot", "timestamp": None, "name": "phone", "value": None} in events
    tracker = make_tracker({"ticket_no": ticket_no, "phone": PHONE, "ticket_op": "query",
                            "pending_correction": pending_of(events)}, text=PHONE)
    messages, _ = run(lookups.ActionTicketOperation(), tracker)
    assert responses(messages) == ["utter_ticket_phone_changed"]
    with db.session_scope(service_db) as session:
        assert tickets.get_ticket_for_customer(session, ticket_no, phone="13698765433")


def test_someone_elses_ticket_is_not_changed(service_db, ticket_no):
    messages, _ = correct("地址写错了，是602室", ticket_no, phone="13900000000")
    assert responses(messages) == ["utter_ask_what_to_correct"]
    assert stored(service_db, ticket_no)[0] == ADDRESS


def test_a_finished_ticket_is_not_changed(service_db, ticket_no):
    with db.session_scope(service_db) as session:
        ticket = tickets.get_ticket(session, ticket_no)
        tickets.cancel_ticket(session, ticket)
    messages, _ = correct("地址写错了，是602室", ticket_no)
    assert responses(messages) == ["utter_ticket_not_amendable"] and messages[0]["status"] == "已取消"
    assert stored(service_db, ticket_no)[0] == ADDRESS


def test_a_correction_without_the_new_address_asks_for_it_and_changes_nothing(service_db, ticket_no):
    messages, _ = correct("刚才地址写错了", ticket_no)
    assert responses(messages) == ["utter_ask_correct_address"]
    assert stored(service_db, ticket_no)[0] == ADDRESS
    messages, _ = correct("地址改为：杭州市西湖区文三路90号3栋501", ticket_no)
    assert stored(service_db, ticket_no)[0] == "杭州市西湖区文三路90号3栋501"


def test_a_corrected_phone_moves_the_ticket_to_that_number(service_db, ticket_no):
    """The correction's own number is already in the phone slot (its mapping ran first): the
    ticket is found with the number before it, and from then on opens with the new one only."""
    tracker = make_tracker({"last_ticket_no": ticket_no, "phone": "13698765433"}, text="不对，电话打错了，是13698765433",
                           intent="correct", events=[{"event": "slot", "name": "phone", "value": PHONE}])
    messages, events = run(lookups.ActionCorrectTicket(), tracker)
    assert responses(messages) == ["utter_ticket_phone_changed"] and messages[0]["phone"] == "13698765433"
    assert events == [{"event": "slot", "timestamp": None, "name": "phone", "value": "13698765433"}]
    with db.session_scope(service_db) as session:
        assert tickets.get_ticket_for_customer(session, ticket_no, phone="13698765433")
        with pytest.raises(NotFound):
            tickets.get_ticket_for_customer(session, ticket_no, phone=PHONE)
    assert stored(service_db, ticket_no)[2][-1] == ("note", "客户更正联系电话", "136****5433")


def test_an_address_change_read_as_a_reschedule_corrects_the_address(service_db, ticket_no):
    """"地址改一下，改成…" right after the ticket was read as reschedule_ticket and asked for a time."""
    from actions import forms

    text = "地址改一下，改成上海市浦东新区张江路100弄5号602室"
    tracker = make_tracker({"last_ticket_no": ticket_no, "phone": PHONE, "ticket_op": "reschedule"}, text=text,
                           intent="reschedule_ticket")
    assert asyncio.run(forms.ValidateTicketLookupForm().required_slots(["ticket_no", "phone", "appointment_time"],
                                                                       CollectingDispatcher(), tracker, {})) == []
    messages, _ = run(lookups.ActionTicketOperation(), tracker)
    assert responses(messages) == ["utter_ticket_address_changed"]
    assert stored(service_db, ticket_no)[0] == "上海市浦东新区张江路100弄5号602室"


def test_a_question_whether_the_ticket_is_right_reads_it_back_and_changes_nothing(service_db, ticket_no):
    """"这个单子写的是冰箱吗 型号对不对" was noted on the ticket as a correction (chat probe, 2026-12-08)."""
    before = stored(service_db, ticket_no)
    messages, events = correct("这个单子写的是空调吗 型号对不对", ticket_no)
    assert messages == [] and {"event": "followup", "name": "ticket_lookup_form", "timestamp": None} in events
    assert stored(service_db, ticket_no) == before
    status, _ = run(lookups.ActionTicketOperation(), make_tracker({"ticket_no": ticket_no, "phone": PHONE, "ticket_op": "query"}))
    detail = next(m for m in status if m.get("response") == "utter_ticket_status")["detail"]
    assert "登记的产品：空调（不制冷）" in detail
    # a correction asked as a question is still a correction
    messages, _ = correct("地址写错了 能改成602室吗", ticket_no)
    assert stored(service_db, ticket_no) != before
