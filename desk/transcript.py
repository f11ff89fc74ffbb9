"""Rasa tracker events -> the transcript an agent reads (kefu/transcript.py, in the desk's time zone).

Each message keeps the index of its event, so the page polls for "events after N"
and appends only what is new.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from kefu import transcript as _transcript
from kefu.escalation.desk_config import desk_config


def message_from_event(index: int, event: dict[str, Any]) -> Optional[dict[str, Any]]:
    return _transcript.message_from_event(index, event, desk_config().tz)


def transcript(events: Iterable[dict[str, Any]], after: int = -1) -> list[dict[str, Any]]:
    """Messages of events with index > ``after``."""
    return _transcript.transcript(events, after, desk_config().tz)
