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


def test_a_repair_request_that_chases_a_booked_visit_urges_it():
    """"人呢？？？说好的上午来修空调 现在都下午了" started a new repair form, and "不是要新报修！！！
    我已经报过了" was taken as its answer (chat probe, 2026-12-08)."""
    from actions.requests import ActionTriageRepair
    from tests.actions.test_dialogue_actions import action, run, tracker_of, user

    for text in ("人呢？？？说好的上午来修空调 现在都下午了 等了好久了喂", "不是新报修 我已经报过了 师傅还没来"):
        messages, events = run(ActionTriageRepair(), tracker_of([action("action_listen"), user(text, intent="report_repair")]))
        assert messages == [] and events[-1] == {"event": "followup", "name": "ticket_lookup_form", "timestamp": None}, text
        assert {"event": "slot", "name": "ticket_op", "value": "urge", "timestamp": None} in events
    # a first report, and an emergency even when it chases, are repairs
    messages, events = run(ActionTriageRepair(), tracker_of([action("action_listen"), user("空调不制冷了 想报修", intent="report_repair")]))
    assert [m.get("response") for m in messages] == ["utter_repair_start"]
    messages, events = run(ActionTriageRepair(), tracker_of([action("action_listen"), user("说好的师傅还没来 现在燃气灶有燃气味", intent="report_repair")]))
    assert {"event": "slot", "name": "emergency", "value": True, "timestamp": None} in events
