"""Widget customers at once over the real socket.io channel, with database checks (issue 17).

    python benchmarks/widget_load.py --customers 50 [--fault] [--think 1.0]
    python benchmarks/widget_load.py --url http://127.0.0.1:5005 --db sqlite:///var/kefu.db ...

By default the script starts its own stack (Rasa + action server, fresh SQLite service DB
and tracker store in a temporary directory, clock pinned to Monday 10:00 Beijing) on
KEFU_RASA_PORT / KEFU_ACTIONS_PORT from the newest model in models/, and stops it at the
end. Each customer is a python-socketio AsyncClient on /socket.io (websocket transport)
that waits --think seconds after every reply, and goes through

    greeting -> repair request (product + fault) -> model -> address -> phone -> time -> thanks

Every turn must get its proper reply (the next question, or the ticket number); a turn
that gets nothing, the wrong question (e.g. "地址好像不太完整" after the phone number: a lost
answer) or an error counts as an error. When the bot says the message was not processed
and asks to send it again, the customer does so (at most twice) and the resend is counted.

Then the database: every conversation that finished the form must have exactly one repair
ticket with that customer's address, phone and appointment time. And Rasa's log: failed
custom-action calls and WebSocket handler exceptions are counted.

--fault kills the action server (SIGKILL) once a third of the turns have been answered and
starts it again at once: nothing may be lost then either.
Bounded: --customers x 7 turns, each turn at most --turn-timeout seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import socketio
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PINNED_NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # Monday 10:00 Beijing
LOG_PATTERNS = {
    "failed_action_call_attempts": "Failed to run custom action",  # logged by Rasa for each failed attempt
    "action_call_retries": "), retry ",  # channels/action_calls.py (issue 17)
    "turns_rewound": "conversation rewound",
    "handler_exceptions": "Exception occurred while handling",  # Sanic, for any request handler's exception
    "invalid_response_none": "Invalid response type None",
    "tracebacks": "Traceback (most recent call last)",
    "asyncio_errors": "ERROR    asyncio",  # e.g. "Task was destroyed but it is pending!"
    "actions_events_lost": "actions events are lost",
}
# The channel's reply when the bot said nothing although the turn failed (before issue 17):
# the message was "recorded", but its answer was lost.
SILENT_MARKER = "您的消息已收到并记录"
try:  # the channel's "not processed, please send it again" notice
    from kefu.runtime.reliability import reliability_config

    RESEND_MARKER = reliability_config().turn_failed_reply
except ImportError:  # a tree from before issue 17 has no such notice
    RESEND_MARKER = "\0never said\0"


@dataclass
class Turn:
    text: str
    expect: Optional[str]  # a marker the proper reply contains (None: any reply)
    reject: tuple = ()  # markers of a wrong reply


def script(n: int) -> tuple[List[Turn], Dict[str, str]]:
    """The customer's messages; unique address and phone per customer."""
    address = f"北京市海淀区中关村大街{n + 1}号{n % 9 + 1}单元{100 + n}室"
    phone = f"139{random.randrange(10**8):08d}"
    turns = [
        Turn("你好", None),
        Turn("我家空调不制冷了，想报修", "型号"),
        Turn("型号不知道", "地址", reject=("型号",)),
        Turn(address, "手机", reject=("地址好像不太完整", "补充一下详细地址")),
        Turn(phone, "时间", reject=("地址好像不太完整", "补充一下详细地址")),
        Turn("明天下午", "工单号", reject=("手机号", "地址")),
        Turn("谢谢", None),
    ]
    return turns, {"address": address, "phone": phone}


@dataclass
class Result:
    session_id: str
    expected: Dict[str, str]
    first_reply_s: List[float] = field(default_factory=list)
    replies: int = 0
    errors: List[str] = field(default_factory=list)
    resends: int = 0
    finished_form: bool = False
    socket_drops: int = 0  # the socket.io connection dropped after its session was confirmed
    redeliveries: int = 0  # a message delivered again after a reconnect (its reply had not come)


class Progress:
    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self.reached = asyncio.Event()

    def add(self) -> None:
        self.done += 1
        if self.done * 3 >= self.total:
            self.reached.set()


