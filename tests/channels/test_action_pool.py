"""Keep-alive connections for Rasa's action calls (channels/action_pool.py, issue 13).

Rasa's own RemoteAction.run (with Kefu's hooks, installed by channels.socketio) against a
local HTTP/1.1 server in a thread that counts the TCP connections it accepts and can
misbehave on purpose: close a connection after answering, drop a request it has read,
answer late.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Callable, List, Optional

import pydantic
import pytest
import rasa.core.actions.action as rasa_action
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import channels.socketio  # installs the hooks, as Rasa does when it loads the channel
from channels import action_calls, action_pool
from kefu import settings
from kefu.runtime import reliability

DOMAIN = Domain.load(str(settings.repo_root() / "domain.yml"))
BODY = b'{"events": [{"event": "slot", "name": "phone", "value": "13912345678", "timestamp": null}], "responses": []}'


class CountingServer:
    """HTTP/1.1 keep-alive server; ``plan(connection_no, request_no_on_it)`` says what to do:
    "answer", "answer-close" (answer, then close the connection), "drop" (read the request,
    close without answering) or a float (answer after that many seconds)."""

    def __init__(self, plan: Callable[[int, int], object] = lambda c, r: "answer") -> None:
        self.plan = plan
        self.accepted = 0
        self.requests = 0
        self.closed_by_client = 0
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._threads: List[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                number = self.accepted
            thread = threading.Thread(target=self._serve, args=(conn, number), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _read_request(self, conn: socket.socket, buffer: bytes) -> Optional[bytes]:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        head, rest = buffer.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return rest[length:]

    def _serve(self, conn: socket.socket, number: int) -> None:
        buffer, served = b"", 0
        with conn:
            while True:
                try:
                    left = self._read_request(conn, buffer)
                except OSError:
                    return
                if left is None:
                    with self._lock:
                        self.closed_by_client += 1
                    return
                buffer = left
                served += 1
                with self._lock:
                    self.requests += 1
                action = self.plan(number, served)
                if action == "drop":
                    return
                if isinstance(action, float):
                    time.sleep(action)
                try:
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
                    )
                except OSError:
                    return
                if action == "answer-close":
                    conn.shutdown(socket.SHUT_RDWR)
                    return

    def close(self) -> None:
        self._listener.close()


def use_pool(monkeypatch, keep_alive: bool = True, max_connections: int = 4, idle_timeout_s: float = 60.0) -> None:
    config = reliability.reliability_config()
    pool = config.action_pool.copy(
        update={"keep_alive": keep_alive, "max_connections": max_connections, "idle_timeout_s": idle_timeout_s}
    )
    calls = config.action_calls.copy(update={"backoff_s": [0.01], "budget_s": 2.0})
    patched = config.copy(update={"action_pool": pool, "action_calls": calls})
    monkeypatch.setattr(action_pool, "reliability_config", lambda: patched)
    monkeypatch.setattr(action_calls, "reliability_config", lambda: patched)


def tracker() -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "t-pool",
        [
            ActionExecuted("action_listen"),
            UserUttered("我的电话是13912345678", {"name": "inform", "confidence": 0.99}),
        ],
        slots=DOMAIN.slots,
    )


async def call(url: str, name: str = "validate_repair_form"):
    action = RemoteAction(name, EndpointConfig(url))
    return await action.run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(DOMAIN.responses), tracker(), DOMAIN
    )


async def many_calls(url: str, total: int, concurrency: int) -> None:
    queue = list(range(total))

    async def worker():
        while queue:
            queue.pop()
            events = await call(url)
            assert [e.as_dict()["name"] for e in events] == ["phone"]

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await action_pool.pool.close()


def test_calls_go_over_at_most_pool_size_keep_alive_connections(monkeypatch):
    server = CountingServer()
    try:
        use_pool(monkeypatch, max_connections=4)
        asyncio.run(many_calls(server.url, total=60, concurrency=12))
        assert server.requests == 60
        assert 1 <= server.accepted <= 4  # one pool, reused across calls
    finally:
        server.close()


def test_without_keep_alive_every_call_opens_its_own_connection(monkeypatch):
    """The stock behaviour (action_pool.keep_alive: false), which the pool replaces."""
    server = CountingServer()
    try:
        use_pool(monkeypatch, keep_alive=False)
        asyncio.run(many_calls(server.url, total=20, concurrency=4))
        assert server.requests == 20 and server.accepted == 20
    finally:
        server.close()


def test_only_the_action_call_in_progress_uses_the_pool(monkeypatch):
    use_pool(monkeypatch)
    endpoint, other = EndpointConfig("http://127.0.0.1:1/webhook"), EndpointConfig("http://127.0.0.1:1/nlg")

    async def sessions():
        with action_pool.action_call(endpoint):
            pooled, not_pooled = endpoint.session(), other.session()
        outside = endpoint.session()
        try:
            return (
                pooled.connector is action_pool.pool.connector(),
                not_pooled.connector is action_pool.pool.connector(),
                outside.connector is action_pool.pool.connector(),
            )
        finally:
            for session in (pooled, not_pooled, outside):
                await session.close()
            await action_pool.pool.close()

    assert asyncio.run(sessions()) == (True, False, False)


def test_a_connection_the_server_closed_while_idle_is_not_reused(monkeypatch):
    """The server answers, then closes; Rasa's loop is blocked and has not seen the close yet
    when the next call takes a connection from the pool: the call still succeeds, first time."""
    server = CountingServer(lambda conn, req: "answer-close")
    try:
        use_pool(monkeypatch)

        async def scenario():
            await call(server.url)
            time.sleep(0.3)  # blocks the loop: the server's FIN is in the kernel, not yet seen by aiohttp
            connector = action_pool.pool.connector()
            events = await call(server.url)
            dropped = connector.reuse_dropped
            await action_pool.pool.close()
            return events, dropped

        events, dropped = asyncio.run(scenario())
        assert [e.as_dict()["name"] for e in events] == ["phone"]
        assert dropped == 1  # found closed before use ...
        assert server.requests == 2 and server.accepted == 2  # ... so no request was lost or repeated
    finally:
        server.close()


def test_a_keep_alive_connection_dropped_during_a_call_is_retried_once_and_the_call_succeeds(monkeypatch):
    """The second request on the kept-alive connection is read and dropped without an answer."""
    server = CountingServer(lambda conn, req: "drop" if (conn, req) == (1, 2) else "answer")
    try:
        use_pool(monkeypatch)
        attempts: List[str] = []
        original = action_calls.classify
        monkeypatch.setattr(action_calls, "classify", lambda error: attempts.append(original(error)) or original(error))

        async def scenario():
            await call(server.url)
            events = await call(server.url)
            await action_pool.pool.close()
            return events

        events = asyncio.run(scenario())
        assert [e.as_dict()["name"] for e in events] == ["phone"]
        assert attempts == [reliability.UNCERTAIN]  # one failure, one retry
        assert server.requests == 3 and server.accepted == 2  # the retry went over a new connection
    finally:
        server.close()


def test_a_dropped_call_of_an_unsafe_action_is_still_not_repeated(monkeypatch):
    """The issue-17 rule holds with pooled connections: the request may have reached the server."""
    server = CountingServer(lambda conn, req: "drop" if (conn, req) == (1, 2) else "answer")
    try:
        use_pool(monkeypatch)

        async def scenario():
            await call(server.url, "action_escalate")
            try:
                await call(server.url, "action_escalate")
            finally:
                await action_pool.pool.close()

        with pytest.raises(action_calls.ActionCallFailed):
            asyncio.run(scenario())
        assert server.requests == 2
    finally:
        server.close()


def test_timeouts_still_apply_to_pooled_calls_and_to_waiting_for_a_connection(monkeypatch):
    server = CountingServer(lambda conn, req: 1.5 if conn == 1 else "answer")  # the first connection answers late
    try:
        use_pool(monkeypatch, max_connections=1)
        monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", 0.5)  # RemoteAction.run's per-call timeout
        endpoint = EndpointConfig(server.url)

        async def held_for_a_while():
            with action_pool.action_call(endpoint):
                return await endpoint.request(json={"next_action": "validate_repair_form"}, timeout=5)

        async def timed(coroutine):
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await coroutine
            return time.monotonic() - started

        async def scenario():
            holder = asyncio.ensure_future(held_for_a_while())  # the pool's only connection, for 1.5 s
            await asyncio.sleep(0.1)
            waiting = await timed(call(server.url))  # waits for a connection: its timeout runs
            assert (await holder)["events"][0]["name"] == "phone"
            answering = await timed(call(server.url))  # on the kept-alive connection, answered too late
            events = await call(server.url)  # the timed-out connection is not reused half-read
            await action_pool.pool.close()
            return waiting, answering, events

        waiting, answering, events = asyncio.run(scenario())
        assert 0.4 < waiting < 1.2 and 0.4 < answering < 1.2
        assert [e.as_dict()["name"] for e in events] == ["phone"]
        assert server.accepted == 2
    finally:
        server.close()


def test_closing_the_pool_closes_its_connections(monkeypatch):
    server = CountingServer()
    try:
        use_pool(monkeypatch)

        async def scenario():
            await asyncio.gather(*(call(server.url) for _ in range(3)))
            before = action_pool.pool.open_connections
            await action_pool.pool.close()
            return before

        assert asyncio.run(scenario()) == server.accepted >= 1
        deadline = time.monotonic() + 2
        while server.closed_by_client < server.accepted and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.closed_by_client == server.accepted
    finally:
        server.close()


def test_the_rasa_server_closes_the_pool_when_it_stops():
    channel = channels.socketio.KefuSocketIOInput.from_credentials({})
    bp = channel.blueprint(lambda message: asyncio.sleep(0))
    stops = [future for future in bp._future_listeners if future.event == "after_server_stop"]
    assert [future.listener.__name__ for future in stops] == ["close_action_connections"]


def test_the_pool_must_drop_idle_connections_before_the_action_server_does():
    raw = reliability.reliability_config().dict()
    raw["action_pool"]["idle_timeout_s"] = raw["action_server"]["keep_alive_timeout_s"]
    with pytest.raises(pydantic.ValidationError, match="idle_timeout_s must be shorter"):
        reliability.ReliabilityConfig(**raw)
    raw["action_pool"]["idle_timeout_s"] = raw["action_server"]["keep_alive_timeout_s"] - 1
    reliability.ReliabilityConfig(**raw)


def test_nginx_keeps_rasas_idle_action_connections_longer_than_rasa_does():
    """Scaled out, Rasa's action calls go to nginx (deploy/nginx.conf.template), not to the server."""
    import re

    template = (settings.repo_root() / "deploy" / "nginx.conf.template").read_text(encoding="utf-8")
    block = template[template.index("listen 127.0.0.1:{{ actions_port }};") :]
    nginx_idle = float(re.search(r"keepalive_timeout (\d+)s;", block.split("location")[0]).group(1))
    assert nginx_idle > reliability.reliability_config().action_pool.idle_timeout_s
