"""GET /widget/api/history: tracker -> user/bot messages, never leaking the token."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect
from starlette.testclient import TestClient

from kefu.tokens import sign_history_token
from widget.app import standalone_app
from widget.history import messages_from_tracker, survey_answer_text

SESSION = "3f0c6b6e-2f6a-4a51-9b0e-2f3d2c1b0a99"
OTHER = "9a1d2c3b-4e5f-4a6b-8c7d-0e1f2a3b4c5d"


def held(session_id: str = SESSION) -> dict:
    """The header a widget sends: its conversation's signed history token."""
    return {"X-Kefu-History-Token": sign_history_token(session_id)}


def test_tracker_events_become_chat_messages():
    tracker = {"events": [
        {"event": "session_started", "timestamp": 1},
        {"event": "action", "name": "action_listen", "timestamp": 2},
        {"event": "user", "text": "你好", "timestamp": 3, "metadata": {"client_message_id": "m1", "customer_token": "secret"}},
        {"event": "bot", "text": "请选择", "timestamp": 4, "metadata": {},
         "data": {"buttons": [{"title": "我要报修", "payload": "/report_repair"}], "custom": None}},
        {"event": "user", "text": "/report_repair", "timestamp": 5},
        {"event": "slot", "name": "product", "value": "空调", "timestamp": 6},
        {"event": "bot", "text": None, "timestamp": 7, "data": {"custom": {"type": "ticket_card", "ticket_no": "BX1"}}},
        {"event": "user", "text": "EXTERNAL: reminder", "timestamp": 8},
        {"event": "bot", "text": "我是客服张敏", "timestamp": 9, "metadata": {"agent": {"id": "a1", "name": "张敏"}}, "data": {}},
        {"event": "bot", "text": None, "timestamp": 10, "data": {"image": "https://cdn.example/a.png"}},
        {"event": "user", "text": "/inform{\"satisfaction_score\": 4, \"satisfaction_comment\": \"好\"}", "timestamp": 11},
        {"event": "user", "text": "/greet", "timestamp": 12, "metadata": {"display_text": "您好"}},
        {"event": "bot", "text": None, "timestamp": 13, "data": {}},
    ]}
    assert messages_from_tracker(tracker) == [
        {"role": "user", "text": "你好", "timestamp": 3, "client_message_id": "m1"},
        {"role": "bot", "timestamp": 4, "payload": {"text": "请选择", "quick_replies": [{"title": "我要报修", "payload": "/report_repair"}]}},
        {"role": "user", "text": "我要报修", "timestamp": 5},
        {"role": "bot", "timestamp": 7, "payload": {"custom": {"type": "ticket_card", "ticket_no": "BX1"}}},
        {"role": "bot", "timestamp": 9, "payload": {"text": "我是客服张敏", "agent": {"id": "a1", "name": "张敏"}}},
        {"role": "bot", "timestamp": 10, "payload": {"attachment": {"type": "image", "payload": {"src": "https://cdn.example/a.png"}}}},
        {"role": "user", "text": "★★★★☆ 好", "timestamp": 11, "survey_answer": True},
        {"role": "user", "text": "您好", "timestamp": 12},
    ]


def test_the_automatic_greeting_of_a_signed_in_customer_is_not_shown_as_theirs():
    events = [
        {"event": "user", "text": "/greet", "timestamp": 1,
         "metadata": {"display_text": "你好", "opened_chat": "1", "customer_token": "t"}},
        {"event": "bot", "text": "周明，您好！", "timestamp": 2, "data": {}},
        {"event": "user", "text": "/greet", "timestamp": 3, "metadata": {"display_text": "你好"}},
    ]
    assert messages_from_tracker({"events": events}) == [
        {"role": "bot", "timestamp": 2, "payload": {"text": "周明，您好！"}},
        {"role": "user", "text": "你好", "timestamp": 3},
    ]


def test_history_is_capped():
    events = [{"event": "user", "text": f"m{i}", "timestamp": i} for i in range(250)]
    messages = messages_from_tracker({"events": events})
    assert len(messages) == 200 and messages[-1]["text"] == "m249"


def test_survey_answer_text():
    assert survey_answer_text('/inform{"satisfaction_score": 5, "satisfaction_comment": ""}') == "★★★★★"
    assert survey_answer_text('/inform{"product": "空调"}') is None
    assert survey_answer_text("/inform{broken") is None


