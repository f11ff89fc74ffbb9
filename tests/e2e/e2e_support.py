"""Clients that talk to the real stack like a customer's browser would."""
from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Dict, List

import httpx
import socketio

from kefu import settings


def rest_headers(stack) -> Dict[str, str]:
    """The REST channel's bearer token (channels/rest.py), as the stack's Rasa has it."""
    return {"Authorization": f"Bearer {stack.env['KEFU_REST_TOKEN']}"}


def conversation_tracker(stack, sender: str) -> Dict[str, Any]:
    """A conversation's tracker (Rasa's HTTP API, with the stack's server token)."""
    r = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.env["KEFU_RASA_TOKEN"]},
                  timeout=30)
    r.raise_for_status()
    return r.json()


class RestChat:
    """A customer talking to Rasa's REST channel."""

    def __init__(self, stack, metadata: Dict[str, Any] | None = None) -> None:
        self.url = f"{stack.rasa_url}/webhooks/rest/webhook"
        self.sender = "e2e-" + uuid.uuid4().hex[:10]
        self.metadata = metadata or {}
        self.stack = stack

    def say(self, text: str) -> List[Dict[str, Any]]:
        r = httpx.post(self.url, json={"sender": self.sender, "message": text, "metadata": self.metadata},
                       headers=rest_headers(self.stack), timeout=60)
        r.raise_for_status()
        return r.json()

    @staticmethod
    def texts(replies: List[Dict[str, Any]]) -> str:
        return "\n".join(r.get("text") or "" for r in replies)

    def tracker(self) -> Dict[str, Any]:
        return conversation_tracker(self.stack, self.sender)




class Customer:
    """A widget-like socket.io client with a persistent session id."""

    def __init__(self, url: str, transport: str = "websocket", session_id: str | None = None) -> None:
        self.url, self.transport = url, transport
        self.session_id = session_id or uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", self.inbox.put_nowait)

    async def __aenter__(self) -> "Customer":
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
        # wait_timeout: python-socketio waits 1 s for the namespace by default, too short on a busy machine.
        await self.client.connect(self.url, transports=[self.transport], socketio_path="/socket.io",
                                  wait_timeout=15)
        await self.client.emit("session_request", {"session_id": self.session_id})
        assert await asyncio.wait_for(confirmed, 10) == self.session_id
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.disconnect()

    async def say(self, text: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def next(self, timeout: float = 30) -> dict:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def wait_for(self, predicate, timeout: float = 30) -> dict:
        """Skip messages until one satisfies ``predicate``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.next(max(0.1, deadline - loop.time()))
            if predicate(message):
                return message


# The stack's configuration: the project's, with a short queue grace period and sweep
# interval, so that a customer who closes the tab leaves the queue within seconds.
E2E_QUEUE = {"grace_seconds": 4, "sweep_seconds": 1}
# Every e2e customer (socket.io and, since the REST channel applies the same guards, REST)
# comes from 127.0.0.1, like customers behind one NAT: the per-address limits are raised so
# a whole e2e session never trips them; the per-conversation limits (the flood tests, five
# anonymous look-ups per conversation) stay. The conversation simulator (tests/simulator/)
# alone makes hundreds of look-ups and explicit 转人工 requests from that one address.
E2E_PER_IP = {"message_per_ip": "3000 per minute", "new_conversation_per_ip": "600 per minute",
              "lookup_per_ip": "10000 per hour", "handoff_per_ip": "10000 per hour"}


def e2e_config(target: Path) -> Path:
    """A copy of config/ for the e2e stack, with E2E_QUEUE in desk.yml's queue section."""
    shutil.copytree(settings.repo_root() / "config", target)
    desk = target / "desk.yml"
    text = desk.read_text(encoding="utf-8")
    for key, value in E2E_QUEUE.items():
        text, n = re.subn(rf"^(  {key}:)\s*\S+", rf"\g<1> {value}", text, flags=re.M)
        assert n == 1, key
    desk.write_text(text, encoding="utf-8")
    security = target / "security.yml"
    text = security.read_text(encoding="utf-8")
    for key, value in E2E_PER_IP.items():
        text, n = re.subn(rf"^(  {key}:)\s*[^#\n]*?(\s*#.*)?$", rf"\g<1> {value}\g<2>", text, flags=re.M)
        assert n == 1, key
    security.write_text(text, encoding="utf-8")
    return target
