"""Realistic-mix load benchmark, Kefu against a stock `rasa init` bot in the same run (issue 13).

    python benchmarks/realistic_mix.py [--conversations 20] [--duration 60] [--transport both]
    python benchmarks/realistic_mix.py --url http://127.0.0.1:5005 --no-baseline   # a running stack
    python benchmarks/realistic_mix.py --stores postgres-redis   # PostgreSQL tracker + service DB, Redis locks

By default the script starts its own Kefu stack (Rasa + action server, fresh SQLite service DB
and tracker store, clock pinned to a Monday morning; the stack of benchmarks/widget_load.py) on
KEFU_RASA_PORT / KEFU_ACTIONS_PORT with the newest model in models/, and a stock bot made by
`rasa init --no-prompt` (trained once, kept in var/bench/stock/; in-memory tracker store, no
action server) on KEFU_BENCH_STOCK_PORT (default KEFU_RASA_PORT + 7). ``--stores postgres-redis``
runs Kefu's stack on a fresh PostgreSQL database (service DB and tracker store; created on
KEFU_BENCH_PG_URL's server, default 127.0.0.1:5432 db ``test``, dropped at the end) with the
Redis lock store (KEFU_BENCH_REDIS_URL, default redis://127.0.0.1:6379/0). Both get the same load:

- ``--conversations`` customers at once, each starting conversation after conversation (new
  sender id each) for ``--duration`` seconds with no think time (a conversation in progress
  at the end is finished); half over the REST channel and half over socket.io (the widget's
  protocol; a message's turn is over when the server acknowledges it) with ``--transport both``;
- Kefu's mix: FAQ questions, the repair form to a ticket, a ticket query (a ticket made earlier
  in the run, with its phone), a complaint to its ticket, courtesy turns; the stock bot's mix:
  its greet / mood / bot-challenge / goodbye stories.

Every reply is checked: a turn whose reply is missing, an error, the "not processed, send it
again" notice or not what that turn must answer (e.g. the next question of the form, the
ticket number, the ticket's status) counts as an error, not as a fast answer. Prints, for
each bot: messages, errors, msg/s, p50/p95/p99/max per message, peak RSS of the Rasa server
(and the action server), time to ready; then Kefu/stock ratios. ``--csv`` writes one row per
message. Bounded: ``--duration`` plus the last conversations' turns (each at most
``--turn-timeout``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import httpx
import socketio

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from widget_load import RESEND_MARKER, SILENT_MARKER, start_own_stack  # noqa: E402  (one home for the stack)

# --stores postgres-redis: a fresh database on this server (created and dropped by the run), and Redis.
PG_ADMIN_URL = os.environ.get("KEFU_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("KEFU_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def _pg_admin(statement: str) -> None:
    import psycopg2

    connection = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def create_pg_database() -> str:
    """An empty PostgreSQL database for one run (service DB and Rasa's tracker store); its URL."""
    from sqlalchemy.engine import make_url

    name = f"kefu_bench_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    return str(make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg2", database=name))


def drop_pg_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    from kefu import db

    db.dispose_engines()
    _pg_admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


TICKET_NO = re.compile(r"[A-Z]{2}\d{8}-\d{4,}")
ERROR_MARKERS = (RESEND_MARKER, SILENT_MARKER)


@dataclass
class Turn:
    text: str
    expect: Optional[str] = None  # regex the turn's replies must match (None: any proper reply)
    reject: Tuple[str, ...] = ()  # markers of a wrong reply


@dataclass
class Sample:
    system: str
    transport: str
    scenario: str
    turn: int
    latency_s: float
    error: str = ""


@dataclass
class Pool:
    """Tickets made in this run, for the ticket queries: (ticket_no, phone)."""

    tickets: List[Tuple[str, str]] = field(default_factory=list)


# --- the conversations -------------------------------------------------------------------


def _ignore(_index: int, _text: str) -> None:
    """A scenario that learns nothing from its replies."""


FAQS = [("保修期是多久", "保修"), ("上门费怎么收", "50"), ("你们客服几点上班", "8:00")]


