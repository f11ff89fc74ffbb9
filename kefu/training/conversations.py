"""Real conversations from Rasa's SQL tracker store, flagged for review.

Shared by ``./kefu.sh export`` and the desk's review page. Reads with Rasa's own
``SQLTrackerStore`` (SQLite ``var/tracker.db`` or the PostgreSQL server, as in
kefu/runtime/endpoints.py), never writes to it.

Flags (a conversation has a flag when one of its messages has it):

- ``low_confidence``   the top intent's confidence is below the threshold (default 0.6)
- ``fallback``         NLU fell back (``nlu_fallback``) or a fallback action ran after the message
- ``escalated``        the conversation was handed to a person (action_escalate, pause, handoff_active)
- ``failed_form``      a form was abandoned (action_deactivate_loop), rejected, or left unfinished
- ``low_satisfaction`` the customer gave a satisfaction score <= 2 (configurable)
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple


from kefu import settings
from kefu.training import masking
from kefu.training.project import normalise
from kefu.transcript import is_external_text

FLAGS = ("low_confidence", "fallback", "escalated", "failed_form", "low_satisfaction")
FLAG_LABELS = {
    "low_confidence": "低置信度",
    "fallback": "兜底回复",
    "escalated": "转人工",
    "failed_form": "表单未完成",
    "low_satisfaction": "低满意度",
}
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = {
    "action_default_fallback",
    "action_two_stage_fallback",
    "action_default_ask_affirmation",
    "action_default_ask_rephrase",
    "utter_default",
}
ESCALATION_ACTIONS = {"action_escalate"}
DEACTIVATE = "action_deactivate_loop"
NOT_FORMS = {"action_two_stage_fallback"}
SATISFACTION_SLOT = "satisfaction_score"


@dataclass(frozen=True)
class Filters:
    since: Optional[dt.datetime] = None  # aware datetimes; None = open
    until: Optional[dt.datetime] = None
    flags: FrozenSet[str] = frozenset()  # conversations with ANY of these; empty = all
    confidence_threshold: float = 0.6
    max_satisfaction: int = 2
    limit: Optional[int] = None  # at most this many matching conversations (most recent first)
    scan_limit: Optional[int] = None  # read at most this many of the most recent conversations


@dataclass
class ReviewMessage:
    id: str
    conversation_id: str
    timestamp: float
    text: str
    intent: str  # predicted; full retrieval intent (faq/warranty_period) when known
    confidence: float
    ranking: List[Dict[str, Any]]
    entities: List[Dict[str, Any]]
    flags: List[str] = field(default_factory=list)
    conversation_flags: List[str] = field(default_factory=list)
    count: int = 1
    conversations: List[str] = field(default_factory=list)

    @property
    def norm(self) -> str:
        return normalise(self.text)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "time": local_time(self.timestamp),
            "timestamp": self.timestamp,
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "ranking": self.ranking,
            "entities": self.entities,
            "flags": self.flags,
            "conversation_flags": self.conversation_flags,
            "count": self.count,
            "conversations": self.conversations,
        }


@dataclass
class Conversation:
    sender_id: str
    started: Optional[float]
    ended: Optional[float]
    flags: Set[str]
    messages: List[ReviewMessage]
    events: List[Any]  # rasa Event objects, masked when the conversation was masked

    @property
    def review_messages(self) -> List[ReviewMessage]:
        return self.messages


# --- the tracker store -------------------------------------------------------------------


def store_kwargs(url: Optional[str] = None) -> Dict[str, Any]:
    """SQLTrackerStore arguments: from a SQLAlchemy URL, else from Kefu's settings.

    The default is the store `./kefu.sh run` gives Rasa (kefu/runtime/endpoints.py).
    """
    if not url:
        from kefu.runtime.endpoints import tracker_store_config

        config = dict(tracker_store_config(settings.database_url(), settings.var_dir()))
        config.pop("type", None)
        return config
    from kefu.runtime.endpoints import sql_store_params

    return sql_store_params(url)


def open_store(url: Optional[str] = None, domain=None):
    """Rasa's SQLTrackerStore on the given (or Kefu's) tracker database."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy 2.0 deprecation notice from Rasa's models
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.shared.core.domain import Domain

        return SQLTrackerStore(domain=domain or Domain.empty(), **store_kwargs(url))


def conversation_ids(store, since: Optional[dt.datetime] = None, until: Optional[dt.datetime] = None,
                     limit: Optional[int] = None) -> List[str]:
    """Conversations with a customer message in [since, until), most recent first."""
    import sqlalchemy as sa

    event = store.SQLEvent
    with store.session_scope() as session:
        query = session.query(event.sender_id, sa.func.max(event.timestamp).label("last")).filter(
            event.type_name == "user"
        )
        if since is not None:
            query = query.filter(event.timestamp >= since.timestamp())
        if until is not None:
            query = query.filter(event.timestamp < until.timestamp())
        query = query.group_by(event.sender_id).order_by(sa.desc("last"), event.sender_id)
        if limit:
            query = query.limit(limit)
        return [sender_id for sender_id, _ in query.all()]


