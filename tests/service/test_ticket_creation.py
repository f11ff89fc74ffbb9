import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kefu import db
from kefu.errors import InvalidPhone, InvalidRequest, InvalidTicketNo, NotFound
from kefu.models import Customer, Ticket, TicketEvent
from kefu.services import customers, numbering, tickets
from kefu.services.tickets import TicketRequest
from kefu.settings import service_config

TZ = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, tzinfo=TZ)


def at(day, hour, minute=0, month=11, year=2026):
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


def repair(phone="13900000001", **fields):
    return TicketRequest(**{"type": "repair", "phone": phone, "product": "空调", "fault": "不制冷",
                            "description": "空调不制冷", **fields})


def create(session, request, now=MONDAY_10):
    return tickets.create_ticket(session, request, now=now)


# --- numbering -------------------------------------------------------------------


def test_numbers_count_per_prefix_and_local_day(session):
    first = create(session, repair()).ticket
    second = create(session, repair()).ticket
    install = create(session, TicketRequest(type="installation", phone="13900000001", product="空调")).ticket
    # 2026-11-23 17:30 UTC is already the 24th in Shanghai: a new day, a new serial.
    next_day = create(session, repair(), now=dt.datetime(2026, 11, 23, 17, 30, tzinfo=dt.timezone.utc)).ticket
    assert [first.ticket_no, second.ticket_no, install.ticket_no, next_day.ticket_no] == [
        "BX20261123-0001", "BX20261123-0002", "AZ20261123-0001", "BX20261124-0001",
    ]


def test_taken_numbers_are_skipped(session):
    """A number already used (e.g. imported tickets, counter reset) is never reused."""
    created = create(session, repair()).ticket
    session.execute(numbering.TicketCounter.__table__.delete())  # the counter is lost
    session.flush()
    assert created.ticket_no == "BX20261123-0001"
    assert create(session, repair()).ticket.ticket_no == "BX20261123-0002"


@pytest.mark.parametrize(
    "raw, expected",
    [("BX20261122-0042", "BX20261122-0042"), (" bx20261122-0042 ", "BX20261122-0042"),
     ("ＴＳ２０２６１１２２－０００１", "TS20261122-0001"), ("AZ20261122-12345", "AZ20261122-12345")],
)
def test_parse_ticket_no_accepts(raw, expected):
    assert numbering.parse_ticket_no(raw, service_config()) == expected


@pytest.mark.parametrize(
    "raw", ["XX20261122-0042", "BX2026112-0042", "BX20261122-042", "BX20261322-0001", "BX202611220042", "", None]
)
def test_parse_ticket_no_rejects(raw):
    with pytest.raises(InvalidTicketNo) as info:
        numbering.parse_ticket_no(raw, service_config())
    assert info.value.code == "invalid_ticket_no"


# --- priority, routing, SLA --------------------------------------------------------


def test_normal_repair_routing_and_sla(session):
    result = create(session, repair(product_model="KFR-35GW/BpR3"))
    ticket = result.ticket
    assert result.created and result.notices == []
    assert (ticket.priority, ticket.status) == ("普通", "受理")
    assert (ticket.department, ticket.group_name) == ("维修服务部", "空调维修组")
    assert ticket.first_response_due == at(24, 10)  # 24 h standard
    assert ticket.resolution_due == at(26, 10)
    assert ticket.customer.phone == "13900000001"
    assert [(e.kind, e.to_value, e.actor) for e in ticket.events] == [("created", "受理", "bot")]


@pytest.mark.parametrize(
    "fault, description",
    [("燃气泄漏", "燃气灶打不着"), ("闻到煤气", ""), (None, "厨房里有很重的煤气味"), ("打火花", ""),
     ("不制冷", "插座冒火了")],
)
def test_emergency_gets_top_priority_and_shortest_sla(session, fault, description):
    late_night = at(23, 23)
    result = create(session, repair(product="燃气灶", fault=fault, description=description), now=late_night)
    ticket = result.ticket
    assert ticket.priority == "抢修" and "emergency" in result.notices
    assert (ticket.department, ticket.group_name) == ("维修服务部", "抢修组")
    # No business-hours shift for emergencies: 30 minutes, 4 hours -- even at night.
    assert ticket.first_response_due == late_night + dt.timedelta(minutes=30)
    assert ticket.resolution_due == late_night + dt.timedelta(hours=4)


def test_ordinary_text_is_not_an_emergency(session):
    result = create(session, repair(fault="不通电", description="家里明明有电，空调就是开不了机"))
    assert result.ticket.priority == "普通" and result.notices == []


