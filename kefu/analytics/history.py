"""A realistic stretch of service history for the analytics dashboard (``./kefu.sh seed --history 365``).

~275 conversations a day (about 100k a year): tracker events (messages, intents, forms
started, finished or abandoned), handoffs with waits and outcomes, tickets with SLA
due times from config/service.yml, events, urges, reopenings and surveys. Written with
bulk inserts (Core executemany), so a year takes a minute or two, not hours.

Deterministic (fixed random seed); ends at kefu.clock.now(). History tickets are
numbered ``<prefix><date>-H<serial>`` so they never collide with live numbering; a
second run is refused while history rows exist (``--reset`` wipes everything first).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any, Dict, List, Optional

from sqlalchemy import func, select, text

from kefu import clock, db, settings
from kefu.analytics import rollup
from kefu.analytics.queries import ensure_tracker_indexes, tracker_events, tracker_metadata, tracker_url
from kefu.models.desk import Agent, AgentGroup, Handoff, HandoffEvent
from kefu.models.service import Customer, Survey, Ticket, TicketEvent

RANDOM_SEED = 20261201
PER_DAY = 275
HOUR_WEIGHTS = [1, 1, 0, 0, 0, 0, 1, 3, 8, 12, 13, 12, 9, 10, 12, 12, 11, 10, 9, 10, 9, 7, 4, 2]
CHANNELS = ("web", "wechat", "app")
CUSTOMERS = 3000
INTENTS = [  # (intent, weight, form or None, ticket type or None, sample texts)
    ("query_order", 16, "order_lookup_form", None, ["我的快递到哪了", "订单什么时候发货", "查一下我的订单"]),
    ("report_repair", 15, "repair_form", "repair", ["空调不制冷了", "洗衣机不脱水", "冰箱不制冷", "热水器不出热水"]),
    ("faq", 14, None, None, ["保修期多久", "安装收费吗", "怎么清洗滤网", "以旧换新怎么参加"]),
    ("query_ticket", 10, "ticket_lookup_form", None, ["师傅什么时候上门", "查一下我的报修进度"]),
    ("request_installation", 8, "installation_form", "installation", ["新买的空调约安装", "热水器需要安装"]),
    ("urge_ticket", 6, None, None, ["师傅怎么还没来", "能不能快点处理"]),
    ("complain", 5, "complaint_form", "complaint", ["师傅态度太差了", "修了两次还是坏的，我要投诉"]),
    ("request_return", 4, "return_form", "return", ["我要退货", "收到的冰箱有划痕要换货"]),
    ("request_human", 5, None, None, ["转人工", "我要找人工客服"]),
    ("give_suggestion", 2, None, "suggestion", ["建议你们周末也能上门", "希望app能看到师傅位置"]),
    ("greet", 5, None, None, ["你好", "在吗"]),
    ("nlu_fallback", 8, None, None, ["那个补贴到底怎么算的", "我家那个东西又响了", "上回说的事怎么样了",
                                     "能开发票抬头写公司吗", "你们和京东那个是一家吗", "积分能换什么"]),
]
FORM_SLOTS = {
    "repair_form": ["product", "product_model", "fault_description", "address", "phone", "appointment_time"],
    "installation_form": ["product", "install_kind", "address", "phone", "appointment_time"],
    "complaint_form": ["complaint_detail", "complaint_demand", "phone"],
    "return_form": ["order_no", "return_kind", "return_reason", "phone"],
    "ticket_lookup_form": ["ticket_no", "phone"],
    "order_lookup_form": ["order_no", "phone"],
}
RULES = [("human_request", "综合", 40), ("fallback_twice", "综合", 20), ("complaint_angry", "投诉专席", 12),
         ("complaint_severe", "投诉专席", 5), ("urge_overdue", "维修调度", 10), ("vip_human_request", "VIP专席", 6),
         ("form_stalled", "综合", 7)]
AGENTS = [("h_zhou", "周静", "综合"), ("h_wu", "吴磊", "综合"), ("h_zheng", "郑芳", "投诉专席"),
          ("h_sun", "孙涛", "维修调度"), ("h_qian", "钱敏", "VIP专席"), ("h_feng", "冯雪", "投诉专席")]
TECHNICIANS = ["技师:王建军", "技师:李国强", "技师:赵海", "技师:陈亮", "技师:刘洋", "技师:黄伟"]
CHUNK = 20000


class HistoryExists(RuntimeError):
    pass


def _insert(connection, table, rows: List[Dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        connection.execute(table.insert(), rows[i:i + CHUNK])


def _next_id(session, model) -> int:
    return (session.execute(select(func.max(model.id))).scalar() or 0) + 1


def _fix_sequences(connection, tables: List[str]) -> None:
    if connection.dialect.name != "postgresql":
        return
    for name in tables:
        connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE((SELECT MAX(id) FROM {name}), 1))"))


def seed_history(days: int, url: Optional[str] = None, tracker: Optional[str] = None,
                 end: Optional[dt.datetime] = None, per_day: int = PER_DAY, rollups: bool = True) -> Dict[str, int]:
    """Seed ``days`` of history ending at ``end``; then (``rollups``) roll up its complete days."""
    url = url or settings.database_url()
    tracker = tracker or tracker_url(url)
    end = end or clock.now()
    start = end - dt.timedelta(days=days)
    rng = random.Random(RANDOM_SEED)
    service = settings.service_config()
    sla = {p: s for p, s in service.sla.items()}
    db.migrate(url)
    counts = {"conversations": 0, "tracker_events": 0, "tickets": 0, "ticket_events": 0, "handoffs": 0,
              "surveys": 0}
    engine = db.get_engine(tracker)
    with engine.begin() as tracker_connection, db.session_scope(url) as session:
        tracker_metadata.create_all(tracker_connection)
        written = 0
        if session.execute(select(Ticket.id).where(Ticket.ticket_no.like("%-H%")).limit(1)).first():
            raise HistoryExists("history already seeded (use --reset to start over)")
        # customers and historic agents (disabled accounts: they cannot log in)
        customer_id = _next_id(session, Customer)
        customers = []
        for i in range(CUSTOMERS):
            customers.append({"id": customer_id + i, "phone": f"170{i:08d}", "name": f"历史客户{i:04d}",
                              "tier": rng.choices(["普通", "银卡", "金卡", "VIP"], [70, 18, 8, 4])[0],
                              "city": "北京市", "created_at": start - dt.timedelta(days=30)})
        agent_id = _next_id(session, Agent)
        agents = [{"id": agent_id + i, "username": u, "display_name": n, "password_hash": "!disabled",
                   "role": "agent", "active": False, "created_at": start} for i, (u, n, _) in enumerate(AGENTS)]
        agent_groups = [{"agent_id": agent_id + i, "group_name": g} for i, (_, _, g) in enumerate(AGENTS)]
        agents_by_group: Dict[str, List[int]] = {}
        for i, (_, _, g) in enumerate(AGENTS):
            agents_by_group.setdefault(g, []).append(agent_id + i)

        ticket_id, handoff_id = _next_id(session, Ticket), _next_id(session, Handoff)
        tickets: List[Dict[str, Any]] = []
        ticket_events: List[Dict[str, Any]] = []
        surveys: List[Dict[str, Any]] = []
        handoffs: List[Dict[str, Any]] = []
        handoff_events: List[Dict[str, Any]] = []
        tracker_rows: List[Dict[str, Any]] = []
        serials: Dict[str, int] = {}
        intent_weights = [w for _, w, *_ in INTENTS]
        rule_weights = [w for *_, w in RULES]

        def event(sender: str, at: dt.datetime, type_name: str, data: Dict[str, Any],
                  intent: Optional[str] = None, action: Optional[str] = None) -> None:
            data = {"event": type_name, "timestamp": at.timestamp(), **data}
            tracker_rows.append({"sender_id": sender, "type_name": type_name, "timestamp": at.timestamp(),
                                 "intent_name": intent, "action_name": action,
                                 "data": json.dumps(data, ensure_ascii=False)})
            if len(tracker_rows) >= CHUNK:  # keep memory flat: a year is ~1M events
                flush_tracker()

        def flush_tracker() -> None:
            nonlocal written
            _insert(tracker_connection, tracker_events, tracker_rows)
            written += len(tracker_rows)
            tracker_rows.clear()

        def user(sender: str, at: dt.datetime, intent: str, words: str) -> None:
            confidence = round(rng.uniform(0.2, 0.55), 3) if intent == "nlu_fallback" else round(rng.uniform(0.6, 0.99), 3)
            event(sender, at, "user", {"text": words, "input_channel": "socketio",
                                       "parse_data": {"text": words, "intent": {"name": intent, "confidence": confidence},
                                                      "entities": []}}, intent=intent)

        def add_ticket(ticket_type: str, created: dt.datetime, customer: int, channel: str, conv: str) -> None:
            nonlocal ticket_id
            prefix = service.ticket_types[ticket_type].prefix
            local_day = created.astimezone(service.tz).strftime("%Y%m%d")
            serials[prefix + local_day] = serials.get(prefix + local_day, 0) + 1
            priority = "抢修" if ticket_type == "repair" and rng.random() < 0.03 else (
                "高" if ticket_type == "complaint" or rng.random() < 0.12 else "普通")
            rule = sla[priority]
            first_due = created + dt.timedelta(minutes=rule.first_response_minutes)
            resolution_due = created + dt.timedelta(hours=rule.resolution_hours)
            age_h = (end - created).total_seconds() / 3600
            group = service.ticket_types[ticket_type].group
            respond_after = dt.timedelta(minutes=rule.first_response_minutes * rng.choice((0.2, 0.4, 0.7, 0.9, 1.3)))
            first = created + respond_after if created + respond_after < end else None
            resolve_after = dt.timedelta(hours=rule.resolution_hours * rng.choice((0.2, 0.4, 0.6, 0.8, 0.95, 1.4)))
            resolved = created + resolve_after if created + resolve_after < end and rng.random() < 0.95 else None
            cancelled = resolved is None and age_h > 200 and rng.random() < 0.5
            status = "已取消" if cancelled else ("受理" if first is None else "处理中")
            closed = None
            if resolved:
                status = "已解决"
                if resolved + dt.timedelta(days=2) < end:
                    status, closed = "已关闭", resolved + dt.timedelta(days=2)
            elif cancelled:
                closed = created + dt.timedelta(hours=rng.randint(2, 48))
            urges = rng.choices((0, 1, 2, 3), (80, 12, 6, 2))[0]
            tid = ticket_id
            ticket_id += 1
            tickets.append({
                "id": tid, "ticket_no": f"{prefix}{local_day}-H{serials[prefix + local_day]:04d}", "type": ticket_type,
                "customer_id": customer, "description": "历史工单", "priority": priority, "status": status,
                "department": service.ticket_types[ticket_type].department, "group_name": group,
                "assignee": rng.choice(TECHNICIANS) if first else None, "first_response_due": first_due,
                "resolution_due": resolution_due, "first_responded_at": first, "urge_count": urges,
                "escalated": False, "conversation_id": conv, "channel": channel, "extra": {},
                "created_at": created, "updated_at": closed or resolved or first or created,
                "resolved_at": resolved, "closed_at": closed,
            })
            ticket_events.append({"ticket_id": tid, "at": created, "actor": "bot", "kind": "created", "note": None,
                                  "from_value": None, "to_value": "受理"})
            if first:
                ticket_events.append({"ticket_id": tid, "at": first, "actor": "agent:dispatch", "kind": "status_changed",
                                      "from_value": "受理", "to_value": "处理中", "note": None})
            if resolved:
                ticket_events.append({"ticket_id": tid, "at": resolved, "actor": "技师", "kind": "status_changed",
                                      "from_value": "处理中", "to_value": "已解决", "note": None})
                if rng.random() < 0.04 and resolved + dt.timedelta(hours=5) < end:
                    ticket_events.append({"ticket_id": tid, "at": resolved + dt.timedelta(hours=5), "actor": "customer",
                                          "kind": "status_changed", "from_value": "已解决", "to_value": "处理中",
                                          "note": "客户反馈问题复发"})
                if rng.random() < 0.6 and resolved + dt.timedelta(hours=20) < end:
                    score = rng.choices((5, 4, 3, 2, 1), (55, 25, 10, 6, 4))[0]
                    surveys.append({"ticket_id": tid, "score": score, "comment": None,
                                    "created_at": resolved + dt.timedelta(hours=rng.randint(1, 20))})
            for u in range(urges):
                ticket_events.append({"ticket_id": tid, "at": created + dt.timedelta(hours=u + 1), "actor": "customer",
                                      "kind": "urged", "from_value": None, "to_value": None, "note": None})

        day0 = start.astimezone(service.tz).date()
        for d in range(days + 1):
            day = day0 + dt.timedelta(days=d)
            n = int(per_day * rng.uniform(0.8, 1.2) * (0.85 if day.isoweekday() >= 6 else 1.0))
            for _ in range(n):
                hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
                at = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)),
                                         tzinfo=service.tz).astimezone(dt.timezone.utc)
                if at < start or at >= end - dt.timedelta(minutes=5):
                    continue
                counts["conversations"] += 1
                sender = f"h{counts['conversations']:07d}"
                customer = customers[rng.randrange(CUSTOMERS)]["id"]
                channel = rng.choice(CHANNELS)
                intent, _, form, ticket_type, texts = INTENTS[rng.choices(range(len(INTENTS)), intent_weights)[0]]
                t = at
                user(sender, t, "greet", "你好")
                event(sender, t + dt.timedelta(seconds=1), "action", {"name": "utter_greet"}, action="utter_greet")
                t += dt.timedelta(seconds=rng.randint(5, 40))
                user(sender, t, intent, rng.choice(texts))
                escalate = intent == "request_human" or (intent == "nlu_fallback" and rng.random() < 0.35)
                if form:
                    event(sender, t + dt.timedelta(seconds=1), "active_loop", {"name": form}, action=form)
                    slots = FORM_SLOTS[form]
                    stop_at = len(slots) if rng.random() < 0.78 else rng.randrange(len(slots))
                    for i, slot in enumerate(slots[:stop_at + 1] if stop_at < len(slots) else slots):
                        t += dt.timedelta(seconds=rng.randint(10, 60))
                        event(sender, t, "slot", {"name": "requested_slot", "value": slot}, action="requested_slot")
                        if i == stop_at:
                            break
                        user(sender, t + dt.timedelta(seconds=5), "inform", "好的")
                    t += dt.timedelta(seconds=20)
                    if stop_at >= len(slots):
                        event(sender, t, "active_loop", {"name": None})
                        if ticket_type:
                            add_ticket(ticket_type, t, customer, channel, sender)
                    else:
                        user(sender, t, "stop_form", "算了不弄了")
                        event(sender, t + dt.timedelta(seconds=1), "action", {"name": "action_deactivate_loop"},
                              action="action_deactivate_loop")
                        event(sender, t + dt.timedelta(seconds=1), "active_loop", {"name": None})
                        escalate = escalate or rng.random() < 0.3
                elif ticket_type:
                    add_ticket(ticket_type, t, customer, channel, sender)
                if intent == "nlu_fallback":
                    event(sender, t + dt.timedelta(seconds=1), "action", {"name": "action_default_fallback"},
                          action="action_default_fallback")
                if not escalate and rng.random() < 0.06:
                    escalate = True
                if escalate:
                    rule, group, _ = RULES[rng.choices(range(len(RULES)), rule_weights)[0]]
                    if intent == "request_human":
                        rule, group = "human_request", "综合"
                    elif intent == "nlu_fallback":
                        rule, group = "fallback_twice", "综合"
                    queued = t + dt.timedelta(seconds=2)
                    wait = dt.timedelta(seconds=int(rng.lognormvariate(4.6, 0.9)))
                    outcome = rng.choices(("resolved", "cancelled", "callback"), (84, 11, 5))[0]
                    claimed = queued + wait if outcome == "resolved" and queued + wait < end else None
                    done = None
                    if claimed:
                        done = claimed + dt.timedelta(seconds=int(rng.uniform(180, 1500)))
                        if done >= end:
                            done, outcome = None, "claimed"
                    elif outcome == "resolved":
                        outcome = "queued"
                    else:
                        done = queued + wait / 2
                        if done >= end:
                            done, outcome = None, "queued"
                    agent = rng.choice(agents_by_group.get(group, [agent_id])) if claimed else None
                    hid = handoff_id
                    handoff_id += 1
                    handoffs.append({"id": hid, "conversation_id": sender, "rule_id": rule, "reason": rule,
                                     "group_name": group, "priority": "高" if "complaint" in rule else "普通",
                                     "status": outcome, "summary": {}, "customer_id": customer,
                                     "claimed_by_id": agent, "created_at": queued, "claimed_at": claimed,
                                     "resolved_at": done, "updated_at": done or claimed or queued})
                    handoff_events.append({"handoff_id": hid, "at": queued, "actor": "bot", "kind": "queued"})
                    if claimed:
                        handoff_events.append({"handoff_id": hid, "at": claimed, "actor": "agent", "kind": "claimed"})
                    if done:
                        handoff_events.append({"handoff_id": hid, "at": done, "actor": "agent" if claimed else "bot",
                                               "kind": outcome})
                    event(sender, queued, "action", {"name": "action_escalate"}, action="action_escalate")
                else:
                    event(sender, t + dt.timedelta(seconds=30), "user", {"text": "谢谢"}, intent="thank")
        connection = session.connection()
        _insert(connection, Customer.__table__, customers)
        _insert(connection, Agent.__table__, agents)
        _insert(connection, AgentGroup.__table__, agent_groups)
        _insert(connection, Ticket.__table__, tickets)
        _insert(connection, TicketEvent.__table__, ticket_events)
        _insert(connection, Survey.__table__, surveys)
        _insert(connection, Handoff.__table__, handoffs)
        _insert(connection, HandoffEvent.__table__, handoff_events)
        _fix_sequences(connection, ["customers", "agents", "tickets", "handoffs"])
        flush_tracker()
        ensure_tracker_indexes(tracker_connection)
    counts.update(tracker_events=written, tickets=len(tickets), ticket_events=len(ticket_events),
                  handoffs=len(handoffs), surveys=len(surveys))
    if rollups:
        counts["rollup_days"] = roll_up(url, tracker, start, end)
    return counts


def roll_up(url: str, tracker: str, start: dt.datetime, end: dt.datetime) -> int:
    """(Re)build the per-day tracker rollups of the complete local days in [start, end)."""
    tz = settings.service_config().tz
    first = start.astimezone(tz).date()
    last = min(end.astimezone(tz).date(), rollup.first_incomplete_day(tz)) - dt.timedelta(days=1)
    if last < first:
        return 0
    rollup.forget_days(url, first, last)  # days rolled up before these events were added
    with db.get_engine(tracker).connect() as connection:
        return rollup.ensure_days(url, connection, [first + dt.timedelta(days=i)
                                                    for i in range((last - first).days + 1)], tz)