def kefu_scenario(rng: random.Random, pool: Pool) -> Tuple[str, List[Turn], Callable[[int, str], None]]:
    """A Kefu conversation picked by the mix's weights; the callback sees each turn's reply text."""
    kind = rng.choices(["faq", "courtesy", "repair", "ticket_query", "complaint"], [3, 2, 2, 2, 1])[0]
    if kind == "ticket_query" and not pool.tickets:
        kind = "repair"  # nothing to query yet
    phone = f"139{rng.randrange(10**8):08d}"
    if kind == "faq":
        picked = rng.sample(FAQS, 2)
        return kind, [Turn(question, answer) for question, answer in picked] + [Turn("谢谢")], _ignore
    if kind == "courtesy":
        return kind, [Turn("你好", "小暖"), Turn("谢谢"), Turn("再见")], _ignore
    if kind == "ticket_query":
        ticket_no, owner_phone = rng.choice(pool.tickets)
        return (
            kind,
            [
                Turn("帮我查下报修进度", "工单"),
                Turn(ticket_no, "手机"),
                Turn(owner_phone, f"{re.escape(ticket_no)}[\\s\\S]*受理|受理[\\s\\S]*{re.escape(ticket_no)}"),
            ],
            _ignore,
        )
    if kind == "complaint":
        return (
            kind,
            [
                Turn("我要投诉，上次来的师傅迟到了两个小时"),
                Turn("希望给个说法", "手机"),
                Turn(phone, TICKET_NO.pattern),
            ],
            _ignore,
        )
    address = f"北京市海淀区中关村大街{rng.randrange(1, 300)}号{rng.randrange(1, 9)}单元{rng.randrange(101, 2000)}室"
    turns = [
        Turn("你好", "小暖"),
        Turn("我家空调不制冷了，想报修", "型号"),
        Turn("型号不知道", "地址", reject=("型号",)),
        Turn(address, "手机", reject=("地址好像不太完整", "补充一下详细地址")),
        Turn(phone, "时间", reject=("地址好像不太完整", "补充一下详细地址")),
        Turn("明天下午", TICKET_NO.pattern, reject=("手机号", "地址")),
    ]

    def remember(index: int, text: str) -> None:
        found = TICKET_NO.findall(text)
        if index == len(turns) - 1 and found:
            pool.tickets.append((found[0], phone))

    return kind, turns, remember


def stock_scenario(rng: random.Random, _pool: Pool) -> Tuple[str, List[Turn], Callable[[int, str], None]]:
    """The `rasa init` bot's stories (its domain's responses)."""
    kind = rng.choice(["happy", "sad", "challenge"])
    greet = Turn("hello", "Hey! How are you")
    if kind == "happy":
        turns = [greet, Turn("I am great", "Great, carry on"), Turn("bye", "Bye")]
    elif kind == "sad":
        turns = [greet, Turn("I am very sad", "Did that help you"), Turn("yes", "Great, carry on")]
    else:
        turns = [Turn("are you a bot?", "I am a bot"), Turn("goodbye", "Bye")]
    return kind, turns, _ignore


# --- transports --------------------------------------------------------------------------


