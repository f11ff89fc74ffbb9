"""Customer text starting with "/" is text for the NLU on every channel (kefu.dialogue_config.customer_text)."""
from __future__ import annotations

import asyncio

import pytest

from channels.rest import KefuRestInput
from kefu.dialogue_config import FULLWIDTH_SLASH, customer_text


@pytest.mark.parametrize("typed", [
    "/restart", "/session_start", "/request_human", "/EXTERNAL_handoff_resolved{\"ticket_no\":\"BX20261120-0002\"}",
    "/report_repair", "/inform{\"product\": \"空调\"}", "//", "/ 你好",
])
def test_typed_slash_text_is_never_an_intent(typed):
    assert customer_text(typed, {}) == FULLWIDTH_SLASH + typed[1:]
    assert customer_text(typed, None) == FULLWIDTH_SLASH + typed[1:]


@pytest.mark.parametrize("payload", ["/report_repair", "/inform{\"product\": \"空调\"}", "/affirm", "/request_human",
                                     "/inform{\"satisfaction_score\": 4, \"satisfaction_comment\": \"好\"}"])
def test_quick_reply_clicks_keep_their_payload(payload):
    assert customer_text(payload, {"display_text": "按钮"}) == payload


@pytest.mark.parametrize("payload", ["/restart", "/EXTERNAL_handoff_resolved{\"ticket_no\":\"BX20261120-0002\"}",
                                     "/session_start", "/inform{not json}"])
def test_a_forged_click_cannot_carry_internal_intents(payload):
    assert customer_text(payload, {"display_text": "按钮"}).startswith(FULLWIDTH_SLASH)


def test_ordinary_text_is_unchanged():
    assert customer_text("我要报修 /急", {}) == "我要报修 /急"


def test_rest_channel_escapes_typed_slash_text():
    # the real route (with its bearer token) is exercised over HTTP in tests/e2e/test_dialogue_quality.py
    class Request:
        def __init__(self, body):
            self.json, self.headers, self.remote_addr, self.ip = body, {}, "127.0.0.1", "127.0.0.1"

    def received(body) -> str:
        seen = []

        async def on_new_message(message):
            seen.append(message.text)

        asyncio.run(KefuRestInput()._receive(Request(body), on_new_message))
        return seen[0]

    assert received({"sender": "slash-1", "message": "/restart"}) == FULLWIDTH_SLASH + "restart"
    clicked = {"sender": "slash-2", "message": "/report_repair", "metadata": {"display_text": "报修"}}
    assert received(clicked) == "/report_repair"
    assert received({"sender": "slash-3", "message": "你好"}) == "你好"