class WidgetSocket:
    """A customer's socket.io connection as the widget keeps it (widget/src/connection.js):
    reconnects with backoff after a drop, asks for its session again, and delivers a message
    whose reply has not come yet again with the same client_message_id (the channel handles
    it once and sends its reply again if the reply went out while the socket was gone)."""

    def __init__(self, url: str, session_id: str, timeout: float) -> None:
        self.url, self.session_id, self.timeout = url, session_id, timeout
        self.client = socketio.AsyncClient(reconnection=True, reconnection_delay=1, reconnection_delay_max=8)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.confirmed = asyncio.Event()  # set while the session is confirmed on the current socket
        self.generation = 0  # sessions confirmed so far (a new one after each reconnect)
        self.drops = 0
        self.acked: set = set()  # message ids whose handling the server acknowledged (turn over)
        self.client.on("bot_uttered", self.inbox.put_nowait)
        self.client.on("connect", self._on_connect)
        self.client.on("disconnect", self._on_disconnect)
        self.client.on("session_confirm", self._on_confirm)

    async def _on_connect(self) -> None:
        await self.client.emit("session_request", {"session_id": self.session_id})

    def _on_disconnect(self) -> None:
        if self.confirmed.is_set():
            self.drops += 1
        self.confirmed.clear()

    def _on_confirm(self, _sid: Any) -> None:
        self.generation += 1
        self.confirmed.set()

    async def open(self) -> None:
        await self.client.connect(self.url, transports=["websocket"], socketio_path="/socket.io",
                                  wait_timeout=self.timeout)
        await asyncio.wait_for(self.confirmed.wait(), self.timeout)

    async def send(self, text: str, message_id: str) -> int:
        """Deliver the message on a confirmed session; returns that session's generation."""
        while True:
            await asyncio.wait_for(self.confirmed.wait(), self.timeout)
            generation = self.generation
            try:
                await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id,
                                                        "customData": {"client_message_id": message_id}},
                                       callback=lambda *_: self.acked.add(message_id))
                return generation
            except socketio.exceptions.SocketIOError:  # dropped meanwhile: wait for the reconnect
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        self.confirmed.clear()  # leaving on purpose is not a drop
        try:
            await self.client.disconnect()
        except Exception:
            pass


class RestCustomer:
    """A caller of the REST channel with the widget's interface (open/send/inbox/close). A
    message whose answer did not come (connection error, 5xx, timeout) is sent again with the
    same client_message_id: the channel handles it once (channels/fanout.py)."""

    def __init__(self, url: str, session_id: str, timeout: float, token: str) -> None:
        import httpx

        self.url, self.session_id, self.timeout = f"{url}/webhooks/rest/webhook", session_id, timeout
        self.http = httpx.AsyncClient(timeout=timeout, headers={"Authorization": f"Bearer {token}"})
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.confirmed = asyncio.Event()
        self.confirmed.set()
        self.generation = 1
        self.drops = 0
        self.acked: set = set()
        self.resent = 0  # deliveries repeated after a failed request

    async def open(self) -> None:
        return None

    async def send(self, text: str, message_id: str) -> int:
        import httpx

        body = {"sender": self.session_id, "message": text, "metadata": {"client_message_id": message_id}}
        deadline = time.perf_counter() + self.timeout
        while True:
            try:
                response = await self.http.post(self.url, json=body)
                if response.status_code < 500 and response.status_code != 429:
                    response.raise_for_status()
                    for message in response.json():
                        self.inbox.put_nowait(message)
                    return self.generation
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                return self.generation  # no answer: the turn reports it
            self.resent += 1
            await asyncio.sleep(1.0)

    async def close(self) -> None:
        await self.http.aclose()


