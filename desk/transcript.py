"""Rasa tracker events -> the transcript an agent reads.

Each message keeps the index of its event, so the page polls for "events after N"
and appends only what is new.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Optional

from kefu.escalation.desk_config import desk_config

EXTERNAL_PREFIX = "EXTERNAL"  # intents the server triggers itself; not typed by the customer

_SYSTEM_TEXT = {"pause": "对话已转人工（机器人暂停）", "resume": "对话已交回机器人"}


def _time(timestamp: Optional[float]) -> Optional[str]:
    if timestamp is None:
        return None
    moment = dt.datetime.fromtimestamp(float(timestamp), tz=dt.timezone.utc)
    return moment.astimezone(desk_config().tz).strftime("%H:%M:%S")


def message_from_event(index: int, event: dict[str, Any]) -> Optional[dict[str, Any]]:
    kind = event.get("event")
    base = {"index": index, "at": _time(event.get("timestamp"))}
    if kind == "user":
        text = str(event.get("text") or "")
        if not text or text.startswith(EXTERNAL_PREFIX) or text.startswith("/" + EXTERNAL_PREFIX):
            return None
        # What the NLU processed, never a client-chosen display text; a button's payload
        # ("/…") is shown with the label the customer clicked.
        display = (event.get("metadata") or {}).get("display_text")
        if display and text.startswith("/") and str(display) != text:
            text = f"{display}（{text}）"
        return {**base, "role": "customer", "text": text}
    if kind == "bot":
        metadata = event.get("metadata") or {}
        agent = metadata.get("agent")
        text = str(event.get("text") or "")
        if not text:
            return None
        if metadata.get("kind") in ("joined", "left"):  # the agent's join/leave notice
            return {**base, "role": "system", "text": text}
        if isinstance(agent, dict) and agent.get("id"):
            return {**base, "role": "agent", "text": text, "agent": str(agent.get("name") or agent["id"])}
        return {**base, "role": "bot", "text": text}
    if kind in _SYSTEM_TEXT:
        return {**base, "role": "system", "text": _SYSTEM_TEXT[kind]}
    return None


def transcript(events: Iterable[dict[str, Any]], after: int = -1) -> list[dict[str, Any]]:
    """Messages of events with index > ``after``."""
    messages = []
    for index, event in enumerate(events):
        if index <= after:
            continue
        message = message_from_event(index, event)
        if message is not None:
            messages.append(message)
    return messages