def load_events(store, sender_id: str) -> List[Any]:
    """All events of a conversation (every session), as Rasa Event objects."""
    return load_events_bulk(store, [sender_id]).get(sender_id, [])


def load_events_bulk(store, sender_ids: Sequence[str], chunk: int = 500) -> Dict[str, List[Any]]:
    """Events of many conversations, a few queries in all (ordered by id, like Rasa's store)."""
    import json

    from rasa.shared.core.events import Event

    event = store.SQLEvent
    found: Dict[str, List[Any]] = {}
    with store.session_scope() as session:
        for i in range(0, len(sender_ids), chunk):
            rows = (session.query(event.sender_id, event.data)
                    .filter(event.sender_id.in_(list(sender_ids[i:i + chunk])))
                    .order_by(event.id).all())
            for sender_id, data in rows:
                try:
                    parsed = Event.from_parameters(json.loads(data))
                except (AttributeError, KeyError, TypeError, ValueError):  # a row Rasa cannot read: skip it
                    parsed = None
                if parsed is not None:
                    found.setdefault(sender_id, []).append(parsed)
    return found


# --- analysis --------------------------------------------------------------------------------


def message_id(sender_id: str, timestamp: Optional[float], text: str) -> str:
    return hashlib.sha1(f"{sender_id}|{timestamp}|{text}".encode("utf-8")).hexdigest()[:16]


def local_time(timestamp: Optional[float]) -> Optional[str]:
    if timestamp is None:
        return None
    try:
        tz = settings.service_config().tz
    except Exception:  # no service config (e.g. a bare project): UTC
        tz = dt.timezone.utc
    return dt.datetime.fromtimestamp(float(timestamp), tz=dt.timezone.utc).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def predicted_intent(parse_data: Dict[str, Any]) -> Tuple[str, float, List[Dict[str, Any]]]:
    """(full intent, confidence, ranking) ignoring nlu_fallback (we want what NLU thought)."""
    intent = parse_data.get("intent") or {}
    ranking = [dict(r) for r in parse_data.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
    name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
    if name == FALLBACK_INTENT or not name:
        if ranking:
            name, confidence = ranking[0]["name"], float(ranking[0].get("confidence") or 0.0)
        else:
            name = name or ""
    selector = (parse_data.get("response_selector") or {}).get(name) or {}
    full = ((selector.get("response") or {}).get("intent_response_key")) or name
    out = []
    for r in ranking[:5]:
        entry = {"name": r["name"], "confidence": round(float(r.get("confidence") or 0.0), 4)}
        if r["name"] == name and full != name:
            entry["name"] = full
        out.append(entry)
    return full, confidence, out


def _slot_score(value: Any) -> Optional[int]:
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError):
        return None


def analyse(sender_id: str, events: Sequence[Any], filters: Filters = Filters(), mask: bool = True) -> Conversation:
    """Flag a conversation's messages; mask personal data (in messages and events)."""
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionExecutionRejected,
        ActiveLoop,
        BotUttered,
        ConversationPaused,
        SlotSet,
        UserUttered,
    )

    # Personal slot values set anywhere in the conversation are masked everywhere in it.
    known = [(masking.PERSONAL_SLOTS[e.key], str(e.value)) for e in events
             if isinstance(e, SlotSet) and e.key in masking.PERSONAL_SLOTS and e.value not in (None, "")]

    def mask_user(event: UserUttered) -> Tuple[str, List[Dict[str, Any]]]:
        entities = [dict(e) for e in (event.entities or [])]
        if not mask:
            return event.text or "", entities
        return masking.mask_text(event.text or "", entities, known)

    messages: List[ReviewMessage] = []
    masked_events: List[Any] = []
    flags: Set[str] = set()
    last_user: Optional[ReviewMessage] = None
    active_form: Optional[str] = None
    last_action: Optional[str] = None

    def flag(name: str, message: Optional[ReviewMessage]) -> None:
        flags.add(name)
        if message is not None and name not in message.flags:
            message.flags.append(name)

    for event in events:
        masked = event
        if isinstance(event, UserUttered):
            text, entities = mask_user(event)
            parse = dict(event.parse_data or {})
            parse["text"], parse["entities"] = text, entities
            masked = UserUttered(text=text, intent=event.intent, entities=entities, parse_data=parse,
                                 timestamp=event.timestamp, input_channel=event.input_channel,
                                 message_id=event.message_id, metadata={} if mask else event.metadata)
            raw = (event.text or "").strip()
            # button payloads (/intent{...}) and server-triggered intents are not customer text
            if raw and not raw.startswith("/") and not is_external_text(raw):
                intent, confidence, ranking = predicted_intent(parse)
                last_user = ReviewMessage(
                    id=message_id(sender_id, event.timestamp, event.text or ""),
                    conversation_id=sender_id,
                    timestamp=event.timestamp,
                    text=text,
                    intent=intent,
                    confidence=confidence,
                    ranking=ranking,
                    entities=[{k: e[k] for k in ("entity", "start", "end", "value", "extractor") if k in e}
                              for e in entities],
                    conversations=[sender_id],
                )
                messages.append(last_user)
                if confidence < filters.confidence_threshold:
                    flag("low_confidence", last_user)
                if (event.intent or {}).get("name") == FALLBACK_INTENT:
                    flag("fallback", last_user)
            # A button payload keeps pointing at the customer's last typed message.
        elif isinstance(event, ActionExecuted):
            name = event.action_name
            if name in FALLBACK_ACTIONS:
                flag("fallback", last_user)
            if name in ESCALATION_ACTIONS:
                flag("escalated", last_user)
            last_action = name
        elif isinstance(event, ConversationPaused):
            flag("escalated", last_user)
        elif isinstance(event, ActiveLoop):
            if event.name and event.name not in NOT_FORMS:
                active_form = event.name
            elif event.name is None and active_form:
                if last_action == DEACTIVATE:
                    flag("failed_form", last_user)
                active_form = None
        elif isinstance(event, ActionExecutionRejected):
            if event.action_name and event.action_name == active_form:
                flag("failed_form", last_user)
        elif isinstance(event, SlotSet):
            if event.key == "handoff_active" and event.value is True:
                flag("escalated", last_user)
            if event.key == SATISFACTION_SLOT and event.value is not None:
                score = _slot_score(event.value)
                if score is not None and score <= filters.max_satisfaction:
                    flag("low_satisfaction", last_user)
            if mask:
                masked = SlotSet(event.key, masking.mask_slot_value(event.key, event.value), timestamp=event.timestamp)
        elif isinstance(event, BotUttered) and mask:
            masked = BotUttered(text=masking.mask_text(event.text or "", known=known)[0] if event.text else event.text,
                                data={}, metadata={}, timestamp=event.timestamp)
        masked_events.append(masked)
    if active_form:  # still inside a form when the conversation stopped
        flag("failed_form", last_user)

    timestamps = [e.timestamp for e in events if getattr(e, "timestamp", None)]
    for message in messages:
        message.conversation_flags = sorted(flags, key=FLAGS.index)
        message.flags.sort(key=FLAGS.index)
    return Conversation(
        sender_id=sender_id,
        started=min(timestamps) if timestamps else None,
        ended=max(timestamps) if timestamps else None,
        flags=flags,
        messages=messages,
        events=masked_events,
    )


