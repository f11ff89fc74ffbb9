"""Rasa -> action server call overhead: stock per-call connections against the keep-alive pool (issue 13).

    python benchmarks/action_call_overhead.py [--calls 1000] [--concurrency 20] [--rounds 2]

Starts Kefu's real action server (``python -m actions.server``, the Sanic settings of
config/reliability.yml, a fresh migrated SQLite service DB in a temporary directory) and
calls one custom action from this process through Rasa's own ``RemoteAction.run`` with
Kefu's hooks installed (retries, response validation, the pool), on a real tracker of
Kefu's domain (a repair form after the customer gave an address). ``--action`` picks the
action; the default, ``action_courtesy``, does little work, so that the call overhead shows
(``validate_repair_form`` or ``action_ask_address`` measure a heavier action).

Both variants run in the same run, alternately (``--rounds`` times each, stock first):
- ``stock``: config/reliability.yml ``action_pool.keep_alive: false``, i.e. Rasa 3.6's
  own behaviour (a new aiohttp session and TCP connection per call);
- ``keep-alive``: the pool of config/reliability.yml (``max_connections`` connections).

Prints, per round: calls, errors, calls/s, p50/p95 per call, and the TCP connections this
process opened to the action server (counted in aiohttp's connector); then the ratio of
the means. No model is needed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_action_server(var: Path, port: int, secret: str) -> subprocess.Popen:
    from kefu import db

    db_url = f"sqlite:///{var / 'kefu.db'}"
    db.migrate(db_url)
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": db_url,
        "KEFU_VAR_DIR": str(var),
        "KEFU_ACTION_SECRET": secret,
        "RASA_TELEMETRY_ENABLED": "false",
    }
    log = open(var / "actions.log", "w")
    from kefu.runtime.action_server import action_server_args

    process = subprocess.Popen(action_server_args(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the action server exited ({var / 'actions.log'}):\n{(var / 'actions.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    sys.exit("the action server did not start within 180 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per round")
    parser.add_argument("--concurrency", type=int, default=20, help="calls in flight at once")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each variant, alternately")
    parser.add_argument(
        "--action",
        default="action_courtesy",
        help="the custom action called (default: a cheap one, so that the call overhead shows)",
    )
    parser.add_argument(
        "--compare",
        choices=["keep-alive", "selective-domain"],
        default="keep-alive",
        help="keep-alive: stock per-call connections vs the pool; selective-domain: the whole domain "
        "in every call vs only for validate_* (both over the pool)",
    )
    args = parser.parse_args()

    import aiohttp
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    import channels.socketio  # noqa: F401  (installs Kefu's hooks, as Rasa does when it loads the channel)
    from channels import action_calls, action_pool
    from kefu import settings
    from kefu.runtime.reliability import reliability_config

    domain = Domain.load(str(settings.repo_root() / "domain.yml"))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    address = "北京市海淀区中关村大街27号3单元501"
    events = [
        ActionExecuted("action_listen"),
        UserUttered("我家空调不制冷了", {"name": "report_repair", "confidence": 0.99}),
        ActionExecuted("repair_form"),
        ActiveLoop("repair_form"),
        SlotSet("product", "空调"),
        SlotSet("product_model", "未知"),
        SlotSet("fault_description", "空调不制冷了"),
        SlotSet("requested_slot", "address"),
        ActionExecuted("action_listen"),
        UserUttered(address, {"name": "inform", "confidence": 0.99}),
        SlotSet("address", address),
    ]

    opened = [0]
    original_create = aiohttp.TCPConnector._create_connection

    async def counting_create(self, *a: Any, **k: Any):  # every new TCP connection, stock or pooled
        opened[0] += 1
        return await original_create(self, *a, **k)

    aiohttp.TCPConnector._create_connection = counting_create  # type: ignore[method-assign]

    base = reliability_config()

    names = ("stock", "keep-alive") if args.compare == "keep-alive" else ("whole domain", "selective")
    selective = [False]

    def variant(name: str):
        keep_alive = name != "stock"
        selective[0] = name == "selective"
        config = base.copy(update={"action_pool": base.action_pool.copy(update={"keep_alive": keep_alive})})
        action_calls.reliability_config = action_pool.reliability_config = lambda: config  # type: ignore[assignment]

    async def one_round(url: str, secret: str) -> Dict[str, Any]:
        endpoint = EndpointConfig(url, headers={"X-Kefu-Action-Secret": secret}, enable_selective_domain=selective[0])
        action = RemoteAction(args.action, endpoint)
        latencies: List[float] = []
        errors = [0]
        remaining = [args.calls]

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                tracker = DialogueStateTracker.from_events(uuid.uuid4().hex, events, slots=domain.slots)
                started = time.perf_counter()
                try:
                    result = await action.run(CollectingOutputChannel(), nlg, tracker, domain)
                    if not result:  # every Kefu action answers with events or messages
                        errors[0] += 1
                        if errors[0] == 1:
                            print("unexpected answer:", result, flush=True)
                except Exception as error:
                    errors[0] += 1
                    if errors[0] == 1:
                        print("failed call:", repr(error), repr(error.__cause__), flush=True)
                latencies.append(time.perf_counter() - started)

        opened[0] = 0
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - started
        await action_pool.pool.close()
        latencies.sort()
        return {
            "calls": len(latencies),
            "errors": errors[0],
            "calls_per_s": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
            "connections": opened[0],
        }

    with tempfile.TemporaryDirectory(prefix="kefu-actbench-") as tmp:
        port, secret = free_port(), uuid.uuid4().hex
        server = start_action_server(Path(tmp), port, secret)
        url = f"http://127.0.0.1:{port}/webhook"
        try:
            variant(names[0])
            asyncio.run(one_round(url, secret))  # warm-up: imports, first DB connections
            results: Dict[str, List[Dict[str, Any]]] = {name: [] for name in names}
            for number in range(1, args.rounds + 1):
                for name in names:
                    variant(name)
                    result = asyncio.run(one_round(url, secret))
                    results[name].append(result)
                    print(
                        f"round {number} {name:>12}: {result['calls']} calls, {result['errors']} errors, "
                        f"{result['calls_per_s']:.0f} calls/s, p50 {result['p50_ms']:.1f} ms, "
                        f"p95 {result['p95_ms']:.1f} ms, {result['connections']} TCP connections",
                        flush=True,
                    )
        finally:
            server.terminate()
            server.wait(30)
    mean = {name: statistics.mean(r["calls_per_s"] for r in rounds) for name, rounds in results.items()}
    print(
        f"mean: {names[0]} {mean[names[0]]:.0f} calls/s, {names[1]} {mean[names[1]]:.0f} calls/s "
        f"({mean[names[1]] / mean[names[0]]:.2f}x); {args.concurrency} in flight, "
        f"pool of {base.action_pool.max_connections} connections"
    )


if __name__ == "__main__":
    main()