class RestClient:
    def __init__(self, url: str, token: str, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        self.http = httpx.AsyncClient(timeout=timeout, headers=headers, limits=limits)
        self.url = f"{url}/webhooks/rest/webhook"

    async def conversation(self, sender: str):
        return RestConversation(self, sender)

    async def close(self) -> None:
        await self.http.aclose()


class RestConversation:
    def __init__(self, client: RestClient, sender: str) -> None:
        self.client, self.sender = client, sender

    async def say(self, text: str) -> List[dict]:
        body = {"sender": self.sender, "message": text, "metadata": {"client_message_id": uuid.uuid4().hex}}
        response = await self.client.http.post(self.client.url, json=body)
        response.raise_for_status()
        return response.json()

    async def close(self) -> None:
        return None


class SocketConversation:
    """The widget's protocol: one socket per conversation, session_request, user_uttered with a
    client_message_id; the turn is over when the server acknowledges the message (Kefu's channel
    and Rasa's stock one both acknowledge once the message is handled)."""

    def __init__(self, url: str, sender: str, timeout: float) -> None:
        self.url, self.sender, self.timeout = url, sender, timeout
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", self.inbox.put_nowait)

    async def open(self) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
        await self.client.connect(
            f"{self.url}?kefu_session={self.sender}",
            transports=["websocket"],
            socketio_path="/socket.io",
            wait_timeout=self.timeout,
        )
        await self.client.emit("session_request", {"session_id": self.sender})
        await asyncio.wait_for(confirmed, self.timeout)

    async def say(self, text: str) -> List[dict]:
        acked = asyncio.get_running_loop().create_future()
        await self.client.emit(
            "user_uttered",
            {"message": text, "session_id": self.sender, "customData": {"client_message_id": uuid.uuid4().hex}},
            callback=lambda *args: acked.done() or acked.set_result(args),
        )
        await asyncio.wait_for(acked, self.timeout)
        await asyncio.sleep(0)  # frames that arrived with the acknowledgement
        replies = []
        while not self.inbox.empty():
            replies.append(self.inbox.get_nowait())
        return replies

    async def close(self) -> None:
        try:
            await self.client.disconnect()
        except Exception:
            pass


def check(turn: Turn, replies: List[dict]) -> str:
    """'' for the turn's proper reply, else what is wrong with it."""
    text = "\n".join(str(r.get("text") or "") for r in replies)
    if not replies or not any(r.get("text") or r.get("custom") or r.get("image") for r in replies):
        return "no reply"
    if any(marker in text for marker in ERROR_MARKERS):
        return f"error reply {text[:40]!r}"
    if any(bad in text for bad in turn.reject) or (turn.expect and not re.search(turn.expect, text)):
        return f"wrong reply to {turn.text[:12]!r}: {text[:50]!r}"
    return ""


# --- the load ----------------------------------------------------------------------------


async def customer(
    system: str,
    n: int,
    transport: str,
    url: str,
    rest: RestClient,
    deadline: float,
    scenario: Callable,
    pool: Pool,
    samples: List[Sample],
    timeout: float,
    seed: int,
) -> None:
    rng = random.Random(seed * 1000 + n)
    while time.perf_counter() < deadline:
        kind, turns, observe = scenario(rng, pool)
        sender = f"mix-{system}-{uuid.uuid4().hex[:12]}"
        if transport == "socketio":
            conversation: Any = SocketConversation(url, sender, timeout)
            try:
                await conversation.open()
            except Exception as error:
                samples.append(Sample(system, transport, kind, 0, 0.0, f"connect: {type(error).__name__}: {error}"))
                await conversation.close()
                continue
        else:
            conversation = await rest.conversation(sender)
        try:
            for index, turn in enumerate(turns):
                started = time.perf_counter()
                try:
                    replies = await conversation.say(turn.text)
                    problem = check(turn, replies)
                except Exception as error:
                    replies, problem = [], f"{type(error).__name__}: {error}"[:120]
                samples.append(Sample(system, transport, kind, index + 1, time.perf_counter() - started, problem))
                if problem:
                    break  # the rest of this conversation would only measure the confusion
                observe(index, "\n".join(str(r.get("text") or "") for r in replies))
        finally:
            await conversation.close()


class RssSampler:
    """Peak resident memory of some processes (and their children), sampled every 0.5 s."""

    def __init__(self, pids: Dict[str, int]) -> None:
        self.pids, self.peak = pids, {name: 0 for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss_mb(pid: int) -> int:
        total = 0
        for p in [pid, *_children(pid)]:
            try:
                status = Path(f"/proc/{p}/status").read_text()
                total += int(status.split("VmRSS:")[1].split()[0])
            except (OSError, IndexError):
                pass
        return total // 1024

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], self.rss_mb(pid))
            self._stop.wait(0.5)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def _children(pid: int) -> List[int]:
    try:
        out = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    kids = [int(x) for x in out]
    return kids + [grandchild for kid in kids for grandchild in _children(kid)]


async def run_load(
    system: str, url: str, token: str, conversations: int, duration: float, transport: str, timeout: float, seed: int
) -> Tuple[List[Sample], float]:
    scenario = kefu_scenario if system == "kefu" else stock_scenario
    pool, samples = Pool(), []
    rest = RestClient(url, token, timeout)
    transports = {"rest": ["rest"], "socketio": ["socketio"], "both": ["rest", "socketio"]}[transport]
    started = time.perf_counter()
    deadline = started + duration
    try:
        await asyncio.gather(
            *(
                customer(
                    system,
                    n,
                    transports[n % len(transports)],
                    url,
                    rest,
                    deadline,
                    scenario,
                    pool,
                    samples,
                    timeout,
                    seed,
                )
                for n in range(conversations)
            )
        )
    finally:
        await rest.close()
    return samples, time.perf_counter() - started


