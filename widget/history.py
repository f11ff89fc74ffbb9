"""Turns a Rasa tracker into the widget's chat history (user/bot messages only)."""

from __future__ import annotations

import json
from typing import Any

from kefu.transcript import is_external

MAX_MESSAGES = 200
SURVEY_PREFIX = "/inform"


def _stars(score: int) -> str:
    score = max(0, min(5, score))
    return "★" * score + "☆" * (5 - score)


def survey_answer_text(text: str) -> str | None:
    """'/inform{"satisfaction_score": 4, ...}' -> '★★★★☆ comment', else None."""
    if not text.startswith(SURVEY_PREFIX + "{"):
        return None
    try:
        data = json.loads(text[len(SURVEY_PREFIX):])
        score = int(data["satisfaction_score"])
    except (ValueError, KeyError, TypeError):
        return None
    comment = str(data.get("satisfaction_comment") or "").strip()
    return f"{_stars(score)} {comment}" if comment else _stars(score)


def _buttons(data: dict[str, Any]) -> list[dict[str, str]]:
    buttons = data.get("quick_replies") or data.get("buttons") or []
    return [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", b.get("title", "")))}
        for b in buttons
        if isinstance(b, dict) and b.get("title") is not None
    ]


def bot_payload(event: dict[str, Any]) -> dict[str, Any] | None:
    """A tracker `bot` event in the shape of a live socket.io `bot_uttered` payload."""
    data = event.get("data") or {}
    metadata = event.get("metadata") or {}
    payload: dict[str, Any] = {}
    if event.get("text"):
        payload["text"] = event["text"]
    buttons = _buttons(data)
    if buttons:
        payload["quick_replies"] = buttons
    if data.get("image"):
        payload["attachment"] = {"type": "image", "payload": {"src": data["image"]}}
    elif isinstance(data.get("attachment"), dict):
        payload["attachment"] = data["attachment"]
    if isinstance(data.get("custom"), dict):
        payload["custom"] = data["custom"]
    agent = metadata.get("agent") or data.get("agent")
    if isinstance(agent, dict) and agent.get("name"):
        payload["agent"] = {"id": agent.get("id"), "name": agent["name"]}
    return payload or None


def messages_from_tracker(tracker: dict[str, Any] | None) -> list[dict[str, Any]]:
    """User and bot messages in order; button payloads shown by their titles."""
    messages: list[dict[str, Any]] = []
    titles: dict[str, str] = {}  # payload -> title of the latest bot buttons
    for event in (tracker or {}).get("events") or []:
        kind = event.get("event")
        if kind == "bot":
            payload = bot_payload(event)
            if payload is None:
                continue
            titles = {b["payload"]: b["title"] for b in payload.get("quick_replies", [])}
            messages.append({"role": "bot", "payload": payload, "timestamp": event.get("timestamp")})
        elif kind == "user":
            text = event.get("text") or ""
            if not text or is_external(event):  # triggered by the server, not typed
                continue
            metadata = event.get("metadata") or {}
            if metadata.get("opened_chat"):  # the widget greeted for a signed-in customer: not their words
                continue
            survey = survey_answer_text(text)
            display = metadata.get("display_text") or titles.get(text) or survey or text
            message: dict[str, Any] = {"role": "user", "text": str(display), "timestamp": event.get("timestamp")}
            if metadata.get("client_message_id"):
                message["client_message_id"] = str(metadata["client_message_id"])
            if survey:
                message["survey_answer"] = True
            messages.append(message)
    return messages[-MAX_MESSAGES:]