async def customer(n: int, url: str, think: float, turn_timeout: float, progress: Progress,
                   transport: str = "socketio", rest_token: str = "") -> Result:
    """One customer through the repair form; ``transport`` socketio (the widget) or rest.

    The socket.io URL carries ?kefu_session= as the widget does, so that nginx keeps the
    conversation on one instance when several run (docs/deploy.md)."""
    turns, expected = script(n)
    result = Result(uuid.uuid4().hex, expected)
    if transport == "rest":
        widget = RestCustomer(url, result.session_id, turn_timeout, rest_token)
    else:
        widget = WidgetSocket(f"{url}?kefu_session={result.session_id}", result.session_id, turn_timeout)
    inbox = widget.inbox
    try:
        await widget.open()
        for index, turn in enumerate(turns):
            for attempt in range(3):
                started = time.perf_counter()
                message_id = uuid.uuid4().hex
                generation = await widget.send(turn.text, message_id)
                messages: List[dict] = []
                text = ""
                while time.perf_counter() - started < turn_timeout:  # the turn's messages, until its proper reply
                    try:
                        message = await asyncio.wait_for(inbox.get(), 1.0)
                    except asyncio.TimeoutError:
                        if (widget.generation != generation and widget.confirmed.is_set()
                                and message_id not in widget.acked):
                            # Reconnected before the server acknowledged the message (its turn may
                            # have died with an instance): deliver it again, as the widget does.
                            generation = await widget.send(turn.text, message_id)
                            result.redeliveries += 1
                        continue
                    if not messages and attempt == 0:
                        result.first_reply_s.append(time.perf_counter() - started)
                    messages.append(message)
                    text = "\n".join(str(m.get("text") or "") for m in messages)
                    if (RESEND_MARKER in text or SILENT_MARKER in text or any(bad in text for bad in turn.reject)
                            or turn.expect is None or turn.expect in text):
                        break
                if not messages:
                    result.errors.append(f"turn {index + 1}: no reply in {turn_timeout:.0f}s")
                    return result
                result.replies += 1
                await asyncio.sleep(think)  # the customer reads (late parts of the reply arrive meanwhile)
                while not inbox.empty():
                    inbox.get_nowait()
                if RESEND_MARKER in text and attempt < 2:
                    result.resends += 1
                    continue  # told plainly that it was not processed: send it again
                break
            progress.add()
            if RESEND_MARKER in text:
                result.errors.append(f"turn {index + 1}: still not processed after two resends")
                return result
            if SILENT_MARKER in text or any(bad in text for bad in turn.reject) or (turn.expect and turn.expect not in text):
                result.errors.append(f"turn {index + 1} ({turn.text!r}): unexpected reply {text[:60]!r}")
                return result
            if turn.expect == "工单号":
                result.finished_form = True
    except Exception as error:  # connection problems are errors of the run, not crashes of the script
        result.errors.append(f"{type(error).__name__}: {error}")
    finally:
        result.socket_drops = widget.drops
        result.redeliveries += getattr(widget, "resent", 0)
        await widget.close()
    return result


def check_database(db_url: str, results: List[Result]) -> List[str]:
    """Every conversation that finished the form: exactly one ticket with its address, phone, time."""
    problems = []
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT t.conversation_id, t.address, c.phone, t.appointment_start, t.appointment_end "
            "FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id WHERE t.type = 'repair'"
        )).all()
    engine.dispose()
    by_conversation: Dict[str, list] = {}
    for row in rows:
        by_conversation.setdefault(row[0], []).append(row)
    for r in results:
        tickets = by_conversation.get(r.session_id, [])
        if not r.finished_form:
            continue
        if len(tickets) != 1:
            problems.append(f"{r.session_id}: {len(tickets)} tickets")
            continue
        _, address, phone, start, end = tickets[0]
        if address != r.expected["address"] or phone != r.expected["phone"] or not (start and end):
            problems.append(f"{r.session_id}: ticket has {address!r} {phone!r} {start}..{end}, expected {r.expected}")
    return problems


