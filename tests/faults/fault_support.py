"""What the fault suite needs: a persistent widget-like customer, outages of the shared
PostgreSQL and Redis servers that are always undone, and the fault table.

The customer behaves like the widget and a patient person: on a "could not handle it yet"
notice (channels/socketio.py) or a dropped connection they send the same text again; a message
accepted by a live server that gets no reply at all is a *lost* message.
"""
from __future__ import annotations

import asyncio
import atexit
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import httpx
import socketio

from channels import socketio as channel

TICKET_NO = re.compile(r"[A-Z]{2}\d{8}-\d{4,}")


def _notices() -> set:
    """Bot messages that say "not handled yet" rather than answer (the customer then tries again):
    the channel's constant today, config/reliability.yml's replies once issue 17's channel lands."""
    texts = {getattr(channel, "SILENT_BOT_REPLY", None)}
    try:
        from kefu.runtime.reliability import reliability_config  # type: ignore[import-not-found]

        texts |= {reliability_config().turn_failed_reply, reliability_config().silent_reply}
    except ImportError:
        pass
    return {t for t in texts if t}


NOTICES = _notices()
ATTEMPT_SECONDS = 45  # a live server's reply (or notice) must come within this
RETRY_PAUSE = 2.0  # the customer waits this long before sending the same text again
OUTCOMES: List["Outcome"] = []  # filled by the tests, printed by conftest.py


@dataclass
class Turn:
    text: str
    replies: List[dict] = field(default_factory=list)
    attempts: int = 0
    notices: int = 0
    dropped: int = 0  # attempts cut off by a lost connection (the widget shows it; resent)
    silent: int = 0  # attempts a live server accepted and never answered: lost messages

    @property
    def answered(self) -> bool:
        return bool(self.replies)

    @property
    def reply_text(self) -> str:
        return "\n".join(str(r.get("text") or r.get("custom") or "") for r in self.replies)


