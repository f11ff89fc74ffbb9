"""The dashboard's figures: one function per area, each returning ``Panel`` objects.

Sources
- service DB: tickets (+ ticket_events, surveys) and handoffs. SLA due times are the
  ones stored on each ticket when it was created from config/service.yml.
- tracker store: Rasa's SQL tracker table ``events`` (var/tracker.db next to a SQLite
  service DB, the same database on PostgreSQL -- see kefu/runtime/endpoints.py). Read
  with a Core table of the same shape; Rasa is not imported. Complete local days are read
  from their per-day rollups in the service DB (kefu/analytics/rollup.py, built once a
  day is over); only the rest of the period (today) from the raw events. Periods of up to
  two days (hourly buckets) read the raw events only.

Speed (a year: ~100k conversations, ~1M tracker events): every panel is aggregated in
SQL, no per-row work in Python; see benchmarks/analytics_dashboard.py and the README.

Definitions (also shown on the page)
- conversation: a sender with at least one customer message in the period.
- containment: conversations without any handoff to a person / conversations.
- fallback rate: customer messages classified ``nlu_fallback`` / customer messages.
- intent confidence: the NLU's top intent confidence of each customer message, by 0.1.
- not understood: the texts of ``nlu_fallback`` messages (personal data masked as on the
  review page), most frequent first; each links to the review page filtered by that text.
- queue wait: claimed_at - created_at of claimed handoffs; p50/p90 by nearest rank.
- abandonment: handoffs cancelled (customer left) before an agent claimed them.
- handling time: resolved_at - claimed_at of handoffs resolved by an agent.
- call-backs: tickets booked by the desk's call-back offer (idempotency key
  ``callback:<handoff>``); done = resolved.
- first response on time: first_responded_at <= first_response_due; resolution on
  time: resolved_at <= resolution_due; "open, overdue": not yet done and due passed.
- complaint rate: complaint tickets / all tickets created in the period.
- repeat complaint: a complaint whose customer complained before within 30 days.

Filters: ticket type, group and channel apply to ticket, SLA and satisfaction panels;
group also to handoffs. The tracker has no group or channel: bot panels ignore them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    distinct,
    func,
    inspect,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.types import BigInteger

from kefu import clock, db, settings
from kefu.analytics import rollup
from kefu.models.analytics import ConversationDay, FallbackTextDay, FormDay, IntentDay
from kefu.models.desk import Agent, Handoff
from kefu.models.service import (
    CANCELLED,
    IN_PROGRESS,
    OPEN_STATUSES,
    RESOLVED,
    SURVEYED,
    Survey,
    Ticket,
    TicketEvent,
)
from kefu.settings import PRIORITIES, TICKET_TYPES

PERIODS = {"today": "今天", "7d": "近 7 天", "30d": "近 30 天", "custom": "自定义"}
TOP_N = 10
REPEAT_COMPLAINT_DAYS = 30
AGE_BUCKETS = ((1, "< 1 天"), (3, "1–3 天"), (7, "3–7 天"), (None, "> 7 天"))

# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py, SQLEvent), read-only here.
tracker_metadata = MetaData()
tracker_events = Table(
    "events", tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),  # ix_events_sender_id, as Rasa names it
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
TRACKER_INDEXES = {
    "ix_events_sender_id": "events (sender_id)",  # Rasa creates it too; IF NOT EXISTS keeps one
    # covering the bot panels' scans (index-only on PostgreSQL once vacuumed)
    "ix_events_type_timestamp": "events (type_name, timestamp, sender_id, intent_name)",
    "ix_events_action_timestamp": "events (action_name, timestamp)",
}


# --- the query ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    start: dt.datetime  # aware, inclusive
    end: dt.datetime  # aware, exclusive
    period: str = "7d"
    ticket_type: Optional[str] = None
    group: Optional[str] = None
    channel: Optional[str] = None
    now: Optional[dt.datetime] = None  # "as of" for open/overdue figures (default: end or now)

    @property
    def bucket(self) -> str:
        return "hour" if self.end - self.start <= dt.timedelta(days=2) else "day"

    @property
    def days(self) -> int:
        return max(1, math.ceil((self.end - self.start).total_seconds() / 86400))

    def as_of(self) -> dt.datetime:
        moment = self.now or clock.now()
        return min(moment, self.end)


def period_for(period: str, *, start: Optional[dt.date] = None, end: Optional[dt.date] = None,
               now: Optional[dt.datetime] = None, **filters: Any) -> Query:
    """today / 7d / 30d end now (local days, today included); custom is [start, end] in local dates."""
    tz = settings.service_config().tz
    moment = now or clock.now()
    today = moment.astimezone(tz).date()

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), tzinfo=tz)

    if period == "custom" and start and end:
        if end < start:
            start, end = end, start
        return Query(midnight(start), midnight(end + dt.timedelta(days=1)), "custom", now=moment, **filters)
    days = {"today": 1, "7d": 7, "30d": 30, "365d": 365}.get(period, 7)
    period = period if period in ("today", "7d", "30d", "365d") else "7d"
    return Query(midnight(today - dt.timedelta(days=days - 1)), midnight(today + dt.timedelta(days=1)), period,
                 now=moment, **filters)


@dataclass
class Panel:
    id: str
    title: str
    columns: List[str]
    rows: List[List[Any]]
    chart: Optional[Dict[str, Any]] = None  # {"type": bar|line|pie|stack, "x": i, "series": [i, ...]}
    note: str = ""
    links: Dict[int, str] = field(default_factory=dict)  # row index -> URL (first column links)

    def as_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "title": self.title, "columns": self.columns, "rows": self.rows,
                "chart": self.chart, "note": self.note, "links": {str(k): v for k, v in self.links.items()}}


# --- helpers -------------------------------------------------------------------------------


def tracker_url(database_url: Optional[str] = None) -> str:
    """Where Rasa keeps its tracker for this service DB (as kefu/runtime/endpoints.py configures it)."""
    url = database_url or settings.database_url()
    if make_url(url).get_backend_name() == "sqlite":
        return f"sqlite:///{settings.var_dir() / 'tracker.db'}"
    return url


def ensure_tracker_indexes(connection: Connection) -> None:
    """Indices the bot panels need on Rasa's table (Rasa creates the table; we may not migrate it)."""
    if not inspect(connection).has_table("events"):
        return
    for name, target in TRACKER_INDEXES.items():
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {target}"))


