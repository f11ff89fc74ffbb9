import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kefu.errors import (
    InvalidRequest,
    InvalidTicketNo,
    InvalidTransition,
    NotAmendable,
    NotCancellable,
    NotFound,
    NotReschedulable,
    NotUrgeable,
)
from kefu.models import TicketEvent
from kefu.services import customers, tickets
from kefu.services.tickets import TicketRequest

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 23, 10, tzinfo=TZ)
HOUR = dt.timedelta(hours=1)


def new_ticket(session, phone="13900000001", now=T0, **fields):
    request = TicketRequest(**{"type": "repair", "phone": phone, "product": "空调", "fault": "不制冷", **fields})
    return tickets.create_ticket(session, request, now=now).ticket


def history(ticket):
    return [(e.kind, e.from_value, e.to_value) for e in ticket.events]


def walk(session, ticket, *statuses, start=T0):
    for step, status in enumerate(statuses, 1):
        tickets.change_status(session, ticket, status, "agent:zhang", now=start + step * HOUR)


# --- state machine ---------------------------------------------------------------


def test_full_lifecycle_writes_one_event_per_change(session):
    ticket = new_ticket(session)
    tickets.assign(session, ticket, "技师:王建军", actor="agent:zhang", now=T0 + HOUR)
    assert ticket.status == "已派单" and ticket.first_responded_at == T0 + HOUR
    walk(session, ticket, "处理中", "已解决", start=T0 + HOUR)
    assert ticket.resolved_at == T0 + 3 * HOUR and ticket.closed_at is None
    tickets.change_status(session, ticket, "已关闭", "agent:li", note="客户未接电话", now=T0 + 4 * HOUR)
    assert ticket.closed_at == T0 + 4 * HOUR
    session.commit()
    assert history(ticket) == [
        ("created", None, "受理"),
        ("assigned", "维修服务部 / 空调维修组", "维修服务部 / 空调维修组 / 技师:王建军"),
        ("status_changed", "受理", "已派单"),
        ("status_changed", "已派单", "处理中"),
        ("status_changed", "处理中", "已解决"),
        ("status_changed", "已解决", "已关闭"),
    ]
    assert [e.actor for e in ticket.events][-1] == "agent:li" and ticket.events[-1].note == "客户未接电话"
    assert ticket.updated_at == T0 + 4 * HOUR


@pytest.mark.parametrize(
    "path, illegal",
    [((), "已解决"), ((), "已关闭"), ((), "已回访"), (("已派单",), "已回访"), (("已派单",), "受理"),
     (("已派单", "处理中", "已解决", "已关闭"), "处理中"), (("已派单", "处理中"), "受理")],
)
def test_illegal_transitions_are_refused_and_change_nothing(session, path, illegal):
    ticket = new_ticket(session)
    walk(session, ticket, *path)
    before = (ticket.status, len(ticket.events))
    with pytest.raises(InvalidTransition) as info:
        tickets.change_status(session, ticket, illegal, "agent:zhang", now=T0 + 10 * HOUR)
    assert info.value.code == "invalid_transition"
    assert (ticket.status, len(ticket.events)) == before


def test_reopening_a_resolved_ticket(session):
    ticket = new_ticket(session)
    walk(session, ticket, "已派单", "处理中", "已解决", "处理中")
    assert ticket.status == "处理中" and ticket.resolved_at is None


def test_events_are_append_only(session):
    ticket = new_ticket(session)
    session.commit()
    event = ticket.events[0]
    event.note = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
    session.delete(session.get(TicketEvent, event.id))
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()


# --- cancel, reschedule, assign, notes, escalation ------------------------------------


@pytest.mark.parametrize("path", [(), ("已派单",), ("已派单", "处理中")])
def test_cancel_before_resolution(session, path):
    ticket = new_ticket(session)
    walk(session, ticket, *path)
    tickets.cancel_ticket(session, ticket, reason="自己修好了", now=T0 + 9 * HOUR)
    assert ticket.status == "已取消" and ticket.closed_at == T0 + 9 * HOUR
    assert ticket.events[-1].kind == "cancelled" and ticket.events[-1].note == "自己修好了"
    assert ticket.events[-1].actor == "customer"


@pytest.mark.parametrize("path", [("已派单", "处理中", "已解决"), ("已派单", "处理中", "已解决", "已关闭")])
def test_cannot_cancel_after_resolution(session, path):
    ticket = new_ticket(session)
    walk(session, ticket, *path)
    for cancel in (lambda: tickets.cancel_ticket(session, ticket),
                   lambda: tickets.change_status(session, ticket, "已取消", "agent:zhang")):
        with pytest.raises(NotCancellable) as info:
            cancel()
        assert info.value.code == "not_cancellable"
    assert ticket.status == path[-1]


def test_cancelled_ticket_cannot_be_cancelled_again(session):
    ticket = new_ticket(session)
    tickets.change_status(session, ticket, "已取消", "customer", note="不需要了", now=T0 + HOUR)
    assert history(ticket)[-1] == ("cancelled", "受理", "已取消")
    with pytest.raises(NotCancellable):
        tickets.cancel_ticket(session, ticket)


