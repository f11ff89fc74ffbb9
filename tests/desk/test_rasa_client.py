"""kefu.rasa_http against a small fake Rasa HTTP server."""

from __future__ import annotations

import socket

import pytest

from kefu.rasa_http import AgentInfo, RasaClient, RasaUnavailable
from desk.transcript import transcript
from desk_support import RASA_TOKEN

ZHANG = AgentInfo("zhang", "张敏")


@pytest.fixture
def client(fake_rasa):
    rasa = RasaClient(base_url=fake_rasa.url, token=RASA_TOKEN, timeout=3)
    yield rasa
    rasa.close()


def test_tracker_sends_the_token_as_query_parameter(client, fake_rasa):
    fake_rasa.add_user("c1", "你好")
    tracker = client.tracker("c1")
    assert [e["text"] for e in tracker["events"]] == ["你好"]
    (call,) = fake_rasa.requests
    assert (call["method"], call["path"], call["query"]) == ("GET", "/conversations/c1/tracker", {"token": RASA_TOKEN, "include_events": "ALL"})


def test_conversation_ids_are_url_quoted(client, fake_rasa):
    client.tracker("a/b c")
    assert fake_rasa.requests[0]["path"] == "/conversations/a%2Fb%20c/tracker"


def test_agent_messages_use_the_bearer_token(client, fake_rasa):
    client.send_agent("c1", "text", ZHANG, "您好")
    (call,) = fake_rasa.requests
    assert call["path"] == "/webhooks/socketio/agent" and "token" not in call["query"]
    assert call["headers"]["Authorization"] == f"Bearer {RASA_TOKEN}"
    assert call["json"] == {"sender_id": "c1", "kind": "text", "text": "您好", "agent": {"id": "zhang", "name": "张敏"}}
    with pytest.raises(ValueError):
        client.send_agent("c1", "typing", ZHANG)


def test_hand_back_resumes_then_triggers_the_resolved_intent(client, fake_rasa):
    client.hand_back("c1", "TS20261122-0001")
    resume, trigger = fake_rasa.requests
    assert (resume["method"], resume["path"], resume["json"]) == ("POST", "/conversations/c1/tracker/events", [{"event": "resume"}, {"event": "action", "name": "action_listen"}])
    assert resume["query"] == {"token": RASA_TOKEN}
    assert trigger["path"] == "/conversations/c1/trigger_intent"
    assert trigger["query"] == {"output_channel": "latest", "token": RASA_TOKEN}
    assert trigger["json"] == {"name": "EXTERNAL_handoff_resolved", "entities": {"ticket_no": "TS20261122-0001"}}
    client.hand_back("c2")
    assert fake_rasa.requests[-1]["json"]["entities"] == {}


def test_errors_become_rasa_unavailable(client, fake_rasa):
    fake_rasa.fail = True
    with pytest.raises(RasaUnavailable) as info:
        client.tracker("c1")
    assert info.value.code == "rasa_unavailable" and info.value.details["status"] == 500
    wrong = RasaClient(base_url=fake_rasa.url, token="wrong")
    fake_rasa.fail = False
    with pytest.raises(RasaUnavailable):
        wrong.send_agent("c1", "text", ZHANG, "hi")


def test_unreachable_rasa(monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("KEFU_RASA_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("KEFU_RASA_TOKEN", "from-env")
    rasa = RasaClient(timeout=1)
    assert rasa.base_url == f"http://127.0.0.1:{port}" and rasa.token == "from-env"
    with pytest.raises(RasaUnavailable):
        rasa.hand_back("c1")


def test_transcript_from_tracker_events():
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "我要投诉", "timestamp": 1795000000.0},
        {"event": "bot", "text": "非常抱歉给您带来不便", "timestamp": 1795000001.0},
        {"event": "user", "text": "EXTERNAL_handoff_resolved"},
        {"event": "pause"},
        {"event": "bot", "text": "客服张敏已接入", "metadata": {"agent": {"id": "zhang", "name": "张敏"}, "kind": "joined"}},
        {"event": "bot", "text": "您好", "metadata": {"agent": {"id": "zhang", "name": "张敏"}}},
        {"event": "user", "text": "/inform", "metadata": {"display_text": "5 星"}},
        {"event": "resume"},
        {"event": "bot", "text": ""},
    ]
    messages = transcript(events)
    assert [(m["index"], m["role"], m["text"]) for m in messages] == [
        (1, "customer", "我要投诉"),
        (2, "bot", "非常抱歉给您带来不便"),
        (4, "system", "对话已转人工（机器人暂停）"),
        (5, "system", "客服张敏已接入"),
        (6, "agent", "您好"),
        (7, "customer", "5 星（/inform）"),
        (8, "system", "对话已交回机器人"),
    ]
    assert messages[0]["at"] == "19:06:40"  # Asia/Shanghai
    assert messages[4]["agent"] == "张敏"
    assert [m["index"] for m in transcript(events, after=5)] == [6, 7, 8]