def pct(part: float, whole: float) -> Optional[float]:
    return round(100.0 * part / whole, 1) if whole else None


def minutes(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else round(seconds / 60.0, 1)


def _epoch(connection: Connection, column):
    """Seconds since 1970 of a naive-UTC DateTime column, on SQLite and PostgreSQL."""
    if connection.dialect.name == "sqlite":
        return cast(func.strftime("%s", column), BigInteger)
    return cast(func.extract("epoch", column), BigInteger)


def _bucket_size(query: Query) -> int:
    return 3600 if query.bucket == "hour" else 86400


def _tz_offset(query: Query) -> int:
    return int(query.start.utcoffset().total_seconds()) if query.start.utcoffset() else 0


def _bucket_labels(query: Query) -> List[Tuple[int, str]]:
    size, offset = _bucket_size(query), _tz_offset(query)
    first = (int(query.start.timestamp()) + offset) // size
    last = (int(query.end.timestamp()) - 1 + offset) // size
    fmt = "%m-%d %H:00" if size == 3600 else "%Y-%m-%d"
    return [(b, dt.datetime.fromtimestamp(b * size - offset, query.start.tzinfo).strftime(fmt))
            for b in range(first, last + 1)]


def _type_label(ticket_type: str, labels: Optional[Dict[str, str]] = None) -> str:
    labels = labels if labels is not None else _type_labels()
    return labels.get(ticket_type, ticket_type)


def _type_labels() -> Dict[str, str]:
    return {name: t.label for name, t in settings.service_config().ticket_types.items()}


def _ticket_filters(query: Query) -> list:
    where = []
    if query.ticket_type:
        where.append(Ticket.type == query.ticket_type)
    if query.group:
        where.append(Ticket.group_name == query.group)
    if query.channel:
        where.append(Ticket.channel == query.channel)
    return where


def _in_period(column, query: Query):
    return and_(column >= query.start, column < query.end)


# --- bot (tracker store) ---------------------------------------------------------------------


def _local_day_number(day: dt.date) -> int:
    """The day-bucket number _bucket_labels gives a local day (days since 1970-01-01)."""
    return (day - dt.date(1970, 1, 1)).days


def _split(query: Query) -> Tuple[Optional[Tuple[dt.date, dt.date]], Optional[Tuple[float, float]]]:
    """The period as (rolled-up local days [first, last], live epoch range [start, end)).

    Day buckets: the complete days come from the rollups, the rest (today) from the raw
    events. Hour buckets (periods of up to two days) read the raw events only.
    """
    tz = query.start.tzinfo
    if query.bucket == "hour":
        return None, (query.start.timestamp(), query.end.timestamp())
    first = query.start.astimezone(tz).date()
    last = (query.end.astimezone(tz) - dt.timedelta(days=1)).date()
    cut = rollup.first_incomplete_day(tz, clock.now())
    rolled = (first, min(last, cut - dt.timedelta(days=1)))
    live_start = max(query.start, dt.datetime.combine(cut, dt.time(0), tzinfo=tz))
    live = (live_start.timestamp(), query.end.timestamp()) if live_start < query.end else None
    return (rolled if rolled[0] <= rolled[1] else None), live


def bot_panels(connection: Optional[Connection], query: Query, review_url: str = "/desk/review/",
               database_url: Optional[str] = None) -> List[Panel]:
    """The bot section: per-day rollups (service DB) for complete days + raw events for the rest."""
    if connection is None or not inspect(connection).has_table("events"):
        empty = "对话记录库中还没有数据"
        return [Panel("bot_summary", "机器人概况", ["指标", "数值"],
                      [["会话数", 0], ["客户消息数", 0], ["自助解决率 %", None], ["兜底率 %", None]], note=empty)]
    database_url = database_url or settings.database_url()
    tz = query.start.tzinfo
    rolled, live = _split(query)
    size, offset = _bucket_size(query), _tz_offset(query)
    facts = rollup.day_facts(connection, *live, bucket=lambda ts: (int(ts) + offset) // size) if live else rollup.Facts()
    live_senders = facts.sender_ids()
    by_bucket: Counter = Counter(b for b, _ in facts.senders)
    messages = sum(m for m, _ in facts.senders.values())
    fallbacks = sum(f for _, f in facts.senders.values())
    intents: Counter = Counter(facts.intents)
    texts: Counter = Counter(facts.texts)
    started: Counter = Counter(facts.started)
    abandoned: Counter = Counter(facts.abandoned)
    conversations, escalated, seen = 0, 0, set()
    if rolled:
        rollup.ensure_days(database_url, connection, _days(*rolled), tz)
        first, last = rolled
        with db.session_scope(database_url) as session:
            cd, idays, tdays, fdays = (ConversationDay.__table__, IntentDay.__table__, FallbackTextDay.__table__,
                                       FormDay.__table__)
            days = and_(cd.c.day >= first, cd.c.day <= last)
            handed = select(Handoff.conversation_id).where(_in_period(Handoff.created_at, query))
            if query.group:
                handed = handed.where(Handoff.group_name == query.group)
            # one row per conversation: its first day in the range (see ConversationDay.previous_day)
            first_row = or_(cd.c.previous_day.is_(None), cd.c.previous_day < first)
            n, m, f, escalated = session.execute(select(
                func.coalesce(func.sum(case((first_row, 1), else_=0)), 0),
                func.coalesce(func.sum(cd.c.messages), 0), func.coalesce(func.sum(cd.c.fallbacks), 0),
                func.coalesce(func.sum(case((and_(first_row, cd.c.sender_id.in_(handed)), 1), else_=0)), 0),
            ).where(days)).one()
            conversations, messages, fallbacks = int(n), messages + int(m), fallbacks + int(f)
            escalated = int(escalated)
            for day, count in session.execute(select(cd.c.day, func.count()).where(days).group_by(cd.c.day)):
                by_bucket[_local_day_number(day)] += count
            ids = sorted(live_senders)
            for i in range(0, len(ids), 5000):  # conversations that went on into the live part
                seen.update(session.execute(select(distinct(cd.c.sender_id))
                                            .where(days, cd.c.sender_id.in_(ids[i:i + 5000]))).scalars())
            for name, b, count in session.execute(
                    select(idays.c.intent_name, idays.c.confidence_bucket, func.sum(idays.c.messages))
                    .where(idays.c.day >= first, idays.c.day <= last)
                    .group_by(idays.c.intent_name, idays.c.confidence_bucket)):
                intents[(name, b)] += int(count)
            # the top texts: the rollups' own top N plus the rollup counts of the live texts
            tdays_in = and_(tdays.c.day >= first, tdays.c.day <= last)
            total = func.sum(tdays.c.messages)
            top = session.execute(select(tdays.c.text, total).where(tdays_in).group_by(tdays.c.text)
                                  .order_by(total.desc(), tdays.c.text).limit(TOP_N)).all()
            live_texts = sorted(texts)
            extra = []
            for i in range(0, len(live_texts), 1000):
                extra += session.execute(select(tdays.c.text, total).where(tdays_in, tdays.c.text.in_(live_texts[i:i + 1000]))
                                         .group_by(tdays.c.text)).all()
            for text_, count in {**dict(top), **dict(extra)}.items():
                texts[text_] += int(count)
            for form, question, kind, count in session.execute(
                    select(fdays.c.form, fdays.c.question, fdays.c.kind, func.sum(fdays.c.count))
                    .where(fdays.c.day >= first, fdays.c.day <= last)
                    .group_by(fdays.c.form, fdays.c.question, fdays.c.kind)):
                if kind == "started":
                    started[form] += int(count)
                else:
                    abandoned[(form, question)] += int(count)
    fresh = live_senders - seen  # live conversations not already counted in the rolled-up days
    conversations += len(fresh)
    if fresh:
        with db.session_scope(database_url) as session:
            escalated += len(handed_over(session, query, fresh))
    contained = conversations - escalated
    summary = Panel("bot_summary", "机器人概况", ["指标", "数值"], [
        ["会话数", conversations],
        ["客户消息数", messages],
        ["转人工会话数", escalated],
        ["自助解决率 %", pct(contained, conversations)],
        ["兜底率 %", pct(fallbacks, messages)],
    ], note="自助解决：会话中没有转人工；兜底：客户消息被识别为 nlu_fallback")

    by_intent: Counter = Counter()
    by_confidence: Counter = Counter()
    for (name, b), n in intents.items():
        by_intent[name] += n
        by_confidence[b] += n
    ranked = sorted(by_intent.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
    top_intents = Panel("top_intents", "热门意图", ["意图", "消息数", "占比 %"],
                        [[name or "（无）", n, pct(n, messages)] for name, n in ranked],
                        chart={"type": "bar", "x": 0, "series": [1], "horizontal": True})
    scored = sum(n for b, n in by_confidence.items() if b >= 0)
    confidence_rows = [[f"{b / 10:.1f}–{(b + 1) / 10:.1f}", by_confidence.get(b, 0), pct(by_confidence.get(b, 0), scored)]
                       for b in range(10)]
    if by_confidence.get(-1):
        confidence_rows.append(["未记录", by_confidence[-1], None])
    confidence = Panel("intent_confidence", "意图置信度分布", ["置信度", "消息数", "占比 %"], confidence_rows,
                       chart={"type": "bar", "x": 0, "series": [1]},
                       note="客户消息被识别为某意图的置信度（NLU 给出的最高分），按 0.1 分段")

    days = min(max(query.days, 1), 30)
    top_texts = sorted(texts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
    not_understood = Panel("not_understood", "未理解的客户消息", ["客户消息", "次数"],
                           [[t, n] for t, n in top_texts],
                           links={i: f"{review_url}?days={days}&flag=fallback&all=1&q={quote(t)}"
                                  for i, (t, _) in enumerate(top_texts)},
                           note="点击消息进入对话审核页，查看含这句话的兜底消息并标注")

    volume = Panel("conversation_series", "会话量（按" + ("小时" if query.bucket == "hour" else "天") + "）",
                   ["时间", "会话数"], [[label, by_bucket.get(b, 0)] for b, label in _bucket_labels(query)],
                   chart={"type": "line", "x": 0, "series": [1]})
    return [summary, volume, top_intents, confidence, not_understood, form_panel(started, abandoned)]


def _days(first: dt.date, last: dt.date) -> List[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def form_panel(started: Counter, abandoned: Counter) -> Panel:
    """Forms started and abandoned, and the question customers dropped out at.

    Started: ``active_loop`` events naming the form. Abandoned: ``action_deactivate_loop``
    (the customer left the form), attributed to the conversation's latest form start and
    latest ``requested_slot`` before it (kefu.analytics.rollup.day_facts).
    Completed = started - abandoned.
    """
    started = Counter(started)
    dropped: Dict[str, Counter] = defaultdict(Counter)
    for (form, question), n in abandoned.items():
        dropped[form][question or "（未开始提问）"] += n
        started.setdefault(form, 0)
    table = []
    for form in sorted(started, key=lambda f: (-started[f], f)):
        lost = sum(dropped[form].values())
        completed = max(started[form] - lost, 0)
        top = ", ".join(f"{q} ({n})" for q, n in sorted(dropped[form].items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        table.append([form, started[form], completed, lost, pct(completed, started[form]), top])
    return Panel("forms", "表单完成与放弃", ["表单", "开始", "完成", "放弃", "完成率 %", "放弃时的问题（次数）"],
                 table, chart={"type": "stack", "x": 0, "series": [2, 3]},
                 note="放弃：客户中途退出表单（action_deactivate_loop）；完成 = 开始 − 放弃")


# --- handoffs ---------------------------------------------------------------------------------


def _handoff_where(query: Query) -> list:
    where = [_in_period(Handoff.created_at, query)]
    if query.group:
        where.append(Handoff.group_name == query.group)
    return where


def handed_over(session, query: Query, conversation_ids: Iterable[str]) -> set:
    """Those of ``conversation_ids`` with a handoff created in the period (group filter applied)."""
    ids, found = sorted(set(conversation_ids)), set()
    for i in range(0, len(ids), 5000):
        found.update(session.execute(select(distinct(Handoff.conversation_id))
                                     .where(*_handoff_where(query), Handoff.conversation_id.in_(ids[i:i + 5000])))
                     .scalars())
    return found


def _wait_ranks(session, query: Query) -> Dict[str, Dict[Any, Tuple[Optional[float], Optional[float]]]]:
    """Queue wait p50/p90 (nearest rank) over all, per group and per agent: one scan, ranked in SQL.

    Nearest rank r = ceil(q * n): (n + 1) / 2 for p50 and (9 n + 9) / 10 for p90 in
    integer arithmetic (the same on SQLite and PostgreSQL).
    """
    connection = session.connection()
    wait = _epoch(connection, Handoff.claimed_at) - _epoch(connection, Handoff.created_at)
    keys = {"total": None, "group": Handoff.group_name, "agent": Agent.display_name}
    columns = [Handoff.group_name.label("group"), Agent.display_name.label("agent"), wait.label("w")]
    for kind, key in keys.items():
        partition = {"partition_by": key} if key is not None else {}
        columns += [func.row_number().over(order_by=wait, **partition).label(f"r_{kind}"),
                    func.count().over(**partition).label(f"n_{kind}")]
    ranked = (select(*columns).select_from(Handoff).outerjoin(Agent, Agent.id == Handoff.claimed_by_id)
              .where(*_handoff_where(query), Handoff.claimed_at.isnot(None)).subquery())
    wanted = []
    for kind in keys:
        r, n = ranked.c[f"r_{kind}"], ranked.c[f"n_{kind}"]
        wanted += [r == (n + 1) / 2, r == (9 * n + 9) / 10]
    figures: Dict[str, Dict[Any, List[Optional[float]]]] = {k: defaultdict(lambda: [None, None]) for k in keys}
    for row in session.execute(select(ranked).where(or_(*wanted))).mappings():
        for kind in keys:
            n, r = row[f"n_{kind}"], row[f"r_{kind}"]
            key = 0 if kind == "total" else row[kind]
            if r == (n + 1) // 2:
                figures[kind][key][0] = row["w"]
            if r == (9 * n + 9) // 10:
                figures[kind][key][1] = row["w"]
    return {kind: {k: (v[0], v[1]) for k, v in values.items()} for kind, values in figures.items()}


def handoff_panels(session, query: Query, conversations: int) -> List[Panel]:
    where = _handoff_where(query)
    connection = session.connection()
    by_rule = session.execute(select(Handoff.rule_id, func.count()).where(*where).group_by(Handoff.rule_id)).all()
    total = sum(n for _, n in by_rule)
    rule_panel = Panel("handoff_rules", "转人工原因", ["规则", "转人工数", "占比 %", "占会话 %"],
                       [[rule, n, pct(n, total), pct(n, conversations)] for rule, n in
                        sorted(by_rule, key=lambda kv: (-kv[1], kv[0]))],
                       chart={"type": "pie", "x": 0, "series": [1]})

    # counts per (group, agent) cell; groups, agents and the total add the cells up
    handled = and_(Handoff.status == "resolved", Handoff.claimed_at.isnot(None), Handoff.resolved_at.isnot(None))
    handling = _epoch(connection, Handoff.resolved_at) - _epoch(connection, Handoff.claimed_at)
    cells = session.execute(
        select(Handoff.group_name, Agent.display_name, func.count(),
               func.sum(case((and_(Handoff.status == "cancelled", Handoff.claimed_at.is_(None)), 1), else_=0)),
               func.sum(case((handled, handling), else_=0)), func.sum(case((handled, 1), else_=0)),
               func.sum(case((Handoff.status == "callback", 1), else_=0)))
        .select_from(Handoff).outerjoin(Agent, Agent.id == Handoff.claimed_by_id).where(*where)
        .group_by(Handoff.group_name, Agent.display_name)).all()
    waits = _wait_ranks(session, query)

    def figures(kind: str, key: Any) -> List[Any]:
        chosen = [c for c in cells if kind == "total" or (c[0] if kind == "group" else c[1]) == key]
        n, abandoned, handling_sum, handled_n, callbacks = (sum(int(c[i] or 0) for c in chosen) for i in range(2, 7))
        p50, p90 = waits[kind].get(0 if kind == "total" else key, (None, None))
        return [n, minutes(p50), minutes(p90), abandoned, pct(abandoned, n),
                minutes(handling_sum / handled_n) if handled_n else None, callbacks]

    columns = ["转人工数", "排队 p50 分钟", "排队 p90 分钟", "等待中放弃", "放弃率 %", "平均处理分钟", "转回拨"]
    groups = sorted({c[0] for c in cells})
    agents = sorted({c[1] for c in cells if c[1]})
    group_panel = Panel("handoff_groups", "转人工：按分组", ["分组", *columns],
                        [["合计", *figures("total", None)]] + [[g, *figures("group", g)] for g in groups],
                        chart={"type": "bar", "x": 0, "series": [2, 3]})
    agent_panel = Panel("handoff_agents", "转人工：按坐席", ["坐席", *columns],
                        [[a, *figures("agent", a)] for a in agents],
                        chart={"type": "bar", "x": 0, "series": [1]})

    callback_where = [Ticket.idempotency_key.like("callback:%"), _in_period(Ticket.created_at, query)]
    if query.group:
        callback_where.append(Ticket.group_name == query.group)
    booked, done = session.execute(select(
        func.count(), func.coalesce(func.sum(case((Ticket.resolved_at.isnot(None), 1), else_=0)), 0),
    ).where(*callback_where)).one()
    callback_panel = Panel("callbacks", "回拨预约", ["指标", "数值"],
                           [["预约回拨", booked], ["已完成", done], ["完成率 %", pct(done, booked)]])

    size, offset = _bucket_size(query), _tz_offset(query)
    bucket = ((_epoch(connection, Handoff.created_at) + offset) / size).label("b")
    counts = {int(b): n for b, n in session.execute(select(bucket, func.count()).where(*where).group_by(text("b")))}
    series = Panel("handoff_series", "转人工量（按" + ("小时" if query.bucket == "hour" else "天") + "）",
                   ["时间", "转人工数"], [[label, counts.get(b, 0)] for b, label in _bucket_labels(query)],
                   chart={"type": "line", "x": 0, "series": [1]})
    return [rule_panel, group_panel, series, agent_panel, callback_panel]


# --- tickets and SLA -------------------------------------------------------------------------


def ticket_panels(session, query: Query) -> List[Panel]:
    connection = session.connection()
    where = [_in_period(Ticket.created_at, query), *_ticket_filters(query)]
    by = session.execute(select(Ticket.type, Ticket.priority, func.count())
                         .where(*where).group_by(Ticket.type, Ticket.priority)).all()
    counts = {(t, p): n for t, p, n in by}
    types = [t for t in TICKET_TYPES if any(counts.get((t, p)) for p in PRIORITIES)]
    created = Panel("tickets_by_type", "新建工单：按类型和优先级", ["类型", *PRIORITIES, "合计"],
                    [[_type_label(t), *[counts.get((t, p), 0) for p in PRIORITIES],
                      sum(counts.get((t, p), 0) for p in PRIORITIES)] for t in types],
                    chart={"type": "stack", "x": 0, "series": [1, 2, 3]})

    size, offset = _bucket_size(query), _tz_offset(query)
    bucket = ((_epoch(connection, Ticket.created_at) + offset) / size).label("b")
    by_bucket = dict(session.execute(select(bucket, func.count()).where(*where).group_by(text("b"))).all())
    series = Panel("ticket_series", "新建工单（按" + ("小时" if query.bucket == "hour" else "天") + "）",
                   ["时间", "工单数"], [[label, by_bucket.get(b, 0)] for b, label in _bucket_labels(query)],
                   chart={"type": "line", "x": 0, "series": [1]})

    now = query.as_of()

    def compliance(done, due, only=None) -> list:
        def count(condition):
            return func.coalesce(func.sum(case((and_(condition, only) if only is not None else condition, 1),
                                               else_=0)), 0)
        return [count(and_(done.isnot(None), done <= due)), count(and_(done.isnot(None), done > due)),
                count(and_(done.is_(None), due < now)), count(and_(done.is_(None), due >= now))]

    def row(label: str, figures: Sequence[int]) -> List[Any]:
        on_time, late, overdue, pending = figures
        return [label, on_time, late, overdue, pending, pct(on_time, on_time + late + overdue)]

    emergency = Ticket.priority == "抢修"
    figures = session.execute(select(  # the four rows in one scan
        *compliance(Ticket.first_responded_at, Ticket.first_response_due),
        *compliance(Ticket.resolved_at, Ticket.resolution_due),
        *compliance(Ticket.first_responded_at, Ticket.first_response_due, emergency),
        *compliance(Ticket.resolved_at, Ticket.resolution_due, emergency),
    ).where(*where, Ticket.status != CANCELLED)).one()
    sla = Panel("sla", "SLA 达成（config/service.yml 时限）", ["时限", "按时", "超时完成", "未完成已超时", "未到期", "达成率 %"], [
        row("首次响应", figures[0:4]),
        row("处理完成", figures[4:8]),
        row("抢修 到场响应", figures[8:12]),
        row("抢修 处理完成", figures[12:16]),
    ], chart={"type": "stack", "x": 0, "series": [1, 2, 3, 4]},
        note="达成率 = 按时 / (按时 + 超时完成 + 未完成已超时)；已取消的工单不计")

    total, urged, urges = session.execute(select(
        func.count(), func.coalesce(func.sum(case((Ticket.urge_count > 0, 1), else_=0)), 0),
        func.coalesce(func.sum(Ticket.urge_count), 0)).where(*where)).one()
    reopened = session.execute(
        select(func.count(distinct(TicketEvent.ticket_id))).join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(*where, TicketEvent.kind == "status_changed", TicketEvent.from_value.in_((RESOLVED, SURVEYED)),
               TicketEvent.to_value == IN_PROGRESS)
    ).scalar_one()
    follow = Panel("ticket_follow", "催办与重开", ["指标", "数值"], [
        ["新建工单", total], ["被催办工单", urged], ["催办次数", urges],
        ["每单平均催办", round(urges / total, 2) if total else None], ["重开工单", reopened],
        ["重开率 %", pct(reopened, total)],
    ])

    age = _epoch(connection, literal(now, Ticket.created_at.type)) - _epoch(connection, Ticket.created_at)
    open_where = [Ticket.status.in_(OPEN_STATUSES), Ticket.created_at < now, *_ticket_filters(query)]
    cases, lower = [], 0
    for upper, _label in AGE_BUCKETS:
        cond = age >= lower * 86400 if upper is None else and_(age >= lower * 86400, age < upper * 86400)
        cases.append(func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(f"a{lower}"))
        lower = upper or lower
    ages = session.execute(select(*cases).where(*open_where)).one()
    backlog = Panel("backlog", "积压工单账龄（当前未完成）", ["账龄", "工单数"],
                    [[label, n] for (_, label), n in zip(AGE_BUCKETS, ages)],
                    chart={"type": "bar", "x": 0, "series": [1]}, note="不受时间段影响，按当前时刻统计")
    return [created, series, sla, follow, backlog]


# --- satisfaction ---------------------------------------------------------------------------


def satisfaction_panels(session, query: Query) -> List[Panel]:
    where = [_in_period(Survey.created_at, query), *_ticket_filters(query)]
    grouped_rows = session.execute(
        select(Ticket.type, Ticket.group_name, Ticket.assignee, Ticket.status, Survey.score, func.count().label("n"))
        .join(Ticket, Ticket.id == Survey.ticket_id).where(*where)
        .group_by(Ticket.type, Ticket.group_name, Ticket.assignee, Ticket.status, Survey.score)
    ).all()
    labels = _type_labels()
    surveys = sum(r.n for r in grouped_rows)
    scores: Counter = Counter()
    for r in grouped_rows:
        scores[r.score] += r.n
    distribution = Panel("csat_scores", "满意度评分分布", ["评分", "份数", "占比 %"],
                         [[f"{s} 分", scores.get(s, 0), pct(scores.get(s, 0), surveys)] for s in range(5, 0, -1)],
                         chart={"type": "bar", "x": 0, "series": [1]})

    def grouped(key, label: str, panel_id: str, title: str) -> Panel:
        groups: Dict[str, List[int]] = defaultdict(lambda: [0, 0, 0])  # surveys, score sum, satisfied
        for r in grouped_rows:
            g = groups[key(r) or "（无）"]
            g[0] += r.n
            g[1] += r.score * r.n
            g[2] += r.n if r.score >= 4 else 0
        table = [[name, n, round(total / n, 2), pct(good, n)]
                 for name, (n, total, good) in sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0]))]
        return Panel(panel_id, title, [label, "份数", "平均分", "满意率 %"], table,
                     chart={"type": "bar", "x": 0, "series": [2]}, note="满意率：4–5 分占比")

    resolved = session.execute(select(func.count()).where(
        _in_period(Ticket.resolved_at, query), *_ticket_filters(query))).scalar_one()
    low = sum(r.n for r in grouped_rows if r.score <= 2)
    low_closed = sum(r.n for r in grouped_rows if r.score <= 2 and r.status == "已关闭")
    overall = Panel("csat_summary", "满意度概况", ["指标", "数值"], [
        ["回访份数", surveys],
        ["平均分", round(sum(r.score * r.n for r in grouped_rows) / surveys, 2) if surveys else None],
        ["满意率 %", pct(sum(r.n for r in grouped_rows if r.score >= 4), surveys)],
        ["已解决工单", resolved],
        ["回访率 %", pct(surveys, resolved)],
        ["低分（≤2）跟进中", low - low_closed],
        ["低分（≤2）已关闭", low_closed],
    ], note="回访率 = 期间回访份数 / 期间解决的工单数")

    # Complaints: rate, and repeats by the same customer within 30 days.
    ticket_where = [_in_period(Ticket.created_at, query), *_ticket_filters(query)]
    all_tickets = session.execute(select(func.count()).where(*ticket_where)).scalar_one()
    window = dt.timedelta(days=REPEAT_COMPLAINT_DAYS)
    complaint_where = [Ticket.type == "complaint", Ticket.created_at >= query.start - window, Ticket.created_at < query.end]
    if query.group:
        complaint_where.append(Ticket.group_name == query.group)
    if query.channel:
        complaint_where.append(Ticket.channel == query.channel)
    if query.ticket_type not in (None, "complaint"):
        complaint_where.append(literal(False))
    complaints = session.execute(
        select(Ticket.customer_id, Ticket.created_at).where(*complaint_where)
        .order_by(Ticket.customer_id, Ticket.created_at)
    ).all()
    in_period = [c for c in complaints if c.created_at >= query.start]
    repeats, customers = 0, set()
    last_seen: Dict[int, dt.datetime] = {}
    for customer_id, created_at in complaints:
        previous = last_seen.get(customer_id) if customer_id is not None else None
        if created_at >= query.start and previous is not None and created_at - previous <= window:
            repeats += 1
            customers.add(customer_id)
        if customer_id is not None:
            last_seen[customer_id] = created_at
    complaint_panel = Panel("complaints", "投诉", ["指标", "数值"], [
        ["投诉工单", len(in_period)], ["投诉率 %", pct(len(in_period), all_tickets)],
        ["重复投诉（30 天内同一客户）", repeats], ["重复投诉客户数", len(customers)],
        ["重复投诉占比 %", pct(repeats, len(in_period))],
    ], note="投诉率 = 投诉工单 / 全部新建工单")
    return [overall, distribution,
            grouped(lambda r: _type_label(r.type, labels), "工单类型", "csat_by_type", "满意度：按工单类型"),
            grouped(lambda r: r.group_name, "班组", "csat_by_group", "满意度：按班组"),
            grouped(lambda r: r.assignee, "处理人", "csat_by_agent", "满意度：按处理人"),
            complaint_panel]


# --- everything ------------------------------------------------------------------------------


SECTIONS = (("bot", "机器人"), ("handoffs", "转人工"), ("tickets", "工单与 SLA"), ("satisfaction", "满意度与投诉"))


def dashboard(query: Query, database_url: Optional[str] = None, tracker: Optional[str] = None,
              review_url: str = "/desk/review/") -> Dict[str, List[Panel]]:
    """Every panel of the analytics page, by section."""
    database_url = database_url or settings.database_url()
    tracker = tracker or tracker_url(database_url)
    # first, outside any service transaction: the bot panels may write the rollups of days
    # that just ended (on SQLite an open transaction of this process would hold the write lock)
    bot = _bot(tracker, query, review_url, database_url)
    conversations = bot[0].rows[0][1]
    with db.session_scope(database_url) as session:
        return {
            "bot": bot,
            "handoffs": handoff_panels(session, query, conversations),
            "tickets": ticket_panels(session, query),
            "satisfaction": satisfaction_panels(session, query),
        }


_tracker_engines: Dict[str, Any] = {}


def _tracker_engine(url: str):
    """Read-only use: on SQLite a plain engine (the service engine's BEGIN IMMEDIATE would block Rasa)."""
    if make_url(url).get_backend_name() != "sqlite":
        return db.get_engine(url)
    if url not in _tracker_engines:
        from sqlalchemy import create_engine

        _tracker_engines[url] = create_engine(url, future=True)
    return _tracker_engines[url]


def _bot(tracker: str, query: Query, review_url: str, database_url: str) -> List[Panel]:
    parsed = make_url(tracker)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return bot_panels(None, query, review_url, database_url)  # Rasa has not written yet
    engine = _tracker_engine(tracker)
    with engine.connect() as connection:
        return bot_panels(connection, query, review_url, database_url)


def find_panel(panels: Dict[str, List[Panel]], panel_id: str) -> Optional[Panel]:
    return next((p for section in panels.values() for p in section if p.id == panel_id), None)


def to_csv(panel: Panel) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(panel.columns)
    for row in panel.rows:
        writer.writerow(["" if v is None else v for v in row])
    return "\ufeff" + out.getvalue()  # BOM: Excel opens Chinese CSV correctly
