"""Helpers shared by Kefu's actions: service calls, customer identity, formatting.

Actions stay thin: they read slots, call the service layer (kefu/) in a worker thread
(SQLAlchemy is synchronous; the action server's event loop must not block), and turn
results into responses from domain.yml.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
import logging
from typing import Any, Callable, Dict, Iterable, List, Optional, TypeVar

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from kefu import settings
from kefu.db import session_scope
from kefu.errors import ServiceUnavailable
from kefu.nlp.normalize import extract_phone
from kefu.services import archive, customers
from kefu.tokens import verify_customer_token

logger = logging.getLogger(__name__)
T = TypeVar("T")

WEEKDAYS = "一二三四五六日"


async def in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(functools.partial(func, *args, **kwargs))


async def with_session(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `work(session, ...)` in one transaction in a worker thread."""

    def run() -> T:
        with session_scope() as session:
            return work(session, *args, **kwargs)

    return await in_thread(run)


def service_failure(dispatcher: CollectingDispatcher, error: BaseException) -> List[Dict[str, Any]]:
    """Tell the customer honestly that nothing was saved; keep their slots."""
    if isinstance(error, ServiceUnavailable):
        logger.error("service database unavailable: %s", error)
    else:
        logger.exception("action failed", exc_info=error)
    dispatcher.utter_message(response="utter_service_unavailable")
    return []


# --- customer identity -------------------------------------------------------------


