"""Kefu's socket.io channel over real WebSocket and long-polling transports."""
from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from channels.socketio import EMPTY_MESSAGE_REPLY
from e2e_support import Customer


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_greeting_round_trip(stack, transport):
    async def scenario():
        async with Customer(stack.rasa_url, transport) as customer:
            await customer.say("你好")
            reply = await customer.next()
            assert "小暖" in reply["text"]

    asyncio.run(scenario())


def test_empty_message_gets_a_clear_answer(stack):
    async def scenario():
        async with Customer(stack.rasa_url, "websocket") as customer:
            await customer.say("   \u200b  ")
            assert (await customer.next())["text"] == EMPTY_MESSAGE_REPLY

    asyncio.run(scenario())


def test_agent_messages_reach_the_customer_and_the_tracker(stack):
    token = stack.env["KEFU_RASA_TOKEN"]
    url = f"{stack.rasa_url}/webhooks/socketio/agent"

    async def scenario():
        async with Customer(stack.rasa_url, "websocket") as customer:
            await customer.say("你好")
            await customer.next()
            body = {"sender_id": customer.session_id, "kind": "text", "text": "您好，我是客服张敏", "agent": {"id": "zhang", "name": "张敏"}}
            async with httpx.AsyncClient() as http:
                denied = await http.post(url, json=body)
                assert denied.status_code == 401
                ok = await http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
                assert ok.status_code == 200
            message = await customer.next(5)  # "within a second" in practice; 5 s bound for a busy CI box
            assert message == {"text": "您好，我是客服张敏", "agent": {"id": "zhang", "name": "张敏"}}
            tracker = httpx.get(f"{stack.rasa_url}/conversations/{customer.session_id}/tracker", params={"token": token}).json()
            agent_events = [e for e in tracker["events"] if e["event"] == "bot" and (e.get("metadata") or {}).get("agent")]
            assert agent_events[-1]["text"] == "您好，我是客服张敏"

    asyncio.run(scenario())


def test_session_persists_across_reconnects(stack):
    token = stack.env["KEFU_RASA_TOKEN"]

    async def scenario():
        session_id = uuid.uuid4().hex
        async with Customer(stack.rasa_url, "websocket", session_id) as first:
            await first.say("你好")
            await first.next()
        async with Customer(stack.rasa_url, "polling", session_id) as again:  # page reload
            httpx.post(f"{stack.rasa_url}/webhooks/socketio/agent", headers={"Authorization": f"Bearer {token}"},
                       json={"sender_id": session_id, "kind": "joined", "agent": {"id": "li", "name": "李娜"}})
            notice = await again.next(5)
            assert notice == {"custom": {"type": "agent_joined", "agent_name": "李娜"}}

    asyncio.run(scenario())