def count_log(path: Optional[Path], offset: int) -> Dict[str, int]:
    if path is None or not path.exists():
        return {k: -1 for k in LOG_PATTERNS}
    with path.open("rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    return {name: text.count(pattern) for name, pattern in LOG_PATTERNS.items()}


def log_excerpt(path: Optional[Path], offset: int, pattern: str, lines_after: int = 6) -> str:
    """The log lines from ``offset`` that contain ``pattern``, each with what follows it (a
    traceback, the destroyed task): what a failed check shows instead of a bare count."""
    if path is None or not path.exists():
        return ""
    with path.open("rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    hits = [i for i, line in enumerate(lines) if pattern in line]
    return "\n---\n".join("\n".join(lines[i:i + 1 + lines_after]) for i in hits[:5])


def kill_and_restart_actions(stack) -> float:
    """The fault: SIGKILL the action server; its supervisor (supervisord) starts it again."""
    started = time.perf_counter()
    killed = stack.pid("actions")
    os.kill(killed, signal.SIGKILL)
    while stack.pid("actions") == killed and time.perf_counter() - started < 30:  # supervisord saw it die
        time.sleep(0.05)
    return started


async def run_load(url: str, customers: int, think: float, turn_timeout: float, stack=None, fault: bool = False,
                   ramp: float = 0.0) -> Dict[str, Any]:
    progress = Progress(customers * 7)
    fault_info: Dict[str, Any] = {}

    async def fault_injector() -> None:
        await progress.reached.wait()
        fault_info["killed_at_turn"] = progress.done
        started = kill_and_restart_actions(stack)
        port = stack.ports.actions
        import httpx

        async with httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/health", timeout=2)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        fault_info["action_server_down_s"] = round(time.perf_counter() - started, 1)

    async def one(n: int) -> Result:
        await asyncio.sleep(ramp * n / max(customers, 1))
        return await customer(n, url, think, turn_timeout, progress)

    injector = asyncio.create_task(fault_injector()) if fault else None
    started = time.perf_counter()
    results = await asyncio.gather(*(one(n) for n in range(customers)))
    elapsed = time.perf_counter() - started
    if injector:
        if not injector.done():
            injector.cancel()
        await asyncio.gather(injector, return_exceptions=True)
    return {"results": list(results), "elapsed_s": elapsed, "fault": fault_info}


def summarize(run: Dict[str, Any], db_problems: List[str], log_counts: Dict[str, int]) -> Dict[str, Any]:
    results: List[Result] = run["results"]
    firsts = sorted(x for r in results for x in r.first_reply_s)
    q = statistics.quantiles(firsts, n=20) if len(firsts) >= 2 else [0.0] * 19
    errors = [e for r in results for e in r.errors]
    lost = [e for e in errors if "unexpected reply" in e]
    return {
        "customers": len(results),
        "turns_expected": len(results) * 7,
        "replies": sum(r.replies for r in results),
        "first_reply_p50_ms": round(statistics.median(firsts) * 1000) if firsts else None,
        "first_reply_p95_ms": round(q[18] * 1000),
        "first_reply_max_ms": round(max(firsts) * 1000) if firsts else None,
        "resend_requests": sum(r.resends for r in results),
        "socket_drops": sum(r.socket_drops for r in results),
        "redeliveries_after_reconnect": sum(r.redeliveries for r in results),
        "turn_errors": len(errors),
        "lost_answers": len(lost),
        "finished_forms": sum(r.finished_form for r in results),
        "conversations_without_proper_ticket": len(db_problems),
        "elapsed_s": round(run["elapsed_s"], 1),
        **log_counts,
        **({"fault": run["fault"]} if run["fault"] else {}),
        "examples": (errors[:5] + db_problems[:5]),
    }


def start_own_stack(var: Path, ready_timeout: float, db_url: Optional[str] = None,
                    extra_env: Optional[Dict[str, str]] = None):
    """The product's stack (kefu.runtime.stack.start_stack) on a fresh DB and a pinned clock.

    ``db_url``: an empty database to use (service DB and, on PostgreSQL, Rasa's tracker store);
    default a fresh SQLite file in ``var``. ``extra_env``: e.g. KEFU_REDIS_URL (Redis lock store)."""
    from kefu import clock, db
    from kefu.runtime.stack import Ports, start_stack

    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit("no trained model in models/ (./kefu.sh train)")
    db_url = db_url or f"sqlite:///{var / 'kefu.db'}"
    db.migrate(db_url)
    clock_file = var / "fake-now.json"
    clock.write_fake_now(clock_file, PINNED_NOW)
    # All customers come from 127.0.0.1 (one NAT): the e2e configuration's raised per-address
    # limits (tests/e2e/e2e_support.py), or the project's would refuse most new conversations.
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from e2e_support import e2e_config

    env = {
        "KEFU_CONFIG_DIR": str(e2e_config(var / "config")),
        "KEFU_ALLOW_FAKE_CLOCK": "1", "KEFU_FAKE_NOW_FILE": str(clock_file), "KEFU_VAR_DIR": str(var),
        "KEFU_DATABASE_URL": db_url, "KEFU_RASA_TOKEN": "load-" + uuid.uuid4().hex, "RASA_TELEMETRY_ENABLED": "false",
    }
    env.update(extra_env or {})
    stack = start_stack(ports=Ports(), env=env, model=str(models[-1]), with_web=False, log_dir=var / "logs",
                        rasa_timeout=ready_timeout)
    return stack, db_url


async def warm_up(url: str, turn_timeout: float) -> None:
    """One customer alone first, so that model loading is not measured."""
    async with asyncio.timeout(turn_timeout * 3):
        client = socketio.AsyncClient(reconnection=False)
        inbox: asyncio.Queue = asyncio.Queue()
        client.on("bot_uttered", inbox.put_nowait)
        await client.connect(url, transports=["websocket"], socketio_path="/socket.io")
        session = uuid.uuid4().hex
        await client.emit("session_request", {"session_id": session})
        await client.emit("user_uttered", {"message": "你好", "session_id": session})
        await inbox.get()
        await client.disconnect()


def report(summary: Dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(summary, ensure_ascii=False), flush=True)
        return
    print(f"{summary['customers']} widget customers at once (think {args.think:g} s)"
          f"{' + action-server kill/restart' if 'fault' in summary else ''}:")
    for key, value in summary.items():
        if key not in ("customers", "examples"):
            print(f"  {key}: {value}")
    for example in summary["examples"]:
        print(f"  e.g. {example}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="seconds a customer waits after each reply")
    parser.add_argument("--turn-timeout", type=float, default=120.0)
    parser.add_argument("--ramp", type=float, default=0.0, help="spread the customers' arrival over this many seconds")
    parser.add_argument("--fault", action="store_true", help="kill and restart the action server mid-run")
    parser.add_argument("--then-fault", action="store_true", help="after the normal run, the --fault run on the same stack")
    parser.add_argument("--url", help="a running Rasa (default: start our own stack)")
    parser.add_argument("--db", help="its service database URL (with --url)")
    parser.add_argument("--rasa-log", help="its Rasa log file (with --url)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON only")
    parser.add_argument("--ready-timeout", type=float, default=900, help="seconds to wait for Rasa to load the model")
    parser.add_argument("--keep-logs", help="copy the stack's logs to this directory at the end")
    args = parser.parse_args()
    if args.fault and args.url:
        parser.error("--fault needs the script's own stack (it restarts the action server)")
    with tempfile.TemporaryDirectory(prefix="kefu-load-") as tmp:
        stack = None
        if args.url:
            url, db_url, log = args.url, args.db, Path(args.rasa_log) if args.rasa_log else None
        else:
            stack, db_url = start_own_stack(Path(tmp), args.ready_timeout)
            url, log = stack.rasa_url, stack.log_dir / "rasa.log"
        try:
            asyncio.run(warm_up(url, args.turn_timeout))
            variants = [args.fault] + ([True] if args.then_fault and not args.fault else [])
            for fault in variants:
                offset = log.stat().st_size if log and log.exists() else 0
                run = asyncio.run(run_load(url, args.customers, args.think, args.turn_timeout, stack, fault, args.ramp))
                time.sleep(15)  # the last log lines, incl. those of the customers' disconnects, reach the file
                problems = check_database(db_url, run["results"]) if db_url else ["no --db"]
                report(summarize(run, problems, count_log(log, offset)), args)
        finally:
            if stack:
                stack.stop()
                if args.keep_logs:
                    shutil.copytree(stack.log_dir, args.keep_logs, dirs_exist_ok=True)

if __name__ == "__main__":
    main()