def test_a_negated_danger_is_not_an_emergency(session):
    result = create(session, repair(fault="打不着火", description="没有燃气味，就是热水器打不着火"))
    assert result.ticket.priority == "普通" and "emergency" not in result.notices


def test_suggestions_mentioning_gas_are_not_emergencies(session):
    result = create(session, TicketRequest(type="suggestion", description="建议燃气灶加一个燃气泄漏报警"))
    assert result.ticket.priority == "普通" and result.ticket.customer is None
    assert (result.ticket.department, result.ticket.group_name) == ("客户体验部", "建议受理组")


def test_repeat_complaint_within_30_days_is_high(session):
    complaint = TicketRequest(type="complaint", phone="13900000002", description="师傅没按时上门")
    first = create(session, complaint, now=MONDAY_10 - dt.timedelta(days=31))
    assert first.ticket.priority == "普通" and first.notices == []
    second = create(session, complaint, now=MONDAY_10)  # 31 days later: outside the window
    assert second.ticket.priority == "普通" and second.notices == []
    third = create(session, complaint, now=MONDAY_10 + dt.timedelta(days=2))
    assert third.ticket.priority == "高" and third.notices == ["repeat_complaint"]
    assert (third.ticket.department, third.ticket.group_name) == ("客户关系部", "投诉处理组")
    assert third.ticket.first_response_due == third.ticket.created_at + dt.timedelta(hours=4)


def test_third_repair_of_the_same_product_is_high(session):
    phone = "13900000003"
    for days_ago in (100, 50):
        assert create(session, repair(phone), now=MONDAY_10 - dt.timedelta(days=days_ago)).notices == []
    cancelled = create(session, repair(phone), now=MONDAY_10 - dt.timedelta(days=10)).ticket
    tickets.cancel_ticket(session, cancelled, now=MONDAY_10 - dt.timedelta(days=9))
    other_product = create(session, repair(phone, product="冰箱"))
    assert other_product.notices == []  # other products and cancelled tickets do not count
    third = create(session, repair(phone))
    assert third.ticket.priority == "高" and third.notices == ["third_repair"]


def test_vip_tier_raises_priority(session):
    customer, _ = customers.get_or_create_customer(session, "13900000004")
    customer.tier = "VIP"
    result = create(session, repair(customer_id=customer.id, phone=None))
    assert result.ticket.priority == "高" and result.notices == ["customer_tier"]


def test_due_times_outside_business_hours_move_to_the_next_opening(session):
    evening = create(session, repair(), now=at(23, 21)).ticket
    assert evening.first_response_due == at(25, 8)  # 24th 21:00 is after closing
    assert evening.resolution_due == at(27, 8)  # 26th 21:00 likewise
    # 2027-02-06 is configured closed: the first response moves to the 8th, 08:00.
    before_holiday = create(session, repair(), now=dt.datetime(2027, 2, 5, 10, tzinfo=TZ)).ticket
    assert before_holiday.first_response_due == dt.datetime(2027, 2, 8, 8, tzinfo=TZ)
    assert before_holiday.resolution_due == dt.datetime(2027, 2, 8, 10, tzinfo=TZ)


def test_a_later_appointment_extends_the_resolution_target(session):
    ticket = create(session, repair(appointment_start=at(30, 14), appointment_end=at(30, 17))).ticket
    assert ticket.resolution_due == at(30, 17)
    assert (ticket.appointment_start, ticket.appointment_end) == (at(30, 14), at(30, 17))


def test_a_visit_before_the_response_target_is_confirmed_before_it_starts(session):
    """Booked at 11:30 for 13:00 the same day: the call comes by 12:00, not "within 24 hours"
    (chat probe: "下午" booked for today while the bot promised a call by tomorrow noon)."""
    now = at(23, 11, 30)
    ticket = create(session, repair(appointment_start=at(23, 13), appointment_end=at(23, 18)), now=now).ticket
    assert ticket.first_response_due == at(23, 12)
    soon = create(session, repair(phone="13900000002", appointment_start=at(23, 12), appointment_end=at(23, 13)), now=now).ticket
    assert soon.first_response_due == now  # never before the ticket exists
    later = create(session, repair(phone="13900000003", appointment_start=at(25, 9), appointment_end=at(25, 12)), now=now).ticket
    assert later.first_response_due == at(24, 11, 30)  # the 24-hour standard when the visit is later


def test_product_is_canonical_or_guessed_from_the_model(session):
    ticket = create(session, repair(product=None, product_model="xqg100-b14")).ticket
    assert ticket.product == "洗衣机" and ticket.group_name == "洗衣机维修组"
    assert create(session, repair(product="冷气机")).ticket.product == "空调"
    assert create(session, repair(product=None, product_model="ZZ-1")).ticket.product is None


