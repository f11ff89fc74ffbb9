"""A small fake of Rasa's socket.io channel and tracker API, for widget tests.

Speaks the protocol of Rasa 3.6's socketio channel with session persistence:
`session_request {session_id}` -> `history_token {session_id, token}` (a new conversation only),
`session_confirm <id>` and room join;
`user_uttered {message, session_id, customData}` -> scripted `bot_uttered`
payloads, then the handler returns (python-socketio acks it, as with Rasa).

A message starting with "[丢包]" is dropped the first time it arrives, with the
connection (no ack), to test that the widget sends it again.

Test hooks (HTTP):
  POST /push {session_id, payload}     emit a bot_uttered (agent message, custom payload)
  GET  /received?session_id=...        user_uttered payloads received, in order
  GET  /conversations/{id}/tracker?token=...   Rasa-shaped tracker (events)
  GET  /health

State (events and received messages) is saved to --state after each change, so
a restarted server keeps the conversation, like Rasa's SQL tracker store.

Run: python tests/widget/fake_rasa.py --port 5005 --token secret --state /tmp/s.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import socketio
import sys

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from kefu.tokens import sign_history_token
from aiohttp import web

GREETING_REPLIES = [
    {"title": "我要报修", "payload": "/report_repair"},
    {"title": "查询工单", "payload": "/query_ticket"},
    {"title": "转人工客服", "payload": "/request_human"},
]

TICKET = {
    "type": "ticket_card",
    "ticket_no": "BX20261122-0042",
    "type_label": "报修",
    "status": "受理",
    "priority": "普通",
    "due_at": "2026-11-23T18:00:00+08:00",
    "appointment": "11月23日 上午 9:00–12:00",
}


def script(text: str, base_url: str) -> list[dict[str, Any]]:
    """The scripted bot: which bot_uttered payloads answer a user message."""
    if text in ("/greet", "你好", "您好"):
        return [{"text": "您好，我是暖风家电智能助手，请问有什么可以帮您？", "quick_replies": GREETING_REPLIES}]
    if text == "/report_repair":
        return [
            {"text": "好的，已为您登记报修，师傅会在预约时间上门。工单信息如下："},
            {"custom": TICKET},
        ]
    if text == "/query_ticket":
        return [{"text": "请提供工单号，例如 BX20261122-0042。详情请见 https://example.com/service?id=1。"}]
    if text == "/request_human":
        return [{"custom": {"type": "queue", "position": 2, "wait_minutes": 3}}]
    if text == "图片":
        return [{"attachment": {"type": "image", "payload": {"src": f"{base_url}/img/sample.svg"}}}]
    if text == "评价":
        return [{"text": "请您对本次服务进行评价。"}, {"custom": {"type": "survey", "ticket_no": "BX20261122-0042"}}]
    if text.startswith('/inform{"satisfaction_score"'):
        return [{"text": "感谢您的评价，祝您生活愉快！"}]
    return [{"text": f"收到：{text}"}]


SAMPLE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="160">'
    '<rect width="240" height="160" fill="#dbe8ff"/>'
    '<text x="120" y="88" font-size="20" text-anchor="middle" fill="#1f6feb">sample</text></svg>'
)


class FakeRasa:
    def __init__(self, token: str, state_path: Path | None, reply_delay: float, base_url: str):
        self.token = token
        self.state_path = state_path
        self.reply_delay = reply_delay
        self.base_url = base_url
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.issued: set[str] = set()  # conversations given a history token
        self.dropped: set[str] = set()
        self.received: list[dict[str, Any]] = []
        self._load()
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        self.app = web.Application()
        self.sio.attach(self.app, socketio_path="socket.io")
        self.sio.on("connect", self.on_connect)
        self.sio.on("session_request", self.on_session_request)
        self.sio.on("user_uttered", self.on_user_uttered)
        self.app.router.add_post("/push", self.push)
        self.app.router.add_get("/received", self.get_received)
        self.app.router.add_get("/conversations/{sender_id}/tracker", self.tracker)
        self.app.router.add_get("/health", lambda request: web.json_response({"status": "ok"}))
        self.app.router.add_get(
            "/img/sample.svg", lambda request: web.Response(text=SAMPLE_SVG, content_type="image/svg+xml")
        )

    # -- state -------------------------------------------------------------
    def _load(self) -> None:
        if self.state_path and self.state_path.exists():
            state = json.loads(self.state_path.read_text("utf-8"))
            self.events = state.get("events", {})
            self.received = state.get("received", [])

    def _save(self) -> None:
        if self.state_path:
            state = {"events": self.events, "received": self.received}
            self.state_path.write_text(json.dumps(state, ensure_ascii=False), "utf-8")

    def _log(self, session_id: str, event: dict[str, Any]) -> None:
        event.setdefault("timestamp", time.time())
        self.events.setdefault(session_id, []).append(event)
        self._save()

    def _log_bot(self, session_id: str, payload: dict[str, Any]) -> None:
        # Shaped like Rasa's BotUttered event: text + data{buttons, custom, image, ...}.
        data = {
            "elements": None,
            "quick_replies": None,
            "buttons": payload.get("quick_replies"),
            "attachment": None,
            "image": (payload.get("attachment") or {}).get("payload", {}).get("src"),
            "custom": payload.get("custom"),
        }
        metadata = {"agent": payload["agent"]} if payload.get("agent") else {}
        self._log(session_id, {"event": "bot", "text": payload.get("text"), "data": data, "metadata": metadata})

    # -- socket.io ---------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> bool:
        return True

    async def on_session_request(self, sid: str, data: dict | None) -> None:
        session_id = (data or {}).get("session_id") or sid
        self.sio.enter_room(sid, session_id)
        if session_id not in self.events and session_id not in self.issued:  # as channels/socketio.py
            self.issued.add(session_id)
            await self.sio.emit("history_token", {"session_id": session_id, "token": sign_history_token(session_id)},
                                room=sid)
        await self.sio.emit("session_confirm", session_id, room=sid)

    async def on_user_uttered(self, sid: str, data: dict) -> None:
        session_id = data.get("session_id")
        if not session_id:
            return
        text = data.get("message", "")
        message_id = (data.get("customData") or {}).get("client_message_id", text)
        if text.startswith("[丢包]") and message_id not in self.dropped:
            # Simulates a message lost with the connection: no processing, no ack.
            self.dropped.add(message_id)
            await self.sio.disconnect(sid)
            return
        self.received.append(data)
        self._log(session_id, {"event": "action", "name": "action_listen"})
        self._log(session_id, {"event": "user", "text": text, "metadata": data.get("customData") or {},
                               "parse_data": {"intent": {"name": "nlu_fallback"}}})
        await asyncio.sleep(self.reply_delay)
        for payload in script(text, self.base_url):
            self._log_bot(session_id, payload)
            await self.sio.emit("bot_uttered", payload, room=session_id)
        # Returning now makes python-socketio ack the event, as Rasa's handler does.

    # -- HTTP hooks --------------------------------------------------------
    async def push(self, request: web.Request) -> web.Response:
        body = await request.json()
        session_id, payload = body["session_id"], body["payload"]
        self._log_bot(session_id, payload)
        await self.sio.emit("bot_uttered", payload, room=session_id)
        return web.json_response({"ok": True})

    async def get_received(self, request: web.Request) -> web.Response:
        session_id = request.query.get("session_id")
        items = [r for r in self.received if session_id is None or r.get("session_id") == session_id]
        return web.json_response(items)

    async def tracker(self, request: web.Request) -> web.Response:
        if request.query.get("token") != self.token:
            return web.json_response({"status": "failure", "reason": "NotAuthenticated"}, status=401)
        sender_id = request.match_info["sender_id"]
        events = [{"event": "session_started"}] + self.events.get(sender_id, [])
        return web.json_response({"sender_id": sender_id, "slots": {}, "events": events})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--state", type=Path, default=None)
    parser.add_argument("--reply-delay", type=float, default=0.4)
    args = parser.parse_args()
    fake = FakeRasa(args.token, args.state, args.reply_delay, f"http://{args.host}:{args.port}")
    web.run_app(fake.app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