@pytest.fixture
def client(monkeypatch, fake_rasa):
    monkeypatch.setenv("KEFU_RASA_URL", fake_rasa.url)
    monkeypatch.setenv("KEFU_RASA_TOKEN", "widget-test-token")
    return TestClient(standalone_app())


def test_invalid_session_id_is_rejected(client):
    for bad in ["", "abc", "../../status", SESSION + "x"]:
        response = client.get("/widget/api/history", params={"session_id": bad})
        assert response.status_code == 400


def test_unknown_session_has_empty_history(client):
    response = client.get("/widget/api/history", params={"session_id": SESSION}, headers=held())
    assert response.status_code == 200
    assert response.json() == {"session_id": SESSION, "messages": []}
    assert response.headers["cache-control"] == "no-store"


def test_wrong_token_or_rasa_down_is_a_502_without_details(client, monkeypatch):
    monkeypatch.setenv("KEFU_RASA_TOKEN", "wrong-token")
    response = client.get("/widget/api/history", params={"session_id": SESSION}, headers=held())
    assert response.status_code == 502 and "token" not in response.text
    monkeypatch.setenv("KEFU_RASA_URL", "http://127.0.0.1:9")  # nothing listens there
    response = client.get("/widget/api/history", params={"session_id": SESSION}, headers=held())
    assert response.status_code == 502
    assert response.json() == {"error": "rasa_unavailable", "messages": []}


def test_history_after_a_conversation_never_contains_the_token(chat, widget_server, fake_rasa):
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    url = f"{widget_server}/api/history?session_id={chat.session_id()}"
    with urllib.request.urlopen(urllib.request.Request(url, headers=held(chat.session_id()))) as response:
        raw = response.read().decode()
        assert response.headers["Access-Control-Allow-Origin"] is None  # only sent for CORS requests
    body = json.loads(raw)
    assert [m["role"] for m in body["messages"]] == ["user", "bot"]
    assert body["messages"][0]["text"] == "你好"
    assert "widget-test-token" not in raw


def test_history_allows_cross_origin_reads(widget_server):
    request = urllib.request.Request(f"{widget_server}/api/history?session_id={SESSION}",
                                     headers={"Origin": "https://shop.example.com", **held()})
    with urllib.request.urlopen(request) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_history_needs_the_conversations_own_token(client):
    """Issue 11, item 9: the conversation id alone no longer opens its history."""
    url = "/widget/api/history"
    assert client.get(url, params={"session_id": SESSION}).status_code == 403
    assert client.get(url, params={"session_id": SESSION}, headers=held(OTHER)).status_code == 403  # another's
    forged = held()["X-Kefu-History-Token"][:-2] + "xx"
    assert client.get(url, params={"session_id": SESSION}, headers={"X-Kefu-History-Token": forged}).status_code == 403
    assert client.get(url, params={"session_id": SESSION}, headers=held()).status_code == 200


def test_history_token_expires(client, pinned_clock):
    from kefu.settings import service_config

    token = held()
    pinned_clock.advance(seconds=service_config().tokens.history_ttl_seconds + 1)
    assert client.get("/widget/api/history", params={"session_id": SESSION}, headers=token).status_code == 403


def test_cross_origin_preflight_allows_the_token_header(widget_server):
    request = urllib.request.Request(f"{widget_server}/api/history?session_id={SESSION}", method="OPTIONS", headers={
        "Origin": "https://shop.example.com", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-kefu-history-token"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        assert "x-kefu-history-token" in response.headers["Access-Control-Allow-Headers"].lower()


def test_widget_keeps_the_token_from_the_channel_and_a_stranger_gets_no_history(chat, widget_server, fake_rasa):
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    session_id = chat.session_id()
    url = f"{widget_server}/api/history?session_id={session_id}"
    try:
        urllib.request.urlopen(url)
        raise AssertionError("history without the token")
    except urllib.error.HTTPError as error:
        assert error.code == 403
    chat.reload()
    assert chat.session_id() == session_id
    # the widget read its history with the token it holds
    expect(chat.page.locator(".kf-divider")).to_have_text("以上为历史消息")
    expect(chat.user_bubbles()).to_have_text(["你好"])
