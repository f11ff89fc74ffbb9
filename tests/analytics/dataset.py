"""A small, hand-computed data set for the analytics figures (product clock: Monday 2026-12-07 10:00 Beijing).

Period "7d" = 2026-12-01 00:00 .. 2026-12-08 00:00 Beijing. Every expected figure in
test_queries.py and test_analytics_browser.py is worked out by hand in the comments here.

Tracker (conversations with a customer message in the period: c1, c2, c3 -> 3; c4 is older)
  c1 12-07 09:00  greet, report_repair, [repair_form: product, phone] inform x2, form completed
  c2 12-06 15:00  nlu_fallback "积分能换什么" twice; handed to a person (h1)
  c3 12-05 10:00  complain, [complaint_form: complaint_detail] stop_form, action_deactivate_loop
  c4 11-20 10:00  faq (outside)
  -> 8 customer messages, 2 fallbacks (25.0 %), 1 conversation handed over, containment 2/3 = 66.7 %
  Confidence: fallbacks 0.35, every other message 0.9 -> "0.3–0.4" 2 (25.0 %), "0.9–1.0" 6 (75.0 %)
  Days 12-01..12-06 are read from the per-day rollups, 12-07 (today) from the raw events.
Handoffs (in period h1, h2, h3; h4 older)
  h1 c2 fallback_twice  综合    12-06 15:01, claimed +120 s, resolved +600 s  (赵主管)
  h2 c5 human_request   综合    12-07 09:30, cancelled unclaimed after 180 s
  h3 c6 complaint_severe 投诉专席 12-05 10:00, claimed +360 s, resolved +1200 s (赵主管)
  -> waits 120, 360 s: p50 2.0 min, p90 6.0 min; abandoned 1 of 3 (33.3 %); handling avg 15.0 min
Tickets (created in period t1, t2, t3, t5, t6; t4 older)
  t1 repair 普通 12-01 10:00, responded 12:00 (on time), resolved 12-03 10:00 (on time), reopened once, 已关闭
  t2 repair 抢修 12-06 20:00, responded 20:45 (late: due 20:30), resolved 12-07 01:00 (late: due 00:00), 2 urges
  t3 complaint 高 customer A 12-05 11:00, nothing done: both SLAs overdue, 1 urge, status 受理
  t4 complaint 高 customer A 11-20 09:00 (outside): makes t3 a repeat complaint (15 days)
  t5 installation 普通 12-07 09:00, not yet due: pending
  t6 repair 普通 12-02 09:00, cancelled: no SLA figures
Surveys: t1 5 (12-03), t2 2 (12-07 02:00), t4 1 (11-22, outside)
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, delete

from desk.auth import create_agent
from kefu import db
from kefu.analytics.queries import tracker_events, tracker_metadata
from kefu.models import Customer, Ticket
from kefu.models.desk import Handoff
from kefu.models.service import Survey, TicketEvent

BEIJING = ZoneInfo("Asia/Shanghai")
PASSWORD = "correct horse"


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=BEIJING)


def _tracker_rows():
    rows = []

    def add(sender, moment, type_name, intent=None, action=None, **data):
        ts = moment.timestamp()
        if type_name == "user":  # as Rasa stores it (the trainer's review page parses these rows too)
            confidence = 0.35 if intent == "nlu_fallback" else 0.9
            data.setdefault("parse_data", {"text": data.get("text"), "intent": {"name": intent, "confidence": confidence},
                                           "entities": []})
        rows.append({"sender_id": sender, "type_name": type_name, "timestamp": ts, "intent_name": intent,
                     "action_name": action, "data": json.dumps({"event": type_name, "timestamp": ts, **data},
                                                               ensure_ascii=False)})

    t = at(12, 7, 9)
    add("c1", t, "user", "greet", text="你好")
    add("c1", t + dt.timedelta(seconds=10), "user", "report_repair", text="空调不制冷")
    add("c1", t + dt.timedelta(seconds=11), "active_loop", action="repair_form", name="repair_form")
    add("c1", t + dt.timedelta(seconds=12), "slot", action="requested_slot", name="requested_slot", value="product")
    add("c1", t + dt.timedelta(seconds=20), "user", "inform", text="空调")
    add("c1", t + dt.timedelta(seconds=21), "slot", action="requested_slot", name="requested_slot", value="phone")
    add("c1", t + dt.timedelta(seconds=30), "user", "inform", text="13800000000")
    add("c1", t + dt.timedelta(seconds=31), "active_loop", name=None)
    t = at(12, 6, 15)
    add("c2", t, "user", "nlu_fallback", text="积分能换什么")
    add("c2", t + dt.timedelta(seconds=1), "action", action="action_default_fallback", name="action_default_fallback")
    add("c2", t + dt.timedelta(seconds=20), "user", "nlu_fallback", text="积分能换什么")
    t = at(12, 5, 10)
    add("c3", t, "user", "complain", text="师傅态度太差了")
    add("c3", t + dt.timedelta(seconds=1), "active_loop", action="complaint_form", name="complaint_form")
    add("c3", t + dt.timedelta(seconds=2), "slot", action="requested_slot", name="requested_slot",
        value="complaint_detail")
    add("c3", t + dt.timedelta(seconds=30), "user", "stop_form", text="算了")
    add("c3", t + dt.timedelta(seconds=31), "action", action="action_deactivate_loop", name="action_deactivate_loop")
    add("c3", t + dt.timedelta(seconds=31), "active_loop", name=None)
    add("c4", at(11, 20, 10), "user", "faq", text="保修多久")
    return rows


def load_tracker(tracker_url: str) -> None:
    engine = create_engine(tracker_url, future=True)
    with engine.begin() as connection:
        tracker_metadata.create_all(connection)
        connection.execute(delete(tracker_events))
        connection.execute(tracker_events.insert(), _tracker_rows())
    engine.dispose()


def _ticket(session, no, type_, priority, created, first_due, resolution_due, status, group, **fields):
    ticket = Ticket(ticket_no=no, type=type_, priority=priority, status=status, group_name=group,
                    created_at=created, updated_at=created, first_response_due=first_due,
                    resolution_due=resolution_due, description="", **fields)
    session.add(ticket)
    session.flush()
    return ticket


def load_service(url: str) -> None:
    with db.session_scope(url) as session:
        boss = create_agent(session, username="boss", display_name="赵主管", password=PASSWORD,
                            role="supervisor", groups=["投诉专席", "综合"])
        create_agent(session, username="zhang", display_name="张敏", password=PASSWORD, role="agent", groups=["综合"])
        create_agent(session, username="tina", display_name="陈训练", password=PASSWORD, role="trainer", groups=[])
        a = Customer(phone="13900000001", name="甲", created_at=at(1, 1, 9))
        b = Customer(phone="13900000002", name="乙", created_at=at(1, 1, 9))
        c = Customer(phone="13900000003", name="丙", created_at=at(1, 1, 9))
        session.add_all([a, b, c])
        session.flush()
        h = dt.timedelta(hours=1)
        t1 = _ticket(session, "BX20261201-0001", "repair", "普通", at(12, 1, 10), at(12, 2, 10), at(12, 4, 10), "已关闭",
                     "维修调度组", assignee="技师:王建军", channel="web", customer_id=a.id,
                     first_responded_at=at(12, 1, 12), resolved_at=at(12, 3, 10), closed_at=at(12, 4, 10))
        t2 = _ticket(session, "BX20261206-0001", "repair", "抢修", at(12, 6, 20), at(12, 6, 20, 30), at(12, 7, 0),
                     "已解决", "抢修组", assignee="技师:李国强", channel="phone", customer_id=b.id,
                     first_responded_at=at(12, 6, 20, 45), resolved_at=at(12, 7, 1), urge_count=2)
        _ticket(session, "TS20261205-0001", "complaint", "高", at(12, 5, 11), at(12, 5, 15), at(12, 6, 11), "受理",
                "投诉处理组", channel="wechat", customer_id=a.id, urge_count=1)
        t4 = _ticket(session, "TS20261120-0001", "complaint", "高", at(11, 20, 9), at(11, 20, 13), at(11, 21, 9),
                     "已关闭", "投诉处理组", channel="wechat", customer_id=a.id, first_responded_at=at(11, 20, 10),
                     resolved_at=at(11, 21, 8), closed_at=at(11, 22, 9))
        _ticket(session, "AZ20261207-0001", "installation", "普通", at(12, 7, 9), at(12, 8, 9), at(12, 10, 9), "受理",
                "安装调度组", channel="web", customer_id=c.id)
        _ticket(session, "BX20261202-0001", "repair", "普通", at(12, 2, 9), at(12, 3, 9), at(12, 5, 9), "已取消",
                "维修调度组", channel="web", customer_id=c.id, closed_at=at(12, 2, 10))
        session.add(TicketEvent(ticket_id=t1.id, at=at(12, 3, 12), actor="customer", kind="status_changed",
                                from_value="已解决", to_value="处理中"))
        session.add_all([Survey(ticket_id=t1.id, score=5, created_at=at(12, 3, 12)),
                         Survey(ticket_id=t2.id, score=2, created_at=at(12, 7, 2)),
                         Survey(ticket_id=t4.id, score=1, created_at=at(11, 22, 9))])

        def handoff(conv, rule, group, created, status, claimed=None, done=None, agent=None):
            session.add(Handoff(conversation_id=conv, rule_id=rule, reason=rule, group_name=group, priority="普通",
                                status=status, summary={}, created_at=created, updated_at=done or created,
                                claimed_at=claimed, resolved_at=done, claimed_by_id=agent))

        s = dt.timedelta(seconds=1)
        handoff("c2", "fallback_twice", "综合", at(12, 6, 15, 1), "resolved", at(12, 6, 15, 1) + 120 * s,
                at(12, 6, 15, 1) + 720 * s, boss.id)
        handoff("c5", "human_request", "综合", at(12, 7, 9, 30), "cancelled", None, at(12, 7, 9, 33))
        handoff("c6", "complaint_severe", "投诉专席", at(12, 5, 10), "resolved", at(12, 5, 10) + 360 * s,
                at(12, 5, 10) + 1560 * s, boss.id)
        handoff("c7", "human_request", "综合", at(11, 1, 10), "resolved", at(11, 1, 10, 5), at(11, 1, 10, 20), boss.id)
        del h
