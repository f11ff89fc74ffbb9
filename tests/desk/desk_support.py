"""Test helpers shared by the desk tests and the browser test: a fake Rasa server, login."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlparse

from kefu import clock
from kefu.escalation import Decision

RASA_TOKEN = "rasa-test-token"
PASSWORD = "correct horse"


@dataclass
class FakeRasa:
    """Just enough of Rasa's HTTP API and Kefu's agent route to test the desk against."""

    url: str = ""
    token: str = RASA_TOKEN
    requests: list = field(default_factory=list)
    events: dict = field(default_factory=dict)  # conversation id -> tracker events
    fail: bool = False  # answer every request with HTTP 500

    def add_user(self, conversation: str, text: str) -> None:
        self.events.setdefault(conversation, []).append(
            {"event": "user", "text": text, "timestamp": clock.now().timestamp()}
        )

    def add_bot(self, conversation: str, text: str, metadata: Optional[dict] = None) -> None:
        self.events.setdefault(conversation, []).append(
            {"event": "bot", "text": text, "metadata": metadata or {}, "timestamp": clock.now().timestamp()}
        )

    def calls(self, path_part: str) -> list:
        return [r for r in self.requests if path_part in r["path"]]


def _handler(fake: FakeRasa):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _reply(self, status: int, body: Any = None) -> None:
            data = json.dumps(body if body is not None else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            parsed = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.requests.append({"method": self.command, "path": parsed.path, "query": query,
                                  "headers": dict(self.headers), "json": body})
            if fake.fail:
                return self._reply(500, {"error": "boom"})
            if parsed.path == "/webhooks/socketio/agent":
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._reply(401)
                # What Kefu's channel does: emit to the widget, log a BotUttered with the agent.
                metadata = {"agent": body["agent"], "kind": body["kind"]}
                fake.add_bot(body["sender_id"], body["text"], metadata)
                return self._reply(200, {"ok": True})
            match = re.fullmatch(r"/conversations/([^/]+)/(tracker|tracker/events|trigger_intent)", parsed.path)
            if not match:
                return self._reply(404)
            if query.get("token") != fake.token:
                return self._reply(401)
            conversation, what = unquote(match.group(1)), match.group(2)
            events = fake.events.setdefault(conversation, [])
            if what == "tracker":
                paused = any(e["event"] == "pause" for e in events) and not (events and events[-1]["event"] == "resume")
                return self._reply(200, {"sender_id": conversation, "events": events, "paused": paused})
            if what == "tracker/events":
                events.extend(body)
                return self._reply(200, {"sender_id": conversation, "events": events})
            fake.add_bot(conversation, "感谢您的耐心等待，请为本次服务打分（1-5分）。")
            return self._reply(200, {"tracker": {"sender_id": conversation}})

        do_GET = do_POST = _handle

    return Handler



def start_fake_rasa() -> tuple[FakeRasa, ThreadingHTTPServer]:
    """A FakeRasa serving on a free local port (stop with server.shutdown())."""
    fake = FakeRasa()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return fake, server


class Clock:
    """The desk's clock; tests move it forward to expire sessions."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return clock.now() + self.offset


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/desk/login")
    return client.post(
        "/desk/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": "/desk/"},
        follow_redirects=False,
    )



COMPLAINT = Decision("complaint_severe", "投诉专席", "高", "客户扬言向 12315 投诉", ("12315",))