class Customer:
    """A socket.io customer with a persistent session, sending through the given Rasa URL(s)."""

    def __init__(self, sender_prefix: str = "fault") -> None:
        self.session_id = f"{sender_prefix}-{uuid.uuid4().hex[:10]}"
        self.client: Optional[socketio.AsyncClient] = None
        self.url: Optional[str] = None
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.turns: List[Turn] = []

    async def _connect(self, url: str, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            client = socketio.AsyncClient(reconnection=False)
            confirmed = loop.create_future()
            client.on("bot_uttered", self.inbox.put_nowait)
            client.on("session_confirm", lambda sid, f=confirmed: f.done() or f.set_result(sid))
            try:
                await client.connect(url, transports=["websocket"], socketio_path="/socket.io", wait_timeout=5)
                await client.emit("session_request", {"session_id": self.session_id})
                await asyncio.wait_for(confirmed, 10)
                self.client, self.url = client, url
                return
            except (socketio.exceptions.ConnectionError, asyncio.TimeoutError, OSError):
                try:
                    await client.disconnect()
                except Exception:
                    pass
                await asyncio.sleep(1)
        raise TimeoutError(f"could not connect to {url}")

    async def close(self) -> None:
        if self.client is not None:
            try:
                await self.client.disconnect()
            except Exception:
                pass
        self.client = None

    async def _collect(self, first_timeout: float, quiet: float = 2.5) -> List[dict]:
        """Messages of one reply: wait for the first, then until the bot is quiet."""
        out: List[dict] = []
        try:
            out.append(await asyncio.wait_for(self.inbox.get(), first_timeout))
            while True:
                out.append(await asyncio.wait_for(self.inbox.get(), quiet))
        except asyncio.TimeoutError:
            return out

    async def say(self, text: str, url: str, deadline_seconds: float) -> Turn:
        """Send ``text`` until a real answer comes (or the deadline passes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_seconds
        turn = Turn(text)
        self.turns.append(turn)
        while loop.time() < deadline:
            if self.client is None or not self.client.connected or self.url != url:
                await self.close()
                try:
                    await self._connect(url, deadline)
                except TimeoutError:
                    break
            while not self.inbox.empty():  # a late reply to an earlier attempt
                turn.replies.append(self.inbox.get_nowait())
            if turn.replies and not _only_notices(turn.replies):
                return turn
            turn.replies = []
            turn.attempts += 1
            await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id,
                                                    "customData": {"client_message_id": uuid.uuid4().hex}})
            replies = await self._collect(min(ATTEMPT_SECONDS, max(1.0, deadline - loop.time())))
            if not replies:
                if self.client.connected:
                    turn.silent += 1
                else:
                    turn.dropped += 1
                continue
            if _only_notices(replies):
                turn.notices += 1
                await asyncio.sleep(RETRY_PAUSE)
                continue
            turn.replies = replies
            return turn
        return turn


def _only_notices(replies: List[dict]) -> bool:
    return all((r.get("text") or "") in NOTICES for r in replies)


# The repair form, answered like a customer reads the bot's question.
ANSWERS = [
    (("型号",), "型号不清楚"),
    (("地址",), "上海市浦东新区张江路100弄5号601室"),
    (("手机",), "13812345678"),
    (("时间", "上门"), "明天下午"),
    (("哪类产品",), "空调"),
    (("故障", "问题", "现象"), "空调不制冷，开机吹的是热风"),
]
OPENING = "我家空调不制冷了，想报修"


def answer_for(bot_text: str) -> str:
    for keys, answer in ANSWERS:
        if any(k in bot_text for k in keys):
            return answer
    return OPENING


@dataclass
class Outcome:
    fault: str
    came_back: str = ""
    recovered_s: Optional[float] = None
    turns: int = 0
    notices: int = 0
    resends: int = 0
    lost: int = 0
    promised: List[str] = field(default_factory=list)
    in_db: List[str] = field(default_factory=list)
    degraded_seen: str = ""  # what /healthz/full reported down during the fault
    down_counts: Dict[str, int] = field(default_factory=dict)  # how many health samples saw each part down
    samples: int = 0
    unrecorded: int = 0  # answered, yet missing from the conversation's record (tracker store)
    transcript: List[dict] = field(default_factory=list)  # each turn, for the faults.json beside the table

    def mostly_up(self, part: str) -> bool:
        """Up in at least 3 of 4 health samples (a check may time out on a busy machine)."""
        return self.down_counts.get(part, 0) * 4 <= self.samples

    @property
    def tickets_lost(self) -> int:
        missing = len(set(self.promised) - set(self.in_db))
        return missing + (0 if self.promised else 1)  # a finished form with no ticket given counts too

    @property
    def tickets_duplicated(self) -> int:
        return max(0, len(self.in_db) - 1)

    def add_turns(self, turns: List[Turn]) -> None:
        self.turns = len(turns)
        self.notices = sum(t.notices for t in turns)
        self.resends = sum(max(0, t.attempts - 1) for t in turns)
        self.lost = sum(t.silent for t in turns) + sum(1 for t in turns if not t.answered)


def table(outcomes: List[Outcome]) -> str:
    head = ("| fault | process back | recovered in | customer turns | notices (resent) | messages lost "
            "| answered but unrecorded | tickets promised | tickets lost | tickets duplicated | health reported down |")
    rows = [head, "|" + "---|" * 11]
    for o in outcomes:
        rec = f"{o.recovered_s:.0f} s" if o.recovered_s is not None else "NOT RECOVERED"
        rows.append(f"| {o.fault} | {o.came_back} | {rec} | {o.turns} | {o.notices} ({o.resends}) | {o.lost} | {o.unrecorded} "
                    f"| {len(o.promised)} | {o.tickets_lost} | {o.tickets_duplicated} | {o.degraded_seen or '-'} |")
    return "\n".join(rows)


class HealthWatch:
    """Polls GET /healthz/full from the fault on: what was down, and when all was up again."""

    def __init__(self, web_url: str) -> None:
        self.url = f"{web_url}/healthz/full"
        self.started = time.monotonic()
        self.down_seen: Dict[str, int] = {}
        self.healthy_at: Optional[float] = None
        self.samples = 0
        self._stop = threading.Event()
        self.require_down = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples += 1
            try:
                r = httpx.get(self.url, timeout=10)
                parts = r.json()["parts"]
                down = [n for n, p in parts.items() if not p["up"]]
                for n in down:
                    self.down_seen[n] = self.down_seen.get(n, 0) + 1
                if r.status_code == 200 and self.healthy_at is None and (self.down_seen or not self.require_down):
                    self.healthy_at = time.monotonic()
            except (httpx.HTTPError, ValueError, KeyError):
                self.down_seen["desk"] = self.down_seen.get("desk", 0) + 1
            self._stop.wait(0.5)

    def wait_healthy(self, timeout: float) -> Optional[float]:
        deadline = time.monotonic() + timeout
        while self.healthy_at is None and time.monotonic() < deadline:
            time.sleep(0.5)
        self._stop.set()
        self._thread.join(15)
        return None if self.healthy_at is None else self.healthy_at - self.started


# --- outages of the machine's shared servers: always undone ------------------------------


class Outage:
    """Stops a shared server now and restarts it after ``seconds`` (or at the latest on exit)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._restored = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def restore(self) -> None:
        with self._lock:
            if not self._restored.is_set():
                self.start()
                self._restored.set()

    def __enter__(self) -> "Outage":
        atexit.register(self.restore)  # even if the test process is interrupted
        self.stop()
        self.stopped_at = time.monotonic()
        self._timer = threading.Timer(self.seconds, self.restore)
        self._timer.daemon = True
        self._timer.start()
        return self

    def wait_restored(self) -> None:
        self._restored.wait(self.seconds + 60)

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        self.restore()


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout


class PostgresOutage(Outage):
    """`pg_ctlcluster VERSION NAME stop -m fast` / `start` for the cluster on port 5432."""

    def __init__(self, seconds: float, port: int = 5432) -> None:
        super().__init__(seconds)
        clusters = [line.split() for line in _run("pg_lsclusters", "-h").splitlines()]
        self.cluster = next((c[0], c[1]) for c in clusters if c[2] == str(port))

    def stop(self) -> None:
        _run("pg_ctlcluster", *self.cluster, "stop", "-m", "fast")

    def start(self) -> None:
        _run("pg_ctlcluster", *self.cluster, "start")
        _wait_for(lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0)


class RedisOutage(Outage):
    """`redis-cli shutdown nosave`, then the server is started again with its own settings
    (read with CONFIG GET first). Its data is snapshotted first and loaded back, so that
    other users of this shared server keep their keys."""

    SETTINGS = ("bind", "port", "dir", "dbfilename", "save", "appendonly", "logfile", "protected-mode")

    def stop(self) -> None:
        self.config: Dict[str, str] = {}
        for name in self.SETTINGS:
            reply = _run("redis-cli", "config", "get", name).splitlines()
            self.config[name] = reply[1] if len(reply) > 1 else ""
        import os

        self.dump = os.path.join(self.config["dir"], self.config["dbfilename"] or "dump.rdb")
        self.had_dump = os.path.exists(self.dump)
        _run("redis-cli", "save")
        _run("redis-cli", "shutdown", "nosave")

    def start(self) -> None:
        import os

        args = ["redis-server", "--daemonize", "yes"]
        for name, value in self.config.items():
            args += [f"--{name}", *(value.split() if name == "bind" else [value])]
        _run(*args)
        _wait_for(lambda: subprocess.run(["redis-cli", "ping"], capture_output=True, text=True).stdout.strip() == "PONG")
        if not self.had_dump and os.path.exists(self.dump):
            os.remove(self.dump)  # loaded back already; leave the directory as it was


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise TimeoutError("server did not come back")