def test_extra_data_is_kept(session):
    request = TicketRequest(type="return", phone="13900000005", description="门上有划痕",
                            extra={"return_kind": "退货", "order_no": "DD202611150042"})
    ticket = create(session, request).ticket
    assert ticket.extra["return_kind"] == "退货" and ticket.extra["order_no"] == "DD202611150042"
    assert ticket.ticket_no.startswith("TH20261123-")


@pytest.mark.parametrize(
    "request_fields, error, field",
    [
        ({"type": "gossip", "phone": "13900000001"}, InvalidRequest, "type"),
        ({"type": "repair", "product": "空调"}, InvalidRequest, "phone"),
        ({"type": "repair", "phone": "13900000001", "product": "飞机"}, InvalidRequest, "product"),
        ({"type": "repair", "phone": "13900000001", "appointment_start": at(24, 9)}, InvalidRequest, "appointment"),
        ({"type": "repair", "phone": "13900000001", "appointment_start": at(24, 12),
          "appointment_end": at(24, 9)}, InvalidRequest, "appointment"),
        ({"type": "repair", "phone": "13900000001", "appointment_start": at(20, 9),
          "appointment_end": at(20, 12)}, InvalidRequest, "appointment"),
        ({"type": "repair", "phone": "12345"}, InvalidPhone, None),
        ({"type": "repair", "customer_id": 987654}, NotFound, None),
    ],
)
def test_invalid_requests(session, request_fields, error, field):
    with pytest.raises(error) as info:
        create(session, TicketRequest(**request_fields))
    if field:
        assert info.value.details["field"] == field
    assert session.execute(select(func.count(Ticket.id))).scalar_one() == 0


def test_same_idempotency_key_returns_the_same_ticket(session):
    first = create(session, repair(idempotency_key="conv-1:repair_form:1", product="燃气灶", fault="燃气泄漏"))
    again = create(session, repair(idempotency_key="conv-1:repair_form:1", product="燃气灶", fault="燃气泄漏"))
    assert first.created and not again.created
    assert again.ticket.id == first.ticket.id and again.notices == first.notices == ["emergency"]
    other = create(session, repair(idempotency_key="conv-1:repair_form:2"))
    assert other.created and other.ticket.id != first.ticket.id
    assert session.execute(select(func.count(Ticket.id))).scalar_one() == 2
    assert session.execute(select(func.count(TicketEvent.id))).scalar_one() == 2


def test_the_same_request_after_its_ticket_was_cancelled_makes_a_new_ticket(session):
    """"取消吧" … "还是装吧": the same installation again was answered with the cancelled
    ticket's number, "不会重复建单" (chat probe, 2026-12-08)."""
    first = create(session, repair(idempotency_key="conv-1:installation:1"))
    tickets.cancel_ticket(session, first.ticket, reason="客户取消")
    again = create(session, repair(idempotency_key="conv-1:installation:1"))
    assert again.created and again.ticket.id != first.ticket.id
    assert first.ticket.extra["released_idempotency_key"] == "conv-1:installation:1"
    retry = create(session, repair(idempotency_key="conv-1:installation:1"))  # a retry of the new request
    assert not retry.created and retry.ticket.id == again.ticket.id


# --- concurrency -------------------------------------------------------------------


def _in_parallel(count, work):
    barrier = threading.Barrier(count)

    def run(index):
        barrier.wait()  # all threads start together
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_50_concurrent_creations_get_50_unique_numbers(clean_db):
    def work(index):
        with db.session_scope(clean_db) as session:
            # Ten customers, five tickets each: customer creation races too.
            request = repair(phone=f"1390000{index % 10:04d}", description=f"并发测试 {index}")
            return tickets.create_ticket(session, request, now=MONDAY_10).ticket.ticket_no

    numbers = _in_parallel(50, work)
    assert len(set(numbers)) == 50
    assert sorted(numbers) == [f"BX20261123-{serial:04d}" for serial in range(1, 51)]
    with db.session_scope(clean_db) as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 50
        assert session.execute(select(func.count(Customer.id))).scalar_one() == 10
        assert session.execute(select(func.count(TicketEvent.id))).scalar_one() == 50


def test_concurrent_retries_with_one_idempotency_key_make_one_ticket(clean_db):
    def work(index):
        with db.session_scope(clean_db) as session:
            result = tickets.create_ticket(session, repair(idempotency_key="conv-9:1"), now=MONDAY_10)
            return result.ticket.ticket_no, result.created

    results = _in_parallel(10, work)
    assert len({number for number, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with db.session_scope(clean_db) as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1