def test_reschedule(session):
    start = T0 + dt.timedelta(days=1)
    ticket = new_ticket(session, appointment_start=start, appointment_end=start + 3 * HOUR)
    new_start = T0 + dt.timedelta(days=5)
    tickets.reschedule_ticket(session, ticket, new_start, new_start + 4 * HOUR, now=T0 + HOUR)
    assert (ticket.appointment_start, ticket.appointment_end) == (new_start, new_start + 4 * HOUR)
    assert ticket.resolution_due == new_start + 4 * HOUR  # waiting for the customer is no breach
    assert history(ticket)[-1] == (
        "rescheduled", "2026-11-24T10:00+08:00/2026-11-24T13:00+08:00", "2026-11-28T10:00+08:00/2026-11-28T14:00+08:00",
    )
    with pytest.raises(InvalidRequest):
        tickets.reschedule_ticket(session, ticket, new_start, new_start - HOUR, now=T0)
    walk(session, ticket, "已派单", "处理中", "已解决")
    with pytest.raises(NotReschedulable):
        tickets.reschedule_ticket(session, ticket, new_start, new_start + HOUR, now=T0)


def test_change_address_keeps_the_old_one_in_the_history(session):
    ticket = new_ticket(session, address="上海市浦东新区张江路100弄5号601室")
    tickets.change_address(session, ticket, "上海市浦东新区张江路100弄5号602室", now=T0 + HOUR)
    assert ticket.address == "上海市浦东新区张江路100弄5号602室"
    assert history(ticket)[-1] == ("note", "上海市浦东新区张江路100弄5号601室", "上海市浦东新区张江路100弄5号602室")
    assert ticket.events[-1].note == "客户更正上门地址" and ticket.events[-1].actor == "customer"
    with pytest.raises(InvalidRequest):
        tickets.change_address(session, ticket, "  ", now=T0)
    walk(session, ticket, "已派单", "处理中", "已解决")
    with pytest.raises(NotAmendable):
        tickets.change_address(session, ticket, "杭州市西湖区文三路90号", now=T0)
    assert ticket.address == "上海市浦东新区张江路100弄5号602室"


def test_assign_in_progress_keeps_status_and_records_the_change(session):
    ticket = new_ticket(session)
    tickets.assign(session, ticket, "技师:王建军", "agent:zhang", now=T0)
    walk(session, ticket, "处理中")
    tickets.assign(session, ticket, "技师:李国强", "agent:zhang", group="厨电维修组", now=T0 + 2 * HOUR)
    assert (ticket.status, ticket.assignee, ticket.group_name) == ("处理中", "技师:李国强", "厨电维修组")
    assert history(ticket)[-1] == ("assigned", "维修服务部 / 空调维修组 / 技师:王建军", "维修服务部 / 厨电维修组 / 技师:李国强")
    walk(session, ticket, "已解决")
    with pytest.raises(InvalidTransition):
        tickets.assign(session, ticket, "技师:赵海涛", "agent:zhang")


def test_notes_and_escalation_are_recorded(session):
    ticket = new_ticket(session)
    tickets.add_note(session, ticket, "客户要求上午上门", "agent:li", now=T0)
    assert tickets.escalate_ticket(session, ticket, "VIP 客户", now=T0)
    assert not tickets.escalate_ticket(session, ticket, "VIP 客户", now=T0)  # nothing new: no event
    assert ticket.escalated and ticket.escalation_reason == "VIP 客户"
    assert history(ticket)[1:] == [("note", None, None), ("escalated", None, "VIP 客户")]


# --- urging ----------------------------------------------------------------------


def test_first_urge_in_time_does_not_escalate_second_does(session):
    ticket = new_ticket(session)
    first = tickets.urge_ticket(session, ticket, note="什么时候来？", now=T0 + HOUR)
    assert (first.overdue, first.urge_count, first.should_escalate) == (False, 1, False)
    assert not ticket.escalated and ticket.last_urged_at == T0 + HOUR
    second = tickets.urge_ticket(session, ticket, now=T0 + 2 * HOUR)
    assert (second.overdue, second.urge_count, second.should_escalate) == (False, 2, True)
    assert ticket.escalated and ticket.escalation_reason == "客户第2次催办"
    assert [kind for kind, _, _ in history(ticket)] == ["created", "urged", "urged", "escalated"]


def test_urging_an_overdue_ticket_escalates(session):
    ticket = new_ticket(session)  # first response due 24 h later
    result = tickets.urge_ticket(session, ticket, now=T0 + 25 * HOUR)
    assert result.overdue and result.should_escalate and result.urge_count == 1
    assert ticket.escalated and ticket.escalation_reason == "催办时工单已超时"


def test_resolved_tickets_cannot_be_urged(session):
    ticket = new_ticket(session)
    walk(session, ticket, "已派单", "处理中", "已解决")
    with pytest.raises(NotUrgeable):
        tickets.urge_ticket(session, ticket)
    assert ticket.urge_count == 0


# --- supervision -------------------------------------------------------------------


