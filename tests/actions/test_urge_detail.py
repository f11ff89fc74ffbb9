""""能不能快点" right after a repair ticket answered "我们承诺在 12月11日 08:00 前处理": the
72-hour resolution limit, read by the customer as a new promise three days later than the
call (12月8日 13:00) and the visit (12月8日 14:00–18:00) they had just been told of (widget
chat, 2026-12-07). Before anyone has called, the urge repeats that call and visit."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from actions import lookups
from kefu import db
from kefu.models.service import Ticket
from kefu.services import tickets
from kefu.services.tickets import TicketRequest
from moments import MONDAY_10_BEIJING
from tests.actions.test_actions import make_tracker, run

PHONE = "13812345678"


def filed_ticket(service_db) -> str:
    start = MONDAY_10_BEIJING + dt.timedelta(days=1, hours=4)  # Tuesday 14:00, the day after
    with db.session_scope(service_db) as session:
        return tickets.create_ticket(session, TicketRequest(
            type="repair", phone=PHONE, product="空调", fault="不制热", address="上海市浦东新区张杨路500号3楼",
            description="空调制热不行", appointment_start=start, appointment_end=start + dt.timedelta(hours=4))).ticket.ticket_no


def urge(ticket_no: str) -> dict:
    tracker = make_tracker({"ticket_no": ticket_no, "phone": PHONE, "ticket_op": "urge"}, text="能不能快点", intent="urge_ticket")
    messages, _ = run(lookups.ActionTicketOperation(), tracker)
    return next(m for m in messages if m.get("response") == "utter_urge_recorded")


def test_an_urge_before_the_call_repeats_the_call_and_the_visit(service_db, pinned_clock):
    message = urge(filed_ticket(service_db))
    assert "前与您联系" in message["detail"] and "预约上门时间" in message["detail"] and "14:00" in message["detail"]
    assert "处理完毕" not in message["detail"]


def test_an_urge_after_dispatch_names_the_resolution_time_limit(service_db, pinned_clock):
    ticket_no = filed_ticket(service_db)
    with db.session_scope(service_db) as session:
        session.execute(update(Ticket).where(Ticket.ticket_no == ticket_no).values(status="处理中"))
    message = urge(ticket_no)
    assert message["detail"].startswith("我们承诺在 ") and message["detail"].endswith("前处理完毕。")