def customer_claims(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """Claims of a verified signed customer token from the chat's latest customer message.

    The widget on a signed-in page sends the token with every message, and each message
    is checked on its own: a message without a token is anonymous, even if an earlier one
    in this conversation was signed in (whoever holds a conversation id does not inherit
    an identity). External events (the desk's hand-back) are not the customer's: the
    latest message the customer sent decides.
    """
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        metadata = event.get("metadata") or {}
        if metadata.get("is_external") is True:
            continue
        token = metadata.get("customer_token")
        return verify_customer_token(token) if token else None
    return None


def verified_phone(tracker: Tracker) -> Optional[str]:
    claims = customer_claims(tracker)
    return claims.get("phone") if claims else None


def contact_phone(tracker: Tracker) -> Optional[str]:
    """A phone to call the customer on: the verified one, else a valid `phone` slot.

    Inside a form the slot may still hold the raw answer being validated ("12345")."""
    return verified_phone(tracker) or extract_phone(str(tracker.get_slot("phone") or "")) or None


_UNSET = object()


def contact_name(tracker: Tracker) -> Optional[str]:
    """The name the customer gave, as tickets and hand-overs carry it: the person_name slot
    read as a name ("姓张" -> "张", DIET's token for "我姓张"), or the surname a message gives
    where the NLU found no name or another one ("我姓张"; "我姓刘不姓王" tagged 王); a full
    name the same turn tagged ("我姓张 叫张三") stays whole. The latest turn that names
    someone wins. A surname stays a surname: no 先生/女士 is guessed."""
    from kefu.nlp.names import person_name, surname_said

    def as_name(value: Any) -> Optional[str]:
        return (person_name(str(value)) or str(value).strip() or None) if value else None

    tagged: Any = _UNSET  # the latest person_name value set after the user message being looked at
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == "person_name":
            tagged = event.get("value") if tagged is _UNSET else tagged
        elif event.get("event") == "user":
            name = as_name(tagged) if tagged is not _UNSET else None
            surname = surname_said(event.get("text") or "")
            if surname and not (name and name.startswith(surname)):
                return surname
            if tagged is not _UNSET:
                return name
    return as_name(tagged if tagged is not _UNSET else tracker.get_slot("person_name"))


def verified_customer_id(tracker: Tracker) -> Optional[int]:
    claims = customer_claims(tracker)
    return int(claims["customer_id"]) if claims and claims.get("customer_id") is not None else None


async def registered_products(tracker: Tracker, category: Optional[str] = None) -> List[Dict[str, Any]]:
    """The verified token owner's registered products (保养卡), of one category if given,
    as kefu.services.archive.product_card dicts.

    Empty for everyone else -- a phone typed in chat opens nothing -- and when the look-up
    fails (the card is a convenience: the caller asks or answers in general)."""
    customer_id = verified_customer_id(tracker)
    if customer_id is None:
        return []

    def read(session: Any) -> List[Dict[str, Any]]:
        return [archive.product_card(p) for p in customers.registered_products(session, customer_id, category=category)]

    try:
        return await with_session(read)
    except Exception as error:
        logger.warning("registered product lookup failed: %s", error)
        return []


# --- formatting -------------------------------------------------------------------------


def local_time(moment: Optional[dt.datetime]) -> Optional[dt.datetime]:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(settings.service_config().tz)


def format_moment(moment: Optional[dt.datetime]) -> str:
    """`11月23日（周一）18:00` in the service centre's time zone."""
    local = local_time(moment)
    if local is None:
        return "尽快"
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def format_window(start: Optional[dt.datetime], end: Optional[dt.datetime]) -> str:
    if start is None:
        return "尽快安排"
    s, e = local_time(start), local_time(end or start)
    if s.date() == e.date():
        return f"{s.month}月{s.day}日（周{WEEKDAYS[s.weekday()]}）{s:%H:%M}–{e:%H:%M}"
    return f"{format_moment(start)} 至 {format_moment(end)}"


def parse_iso(value: Optional[str]) -> Optional[dt.datetime]:
    return dt.datetime.fromisoformat(value) if value else None


def ticket_card(summary: Dict[str, Any]) -> Dict[str, Any]:
    """The widget's ticket card payload (rendered by widget/src)."""
    return {
        "type": "ticket_card",
        "ticket_no": summary["ticket_no"],
        "type_label": summary.get("type_label"),
        "status": summary.get("status"),
        "priority": summary.get("priority"),
        "due_at": format_moment(parse_iso(summary.get("first_response_due"))),
        "appointment": format_window(parse_iso(summary.get("appointment_start")), parse_iso(summary.get("appointment_end"))) if summary.get("appointment_start") else "",
    }


def idempotency_key(tracker: Tracker, kind: str, values: Iterable[Any]) -> str:
    """Same conversation + same request content -> same key -> one ticket.

    Retries, double clicks and network repeats resend identical content; a genuinely
    different second request in the same chat differs in at least one value.
    """
    digest = hashlib.sha256(json.dumps([kind, *values], ensure_ascii=False, default=str).encode()).hexdigest()[:16]
    return f"{tracker.sender_id}:{kind}:{digest}"


@functools.lru_cache(maxsize=None)
def _yaml(name: str) -> Dict[str, Any]:
    return yaml.safe_load((settings.config_dir() / name).read_text(encoding="utf-8"))


def intent_labels() -> Dict[str, Any]:
    return _yaml("intent_labels.yml")


def safety_config() -> Dict[str, Any]:
    return _yaml("safety.yml")


def latest_text(tracker: Tracker) -> str:
    """The latest message as the NLU read it (Simplified, slang mapped: components/normalizer.py)."""
    message = tracker.latest_message or {}
    return message.get("text_normalized") or message.get("text") or ""


def faq_topic(tracker: Tracker) -> Optional[str]:
    """The FAQ topic the ResponseSelector picked for the latest message (``warranty_period``)."""
    selector = ((tracker.latest_message or {}).get("response_selector") or {}).get("faq") or {}
    key = (selector.get("response") or {}).get("intent_response_key") or ""
    return key.split("/", 1)[1] if key.startswith("faq/") else None


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def filled(value: Any) -> bool:
    """A slot value that says something (Rasa resets slots to None, forms may leave "" or [])."""
    return value not in (None, "", [])


def previous_value(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest user message (Rasa may repeat this turn's SlotSet)."""
    before_turn = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            before_turn = True
        elif before_turn and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None