async def warm_up(system: str, url: str, token: str, timeout: float) -> None:
    """One conversation of each kind first (model loading, first DB connections are not measured)."""
    await run_load(system, url, token, 2, 0.01, "both", timeout, seed=999)


def summarize(samples: List[Sample], elapsed: float) -> Dict[str, Any]:
    latencies = sorted(s.latency_s for s in samples)
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [latencies[0] if latencies else 0.0] * 99
    errors = [s for s in samples if s.error]
    by_kind: Dict[str, int] = {}
    for s in samples:
        by_kind[f"{s.transport}/{s.scenario}"] = by_kind.get(f"{s.transport}/{s.scenario}", 0) + 1
    return {
        "messages": len(samples),
        "errors": len(errors),
        "elapsed_s": round(elapsed, 1),
        "msg_per_s": round(len(samples) / elapsed, 1) if elapsed else 0.0,
        "ok_msg_per_s": round((len(samples) - len(errors)) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(q[49] * 1000),
        "p95_ms": round(q[94] * 1000),
        "p99_ms": round(q[98] * 1000),
        "max_ms": round(latencies[-1] * 1000) if latencies else 0,
        "mix": dict(sorted(by_kind.items())),
        "error_examples": sorted({s.error for s in errors})[:6],
    }


# --- the stock bot -----------------------------------------------------------------------

STOCK_CREDENTIALS = """rest:
socketio:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true
"""


# `rasa run`, with only the Python 3.11 fix for Sanic 21.12's WebSockets (channels/compat.py):
# without it stock Rasa 3.6 answers every socket.io WebSocket with "Invalid response type None".
STOCK_LAUNCHER = (
    "import sys; sys.argv = ['rasa'] + sys.argv[1:]; import channels.compat; channels.compat.apply(); "
    "from rasa.__main__ import main; main()"
)


def stock_project(var: Path) -> Path:
    """`rasa init --no-prompt` once (it trains its model); kept for later runs."""
    project = var / "bench" / "stock"
    if not list((project / "models").glob("*.tar.gz")):
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir(parents=True)
        print("training the stock `rasa init` bot (once, kept in var/bench/stock) ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(project)],
            cwd=project,
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        )
    (project / "credentials-bench.yml").write_text(STOCK_CREDENTIALS)
    return project


def start_stock(project: Path, port: int, log: Path, timeout: float) -> Tuple[subprocess.Popen, float]:
    model = sorted((project / "models").glob("*.tar.gz"))[-1]
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            STOCK_LAUNCHER,
            "run",
            "--enable-api",
            "--port",
            str(port),
            "--model",
            str(model),
            "--credentials",
            str(project / "credentials-bench.yml"),
        ],
        cwd=project,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)},
    )
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"stock Rasa exited; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/status", timeout=2).status_code == 200:
                return process, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise TimeoutError(f"stock Rasa not ready after {timeout:.0f}s; see {log}")


# --- main --------------------------------------------------------------------------------


