"""The FAQ answers state the hours the product actually runs on: the online human agents'
hours are config/desk.yml agent_hours (when the bot queues a customer for a person), the
hotline's config/service.yml business_hours. The service-hours answer said "人工客服 8:00–20:00"
while the hand-off message said 08:00–22:00 (found chatting as a customer)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from kefu.escalation.desk_config import desk_config
from kefu.settings import service_config

ROOT = Path(__file__).resolve().parents[2]


def hours(text: str, after: str) -> list:
    """The "H:MM–H:MM" spans that follow ``after`` in ``text`` (before the next sentence break)."""
    spans = []
    for match in re.finditer(after + r"[^。；]*?(\d{1,2}:\d{2})[–-](\d{1,2}:\d{2})", text):
        spans.append((match.group(1), match.group(2)))
    return spans


def clock(value) -> str:
    return f"{value.hour}:{value.minute:02d}"


def test_the_service_hours_answers_give_the_configured_hours():
    answers = yaml.safe_load((ROOT / "data" / "faq_responses.yml").read_text(encoding="utf-8"))["responses"]
    texts = [v["text"] for v in answers["utter_faq/service_hours"]]
    agents = (clock(desk_config().agent_hours.open), clock(desk_config().agent_hours.close))
    hotline = (clock(service_config().business_hours.open), clock(service_config().business_hours.close))
    for text in texts:
        assert hours(text, "人工客服") == [agents], text
        assert hours(text, "热线")[0] == hotline, text