def load_conversations(store, filters: Filters = Filters(), mask: bool = True) -> List[Conversation]:
    """Conversations in the date range that have any of the requested flags, most recent first.

    ``filters.scan_limit`` caps how many of the most recent conversations are read;
    ``filters.limit`` how many matching ones are returned.
    """
    found: List[Conversation] = []
    ids = conversation_ids(store, filters.since, filters.until, limit=filters.scan_limit)
    for start in range(0, len(ids), 500):
        batch = ids[start:start + 500]
        events = load_events_bulk(store, batch)
        for sender_id in batch:
            conversation = analyse(sender_id, events.get(sender_id, []), filters, mask)
            if filters.flags and not (conversation.flags & set(filters.flags)):
                continue
            found.append(conversation)
            if filters.limit and len(found) >= filters.limit:
                return found
    return found


def review_messages(conversations: Iterable[Conversation], only_flagged: bool = False) -> List[ReviewMessage]:
    """Messages lowest confidence first; the same text (normalised) merged into one row."""
    merged: Dict[str, ReviewMessage] = {}
    for conversation in conversations:
        for message in conversation.messages:
            if only_flagged and not message.flags:
                continue
            key = message.norm
            if not key:
                continue
            seen = merged.get(key)
            if seen is None:
                merged[key] = ReviewMessage(**{**message.__dict__, "flags": list(message.flags),
                                               "conversations": list(message.conversations)})
                continue
            seen.count += 1
            if message.conversation_id not in seen.conversations:
                seen.conversations.append(message.conversation_id)
            seen.flags = sorted(set(seen.flags) | set(message.flags), key=FLAGS.index)
            seen.conversation_flags = sorted(set(seen.conversation_flags) | set(message.conversation_flags),
                                             key=FLAGS.index)
            if message.confidence < seen.confidence:
                for attr in ("id", "conversation_id", "timestamp", "text", "intent", "confidence", "ranking", "entities"):
                    setattr(seen, attr, getattr(message, attr))
    return sorted(merged.values(), key=lambda m: (m.confidence, -m.count, m.timestamp or 0))


def test_story_yaml(conversations: Iterable[Conversation]) -> str:
    """The conversations in Rasa's test-story format (user text + intent, actions, slots, loops)."""
    from rasa.shared.core.events import SessionStarted, UserUttered
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter
    from rasa.shared.core.training_data.structures import Story

    steps = []
    for conversation in conversations:
        events = [e for e in conversation.events if not isinstance(e, SessionStarted)]
        events = [e for e in events if not (isinstance(e, UserUttered) and is_external_text(e.text))]
        name = f"{conversation.sender_id} [{', '.join(sorted(conversation.flags, key=FLAGS.index)) or 'ok'}]"
        steps += Story.from_events(events, name).story_steps
    if not steps:
        return 'version: "3.1"\nstories: []\n'
    return YAMLStoryWriter().dumps(steps, is_test_story=True)