def test_overdue_tickets_for_supervisors(session):
    now = T0 + dt.timedelta(days=4)
    unanswered = new_ticket(session, phone="13900000011", now=now - 25 * HOUR)  # first response overdue
    late = new_ticket(session, phone="13900000012", now=T0)  # resolution (72 h) overdue
    tickets.assign(session, late, "技师:王建军", "agent:zhang", now=T0 + HOUR)
    tickets.add_note(session, late, "配件在途", "技师:王建军", now=now - HOUR)  # active, but late
    stalled = new_ticket(session, phone="13900000013", now=now - 60 * HOUR,
                         appointment_start=now + HOUR, appointment_end=now + 4 * HOUR)
    tickets.assign(session, stalled, "技师:王建军", "agent:zhang", now=now - 50 * HOUR)  # idle 50 h > 48 h
    fine = new_ticket(session, phone="13900000014", now=now - HOUR)
    emergency = new_ticket(session, phone="13900000015", now=now - 5 * HOUR, fault="燃气泄漏")
    resolved = new_ticket(session, phone="13900000016", now=T0)
    walk(session, resolved, "已派单", "处理中", "已解决")
    session.flush()

    found = tickets.overdue_tickets(session, now=now)
    assert found[0] is emergency  # most urgent first
    assert {t.id for t in found} == {unanswered.id, late.id, stalled.id, emergency.id}
    assert fine not in found and resolved not in found
    assert tickets.overdue_reasons(unanswered, now) == ["first_response_overdue"]
    assert tickets.overdue_reasons(late, now) == ["resolution_overdue"]
    assert tickets.overdue_reasons(stalled, now) == ["stalled"]
    assert tickets.overdue_reasons(resolved, now) == []


# --- ownership ----------------------------------------------------------------------


def test_lookups_enforce_ownership_without_leaking(session):
    mine = new_ticket(session, phone="13900000021")
    other = new_ticket(session, phone="13900000022")
    session.commit()
    owner = customers.find_customer_by_phone(session, "13900000021")
    number = mine.ticket_no
    assert tickets.get_ticket_for_customer(session, number, phone="+86 139-0000-0021") is mine
    assert tickets.get_ticket_for_customer(session, number.lower(), customer_id=owner.id) is mine
    assert tickets.get_ticket_for_customer(session, number, phone="13900000021", customer_id=owner.id) is mine

    errors = []
    for lookup in (
        lambda: tickets.get_ticket_for_customer(session, other.ticket_no, phone="13900000021"),  # someone else's
        lambda: tickets.get_ticket_for_customer(session, other.ticket_no, customer_id=owner.id),
        lambda: tickets.get_ticket_for_customer(session, "BX20200101-0001", phone="13900000021"),  # unknown
        lambda: tickets.get_ticket_for_customer(session, number, phone="13900000022", customer_id=owner.id),
    ):
        with pytest.raises(NotFound) as info:
            lookup()
        errors.append((info.value.code, info.value.message))
    assert set(errors) == {("not_found", "ticket not found")}  # foreign and unknown look the same
    with pytest.raises(InvalidTicketNo):
        tickets.get_ticket_for_customer(session, "BX-1", phone="13900000021")
    with pytest.raises(ValueError):
        tickets.get_ticket_for_customer(session, number)
    assert tickets.get_ticket(session, other.ticket_no) is other  # staff look-up


def test_list_recent_tickets(session):
    first = new_ticket(session, now=T0)
    second = new_ticket(session, now=T0 + HOUR)
    third = new_ticket(session, now=T0 + 2 * HOUR)
    tickets.cancel_ticket(session, third, now=T0 + 3 * HOUR)
    new_ticket(session, phone="13900000099")
    customer_id = first.customer_id
    assert tickets.list_recent_tickets(session, customer_id) == [third, second, first]
    assert tickets.list_recent_tickets(session, customer_id, limit=1) == [third]
    assert tickets.list_recent_tickets(session, customer_id, open_only=True) == [second, first]


def test_ticket_summary_is_plain_data(session):
    start = dt.datetime(2026, 11, 24, 14, tzinfo=TZ)
    ticket = new_ticket(session, product_model="KFR-35GW/BpR3", appointment_start=start,
                        appointment_end=start + 3 * HOUR)
    summary = tickets.ticket_summary(ticket, now=T0 + HOUR)
    assert summary == {
        "ticket_no": "BX20261123-0001", "type": "repair", "type_label": "报修", "status": "受理",
        "priority": "普通", "is_open": True, "overdue": False, "product": "空调",
        "product_model": "KFR-35GW/BpR3", "fault": "不制冷", "department": "维修服务部",
        "group": "空调维修组", "assignee": None, "created_at": "2026-11-23T10:00+08:00",
        "first_response_due": "2026-11-24T10:00+08:00", "resolution_due": "2026-11-26T10:00+08:00",
        "appointment_start": "2026-11-24T14:00+08:00", "appointment_end": "2026-11-24T17:00+08:00",
        "resolved_at": None, "closed_at": None, "urge_count": 0, "escalated": False,
    }
    assert tickets.ticket_summary(ticket, now=T0 + 25 * HOUR)["overdue"] is True
    assert session.execute(select(func.count(TicketEvent.id))).scalar_one() == 1