def measure(system: str, url: str, token: str, pids: Dict[str, int], args: argparse.Namespace) -> Dict[str, Any]:
    asyncio.run(warm_up(system, url, token, args.turn_timeout))
    with RssSampler(pids) as rss:
        samples, elapsed = asyncio.run(
            run_load(
                system, url, token, args.conversations, args.duration, args.transport, args.turn_timeout, args.seed
            )
        )
    summary = summarize(samples, elapsed)
    summary.update({f"rss_{name}_mb": peak for name, peak in rss.peak.items()})
    if args.csv:
        new = not Path(args.csv).exists()
        with open(args.csv, "a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["system", "transport", "scenario", "turn", "latency_ms", "error"])
            for s in samples:
                writer.writerow([s.system, s.transport, s.scenario, s.turn, round(s.latency_s * 1000, 1), s.error])
    return summary


def print_summary(name: str, summary: Dict[str, Any]) -> None:
    print(
        f"{name}: {summary['messages']} messages, {summary['errors']} errors in {summary['elapsed_s']} s = "
        f"{summary['msg_per_s']} msg/s; p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
        f"p99 {summary['p99_ms']} ms, max {summary['max_ms']} ms",
        flush=True,
    )
    extra = {k: v for k, v in summary.items() if k.startswith(("rss_", "ready_", "stores"))}
    print(f"  {extra}\n  mix {summary['mix']}", flush=True)
    for example in summary["error_examples"]:
        print(f"  e.g. {example}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=20, help="customers at once (each a closed loop)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds during which conversations start")
    parser.add_argument("--transport", choices=["both", "rest", "socketio"], default="both")
    parser.add_argument("--turn-timeout", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--url", help="a running Kefu Rasa (default: start our own stack)")
    parser.add_argument(
        "--token", help="with --url: the REST channel's token (default KEFU_REST_TOKEN / var/secrets.json)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the stock `rasa init` bot")
    parser.add_argument("--no-kefu", action="store_true", help="only the stock bot")
    parser.add_argument("--ready-timeout", type=float, default=900)
    parser.add_argument("--csv", help="append one row per message to this CSV file")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line at the end")
    parser.add_argument(
        "--stores",
        choices=["sqlite", "postgres-redis"],
        default="sqlite",
        help="Kefu's own stack: SQLite service DB + tracker store (default), or a fresh PostgreSQL database "
        "(KEFU_BENCH_PG_URL's server) for both + the Redis lock store (KEFU_BENCH_REDIS_URL)",
    )
    args = parser.parse_args()
    from kefu import settings

    results: Dict[str, Dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="kefu-mix-") as tmp:
        var = Path(tmp)
        if not args.no_kefu:
            stack = None
            pg_url = None
            if args.url:
                url, token, pids = args.url, args.token or settings.get_secret("KEFU_REST_TOKEN"), {}
                ready = None
            else:
                started = time.perf_counter()
                pg_url = create_pg_database() if args.stores == "postgres-redis" else None
                extra = {"KEFU_REDIS_URL": REDIS_URL} if pg_url else {}
                try:
                    stack, _db_url = start_own_stack(var, args.ready_timeout, db_url=pg_url, extra_env=extra)
                except BaseException:
                    if pg_url:
                        drop_pg_database(pg_url)
                    raise
                ready = round(time.perf_counter() - started, 1)
                url, token = stack.rasa_url, stack.env["KEFU_REST_TOKEN"]
                pids = {"rasa": stack.pid("rasa"), "actions": stack.pid("actions")}
            try:
                results["kefu"] = measure("kefu", url, token, pids, args)
                results["kefu"]["ready_s"] = ready
            finally:
                if stack:
                    stack.stop()
                if pg_url:
                    drop_pg_database(pg_url)
            results["kefu"]["stores"] = args.stores if stack else "(running stack)"
            print_summary("Kefu", results["kefu"])
        if not args.no_baseline:
            port = int(os.environ.get("KEFU_BENCH_STOCK_PORT") or int(os.environ.get("KEFU_RASA_PORT", "5005")) + 7)
            project = stock_project(settings.var_dir())
            process, ready = start_stock(project, port, var / "stock-rasa.log", args.ready_timeout)
            try:
                results["stock"] = measure("stock", f"http://127.0.0.1:{port}", "", {"rasa": process.pid}, args)
                results["stock"]["ready_s"] = round(ready, 1)
            finally:
                process.terminate()
                process.wait(30)
            print_summary("stock rasa init", results["stock"])
    if "kefu" in results and "stock" in results and results["stock"]["msg_per_s"]:
        kefu, stock = results["kefu"], results["stock"]
        results["ratio"] = {
            "msg_per_s": round(kefu["msg_per_s"] / stock["msg_per_s"], 2),
            "p95": round(kefu["p95_ms"] / max(stock["p95_ms"], 1), 2),
        }
        print(f"Kefu / stock: {results['ratio']['msg_per_s']}x the msg/s, {results['ratio']['p95']}x the p95")
    print(
        f"({args.conversations} customers at once, {args.duration:g} s, transport {args.transport}; "
        f"targets: >= 100 msg/s, p95 <= 250 ms, 0 errors, >= 2x stock, Rasa RSS <= 1024 MB, ready <= 20 s)"
    )
    if args.json:
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
