"""Rasa server start-up: time to ready, and where it goes (issue 13: ready <= 20 s).

    python benchmarks/rasa_startup.py [--model models/X.tar.gz] [--runs 1]

Starts Kefu's Rasa server exactly as the stack does (``python -m channels.rasa_server`` with
kefu.runtime.stack's arguments: API on, Kefu's channels, an endpoints file from
kefu.runtime.endpoints with the SQLite tracker store in a temporary directory; no action
server is needed to start) with the newest model in models/, and waits until
``/status`` names the model: that is "ready" (what ``./kefu.sh run`` waits for).

The server runs under this script in ``--child`` mode, which only records timestamps around
Rasa's own steps (no behaviour changes) and then hands over to channels.rasa_server:
Python start-up and imports (Rasa, TensorFlow, Sanic, Kefu's channels), the CLI and
endpoints up to the model, the model load (``rasa.core.agent.load_agent``: unpacking the
archive, then loading each graph component, the slowest listed), and from the loaded model
to the first answer of ``/status`` (Sanic start, channel blueprints, tracker and lock store).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _mark(path: str, mark: str, **extra: Any) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"mark": mark, "t": time.time(), **extra}) + "\n")


def child(marks: str, rasa_argv: List[str]) -> None:
    """Rasa's server, with timestamps around its start-up steps."""
    _mark(marks, "python_started")
    import rasa.core.agent
    import rasa.engine.graph
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    import channels.rasa_server

    _mark(marks, "imports_done")
    load_agent = rasa.core.agent.load_agent

    async def timed_load_agent(*args: Any, **kwargs: Any) -> Any:
        _mark(marks, "model_load_start")
        try:
            return await load_agent(*args, **kwargs)
        finally:
            _mark(marks, "model_load_end")

    rasa.core.agent.load_agent = timed_load_agent  # rasa.core.run calls agent.load_agent

    from_archive = LocalModelStorage.from_model_archive.__func__  # type: ignore[attr-defined]

    def timed_from_archive(cls: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.time()
        try:
            return from_archive(cls, *args, **kwargs)
        finally:
            _mark(marks, "unpack", seconds=time.time() - started)

    LocalModelStorage.from_model_archive = classmethod(timed_from_archive)  # type: ignore[method-assign,assignment]

    create = DaskGraphRunner.create.__func__  # type: ignore[attr-defined]

    def timed_create(cls: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.time()
        try:
            return create(cls, *args, **kwargs)
        finally:
            _mark(marks, "graph", seconds=time.time() - started)

    DaskGraphRunner.create = classmethod(timed_create)  # type: ignore[method-assign,assignment]

    load_component = rasa.engine.graph.GraphNode._load_component

    def timed_load_component(self: Any, **kwargs: Any) -> None:
        started = time.time()
        try:
            load_component(self, **kwargs)
        finally:
            _mark(marks, "component", name=self._component_class.__name__, seconds=time.time() - started)

    rasa.engine.graph.GraphNode._load_component = timed_load_component  # type: ignore[method-assign]
    sys.argv = [sys.argv[0], *rasa_argv]
    channels.rasa_server.main()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(model: Path, timeout: float) -> Dict[str, Any]:
    import httpx

    from kefu import db
    from kefu.runtime.endpoints import write_endpoints
    from kefu.runtime.stack import Ports, base_env, rasa_args

    with tempfile.TemporaryDirectory(prefix="kefu-startup-") as tmp:
        var = Path(tmp)
        db_url = f"sqlite:///{var / 'kefu.db'}"
        db.migrate(db_url)
        port, token = free_port(), "startup-" + os.urandom(8).hex()
        env = base_env(
            {
                "KEFU_VAR_DIR": str(var),
                "KEFU_DATABASE_URL": db_url,
                "KEFU_RASA_TOKEN": token,
                "KEFU_ACTION_URL": f"http://127.0.0.1:{free_port()}/webhook",
                "RASA_TELEMETRY_ENABLED": "false",
            }
        )
        endpoints = write_endpoints(var / "endpoints.yml", db_url, var, env)
        argv = rasa_args(Ports(rasa=port), endpoints, str(model))[3:]  # after `python -m channels.rasa_server`
        marks = var / "marks.jsonl"
        log = open(var / "rasa.log", "w")
        started = time.time()
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(marks), "--", *argv],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        listening = ready = None
        try:
            deadline = started + timeout
            while time.time() < deadline and ready is None:
                if process.poll() is not None:
                    sys.exit(f"Rasa exited ({process.returncode}):\n{(var / 'rasa.log').read_text()[-3000:]}")
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}/status", params={"token": token}, timeout=2)
                    listening = listening or time.time()
                    if answer.status_code == 200 and "model_file" in answer.text:
                        ready = time.time()
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            if ready is None:
                lines = [line for line in (var / "rasa.log").read_text().splitlines() if "No agent loaded" not in line]
                sys.exit(f"Rasa not ready after {timeout:.0f} s:\n" + "\n".join(lines[-40:]))
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        rows = [json.loads(line) for line in marks.read_text().splitlines()]
    at = {row["mark"]: row["t"] for row in rows if "seconds" not in row}
    components: Dict[str, float] = defaultdict(float)
    for row in rows:
        if row["mark"] == "component":
            components[row["name"]] += row["seconds"]
    unpack = sum(row["seconds"] for row in rows if row["mark"] == "unpack")
    graph = sum(row["seconds"] for row in rows if row["mark"] == "graph")
    return {
        "ready_s": ready - started,
        "steps": {
            "python start-up (interpreter, site-packages)": at["python_started"] - started,
            "imports (Rasa, TensorFlow, Sanic, Kefu channels)": at["imports_done"] - at["python_started"],
            "CLI, endpoints, until the model load": at["model_load_start"] - at["imports_done"],
            "model load (load_agent)": at["model_load_end"] - at["model_load_start"],
            "after the model: Sanic, channels, stores, first /status": ready - at["model_load_end"],
        },
        "model_load": {
            "unpack the archive": unpack,
            "graph components": graph,
            "rest of load_agent": at["model_load_end"] - at["model_load_start"] - unpack - graph,
        },
        "components": dict(sorted(components.items(), key=lambda item: -item[1])),
        "listening_s": (listening - started) if listening else None,
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[sys.argv.index("--") + 1 :])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model archive (default: the newest in models/)")
    parser.add_argument("--runs", type=int, default=1, help="starts, one after another")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args()
    if args.model:
        model = Path(args.model)
    else:
        models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        if not models:
            sys.exit("no trained model in models/ (./kefu.sh train)")
        model = models[-1]
    results = []
    for number in range(1, args.runs + 1):
        result = one_start(model, args.timeout)
        results.append(result)
        print(f"run {number}: ready {result['ready_s']:.1f} s after start (model {model.name})", flush=True)
        for label, seconds in result["steps"].items():
            print(f"  {label:<56} {seconds:6.1f} s  {100 * seconds / result['ready_s']:3.0f} %")
        print("  model load:")
        for label, seconds in result["model_load"].items():
            print(f"    {label:<50} {seconds:6.1f} s")
        top = list(result["components"].items())[:6]
        print("    slowest components: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in top), flush=True)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"(target: ready <= 20 s; load average at the end {load:.1f}, {os.cpu_count()} cores)")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
