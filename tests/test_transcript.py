"""One transcript module: the desk, the hand-over summary and the widget history agree."""

from __future__ import annotations

from kefu import transcript
from widget.history import messages_from_tracker

EVENTS = [
    {"event": "user", "text": "我的空调不制冷", "timestamp": 1.0},
    {"event": "bot", "text": "请问您的手机号是？", "timestamp": 2.0},
    {"event": "user", "text": "EXTERNAL: handoff_resolved", "metadata": {"is_external": True}, "timestamp": 3.0},
    {"event": "user", "text": "/EXTERNAL_handoff_expired", "timestamp": 4.0},
    {"event": "user", "text": "EXTERNAL 是什么意思", "timestamp": 5.0},  # typed by the customer
    {
        "event": "bot",
        "text": "您好，我是客服小王",
        "metadata": {"agent": {"id": "7", "name": "小王"}},
        "timestamp": 6.0,
    },
]
TYPED = ["我的空调不制冷", "EXTERNAL 是什么意思"]


def test_server_triggered_intents_are_external():
    assert transcript.is_external(EVENTS[2]) and transcript.is_external(EVENTS[3])
    assert not transcript.is_external(EVENTS[0]) and not transcript.is_external(EVENTS[4])
    assert not transcript.is_external({"event": "bot", "text": "EXTERNAL: x"})
    assert transcript.is_external_text("/EXTERNAL_handoff_resolved")
    assert transcript.is_external_text("EXTERNAL_handoff_resolved")


def test_desk_summary_and_widget_show_the_same_customer_messages():
    desk = [m["text"] for m in transcript.transcript(EVENTS) if m["role"] == "customer"]
    summary = [m["text"] for m in transcript.summary_messages(EVENTS) if m["role"] == "customer"]
    widget = [m["text"] for m in messages_from_tracker({"events": EVENTS}) if m["role"] == "user"]
    assert desk == summary == widget == TYPED


def test_agent_messages_are_the_agents_everywhere():
    assert [m["role"] for m in transcript.summary_messages(EVENTS)] == ["customer", "bot", "customer", "agent"]
    assert transcript.transcript(EVENTS)[-1] == {
        "index": 5,
        "at": "00:00:06",
        "role": "agent",
        "text": "您好，我是客服小王",
        "agent": "小王",
    }
    assert transcript.summary_messages(EVENTS, limit=1) == [{"role": "agent", "text": "您好，我是客服小王", "at": 6.0}]
