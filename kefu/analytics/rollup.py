"""Per-day rollups of Rasa's tracker (kefu/models/analytics.py), built once a day is over.

``day_facts`` reads the raw tracker events of a time range and folds them into ``Facts``;
the same function feeds the rollup tables (one complete local day at a time) and the live
part of a dashboard (today, or any range not rolled up), so both paths count alike.

``ensure_days`` rolls up the complete days a dashboard asks for that are not done yet
(normally only yesterday: ``./kefu.sh seed --history`` rolls up what it seeds). A day is
complete ``GRACE`` after its local midnight; Rasa writes an event when it happens, so a
finished day does not change afterwards. Two desk processes rolling up the same day: the
second one's insert of the day's marker fails on its primary key and its transaction,
rows included, is rolled back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Dict, Hashable, Iterable, List, Optional, Tuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from kefu import clock, db
from kefu.training import masking
from kefu.models.analytics import ConversationDay, FallbackTextDay, FormDay, IntentDay, RollupDay

FALLBACK_INTENT = "nlu_fallback"
DEACTIVATE = "action_deactivate_loop"
NOT_ASKED = ""  # abandoned before the form asked its first question
TEXT_LENGTH = 200
GRACE = dt.timedelta(minutes=5)
CHUNK = 5000


def confidence_bucket(confidence: Optional[float]) -> int:
    """Deciles 0 (0.0-0.1) .. 9 (0.9-1.0); -1 when Rasa recorded none."""
    if confidence is None:
        return -1
    return min(9, max(0, int(float(confidence) * 10)))


@dataclass
class Facts:
    """Tracker figures of a time range. ``senders``: (bucket, sender) -> [messages, fallbacks]."""

    senders: Dict[Tuple[Hashable, str], List[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    intents: Counter = field(default_factory=Counter)  # (intent or "", confidence bucket) -> messages
    texts: Counter = field(default_factory=Counter)  # fallback text -> messages
    started: Counter = field(default_factory=Counter)  # form -> starts
    abandoned: Counter = field(default_factory=Counter)  # (form, question or "") -> exits

    def sender_ids(self) -> set:
        return {sender for _, sender in self.senders}


def _events():
    from kefu.analytics.queries import tracker_events

    return tracker_events


def _entities(payload: dict) -> list:
    entities = payload.get("parse_data", {}).get("entities") if isinstance(payload.get("parse_data"), dict) else None
    return [e for e in entities or [] if isinstance(e, dict)]


def day_facts(connection: Connection, start: float, end: float,
              bucket: Callable[[float], Hashable] = lambda ts: None) -> Facts:
    """The tracker's figures for events with start <= timestamp < end (epoch seconds)."""
    e = _events()
    facts = Facts()
    in_range = and_(e.c.timestamp >= start, e.c.timestamp < end)
    for sender, ts, intent, data in connection.execute(
            select(e.c.sender_id, e.c.timestamp, e.c.intent_name, e.c.data).where(e.c.type_name == "user", in_range)):
        counts = facts.senders[(bucket(ts), sender)]
        counts[0] += 1
        try:
            payload = json.loads(data) if data else {}
        except (TypeError, ValueError):
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        parsed = (payload.get("parse_data") or {}).get("intent") or {}
        facts.intents[(intent or "", confidence_bucket(parsed.get("confidence")))] += 1
        if intent == FALLBACK_INTENT:
            counts[1] += 1
            # masked as on the trainer's review page (phone numbers, addresses ... replaced)
            text = masking.mask_text(payload.get("text") or "", _entities(payload))[0].strip()
            if text:
                facts.texts[text[:TEXT_LENGTH]] += 1
    facts.started.update(dict(connection.execute(
        select(e.c.action_name, func.count()).where(in_range, e.c.type_name == "active_loop",
                                                    e.c.action_name.isnot(None))
        .group_by(e.c.action_name)).all()))
    # An exit is attributed to the conversation's latest form start and latest requested_slot
    # before it: the exits of the range first (few), then those conversations' events by
    # sender_id alone (Rasa's index; filtered here), so the plan does not depend on fresh
    # table statistics (a freshly bulk-loaded tracker has none).
    exits = connection.execute(select(e.c.sender_id, e.c.id).where(in_range, e.c.type_name == "action",
                                                                   e.c.action_name == DEACTIVATE)).all()
    senders = sorted({sender for sender, _ in exits})
    history: Dict[str, List[Tuple[int, str, Optional[str], Optional[str]]]] = defaultdict(list)
    for i in range(0, len(senders), 500):
        for sender, event_id, type_name, action, data in connection.execute(
                select(e.c.sender_id, e.c.id, e.c.type_name, e.c.action_name, e.c.data)
                .where(e.c.sender_id.in_(senders[i:i + 500]))):
            if (type_name == "active_loop" and action) or (type_name == "slot" and action == "requested_slot"):
                history[sender].append((event_id, type_name, action, data))
    for sender, exit_id in exits:
        form = question = None
        for event_id, type_name, action, data in sorted(history[sender], reverse=True):
            if event_id >= exit_id:
                continue
            if type_name == "active_loop" and form is None:
                form = action
            elif type_name == "slot" and question is None:
                try:
                    question = (json.loads(data) or {}).get("value") if data else None
                except (TypeError, ValueError, AttributeError):
                    question = None
                question = question or ""
            if form is not None and question is not None:
                break
        if form:
            facts.abandoned[(form, question or NOT_ASKED)] += 1
    return facts


