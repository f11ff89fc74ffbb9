"""Rasa tracker events (as JSON dicts) -> the messages people read. One home for:

- which user events the customer did not type (``is_external``): intents the server
  triggers itself through Rasa's trigger_intent API or reminders ("EXTERNAL: <intent>",
  ``is_external`` metadata) and Kefu's external intents ("EXTERNAL_…", "/EXTERNAL_…");
- who wrote a bot event (an agent: ``metadata.agent = {"id", "name"}``; the agent's
  join/leave notices: ``metadata.kind``);
- the agent's transcript (desk/transcript.py adds the desk's time zone), the hand-over
  summary (actions/escalation.py), and the filters of the widget history
  (widget/history.py) and the trainer's export (kefu/training/conversations.py).

Pure functions over event dicts; no Rasa import (the core never imports Rasa).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

EXTERNAL_TEXT_PREFIX = "EXTERNAL: "  # Rasa's text for an intent triggered through its API
EXTERNAL_INTENT_PREFIX = "EXTERNAL_"  # Kefu's server-side intents, e.g. /EXTERNAL_handoff_resolved
SUMMARY_MESSAGES = 20  # messages in a hand-over summary

_SYSTEM_TEXT = {"pause": "对话已转人工（机器人暂停）", "resume": "对话已交回机器人"}


def is_external_text(text: str | None) -> bool:
    """Text of a user event that the server triggered, not the customer."""
    text = text or ""
    return text.startswith((EXTERNAL_TEXT_PREFIX, EXTERNAL_INTENT_PREFIX, "/" + EXTERNAL_INTENT_PREFIX))


def is_external(event: Mapping[str, Any]) -> bool:
    """A user event the customer did not type (see the module docstring)."""
    if event.get("event") != "user":
        return False
    metadata = event.get("metadata") or {}
    return is_external_text(event.get("text")) or metadata.get("is_external") is True


def agent_of(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The agent who wrote a bot event ({"id", "name"}), else None."""
    agent = (event.get("metadata") or {}).get("agent")
    return agent if isinstance(agent, dict) and agent.get("id") else None


def _clock_time(timestamp: float | None, tz: dt.tzinfo | None) -> str | None:
    if timestamp is None:
        return None
    moment = dt.datetime.fromtimestamp(float(timestamp), tz=dt.timezone.utc)
    return moment.astimezone(tz or dt.timezone.utc).strftime("%H:%M:%S")


def message_from_event(index: int, event: Mapping[str, Any], tz: dt.tzinfo | None = None) -> dict[str, Any] | None:
    """One transcript line (role customer/bot/agent/system), or None for events nobody reads."""
    kind = event.get("event")
    base = {"index": index, "at": _clock_time(event.get("timestamp"), tz)}
    if kind == "user":
        text = str(event.get("text") or "")
        if not text or is_external(event):
            return None
        # What the NLU processed, never a client-chosen display text; a button's payload
        # ("/…") is shown with the label the customer clicked.
        display = (event.get("metadata") or {}).get("display_text")
        if display and text.startswith("/") and str(display) != text:
            text = f"{display}（{text}）"
        return {**base, "role": "customer", "text": text}
    if kind == "bot":
        metadata = event.get("metadata") or {}
        text = str(event.get("text") or "")
        if not text:
            return None
        if metadata.get("kind") in ("joined", "left"):  # the agent's join/leave notice
            return {**base, "role": "system", "text": text}
        agent = agent_of(event)
        if agent is not None:
            return {**base, "role": "agent", "text": text, "agent": str(agent.get("name") or agent["id"])}
        return {**base, "role": "bot", "text": text}
    if isinstance(kind, str) and kind in _SYSTEM_TEXT:
        return {**base, "role": "system", "text": _SYSTEM_TEXT[kind]}
    return None


def transcript(
    events: Iterable[Mapping[str, Any]], after: int = -1, tz: dt.tzinfo | None = None
) -> list[dict[str, Any]]:
    """Messages of events with index > ``after`` (the desk polls for what is new)."""
    messages = []
    for index, event in enumerate(events):
        if index <= after:
            continue
        message = message_from_event(index, event, tz)
        if message is not None:
            messages.append(message)
    return messages


def summary_messages(events: Iterable[Mapping[str, Any]], limit: int = SUMMARY_MESSAGES) -> list[dict[str, Any]]:
    """The last ``limit`` customer/bot/agent messages for a hand-over summary (raw timestamps)."""
    messages = []
    for event in events:
        kind, text = event.get("event"), event.get("text")
        if not text or kind not in ("user", "bot") or is_external(event):
            continue
        role = "customer" if kind == "user" else ("agent" if agent_of(event) else "bot")
        messages.append({"role": role, "text": text, "at": event.get("timestamp")})
    return messages[-limit:]