def day_bounds(day: dt.date, tz) -> Tuple[float, float]:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start.timestamp(), end.timestamp()


def first_incomplete_day(tz, now: Optional[dt.datetime] = None) -> dt.date:
    """Days before this one are over (by GRACE) and can be rolled up."""
    return ((now or clock.now()) - GRACE).astimezone(tz).date()


def _rows(day: dt.date, facts: Facts, previous: Dict[str, dt.date]) -> Dict[type, List[dict]]:
    return {
        ConversationDay: [{"day": day, "sender_id": s, "messages": m, "fallbacks": f, "previous_day": previous.get(s)}
                          for (_, s), (m, f) in facts.senders.items()],
        IntentDay: [{"day": day, "intent_name": i, "confidence_bucket": b, "messages": n}
                    for (i, b), n in facts.intents.items()],
        FallbackTextDay: [{"day": day, "text": t, "messages": n} for t, n in facts.texts.items()],
        FormDay: [{"day": day, "form": f, "question": "", "kind": "started", "count": n}
                  for f, n in facts.started.items()]
        + [{"day": day, "form": f, "question": q, "kind": "abandoned", "count": n}
           for (f, q), n in facts.abandoned.items()],
    }


def _latest_before(session, senders: List[str], day: dt.date) -> Dict[str, dt.date]:
    cd = ConversationDay.__table__
    found: Dict[str, dt.date] = {}
    for i in range(0, len(senders), 1000):
        found.update(session.execute(select(cd.c.sender_id, func.max(cd.c.day))
                                     .where(cd.c.sender_id.in_(senders[i:i + 1000]), cd.c.day < day)
                                     .group_by(cd.c.sender_id)).all())
    return found


def ensure_days(url: str, tracker: Connection, days: Iterable[dt.date], tz) -> int:
    """Roll up those of ``days`` not rolled up yet; returns how many were built."""
    days = sorted(set(days))
    if not days:
        return 0
    with db.session_scope(url) as session:
        done = set(session.execute(select(RollupDay.day).where(RollupDay.day >= days[0],
                                                               RollupDay.day <= days[-1])).scalars())
    missing = [d for d in days if d not in done]
    built = 0
    for i in range(0, len(missing), 31):  # a month per transaction
        batch = missing[i:i + 31]
        try:
            with db.session_scope(url) as session:
                connection = session.connection()
                later = session.execute(select(func.max(RollupDay.day))).scalar()
                latest: Dict[str, dt.date] = {}  # this batch's days, oldest first
                rows: Dict[type, List[dict]] = defaultdict(list)
                senders_of: Dict[dt.date, List[str]] = {}
                for day in batch:
                    facts = day_facts(tracker, *day_bounds(day, tz))
                    senders = sorted(facts.sender_ids())
                    senders_of[day] = senders
                    previous = _latest_before(session, senders, day)
                    for sender in senders:
                        if sender in latest:
                            previous[sender] = max(latest[sender], previous.get(sender, latest[sender]))
                        latest[sender] = day
                    for model, items in _rows(day, facts, previous).items():
                        rows[model].extend(items)
                connection.execute(RollupDay.__table__.insert(),
                                   [{"day": d, "built_at": clock.now()} for d in batch])
                for model, items in rows.items():
                    for j in range(0, len(items), CHUNK):
                        connection.execute(model.__table__.insert(), items[j:j + CHUNK])
                if later is not None and later > batch[0]:  # days rolled up before: re-point their previous_day
                    cd = ConversationDay.__table__
                    for day in batch:
                        for k in range(0, len(senders_of[day]), 1000):
                            connection.execute(cd.update().where(
                                cd.c.sender_id.in_(senders_of[day][k:k + 1000]), cd.c.day > day,
                                or_(cd.c.previous_day.is_(None), cd.c.previous_day < day)).values(previous_day=day))
            built += len(batch)
        except IntegrityError:  # another process rolled up (some of) these days meanwhile
            continue
    return built


def forget_days(url: str, first: dt.date, last: dt.date) -> None:
    """Drop the rollups of [first, last] (they are rebuilt on the next render), e.g. after a re-import."""
    cd = ConversationDay.__table__
    with db.session_scope(url) as session:
        for model in (ConversationDay, IntentDay, FallbackTextDay, FormDay, RollupDay):
            session.execute(model.__table__.delete().where(model.day >= first, model.day <= last))
        earlier = cd.alias("earlier")  # later rows that pointed into the range: their latest remaining day
        session.execute(cd.update().where(cd.c.previous_day >= first, cd.c.previous_day <= last).values(
            previous_day=select(func.max(earlier.c.day)).where(earlier.c.sender_id == cd.c.sender_id,
                                                               earlier.c.day < cd.c.day).scalar_subquery()))
