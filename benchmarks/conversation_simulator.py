"""Conversation simulator, full run (issue 10 section 3).

    python benchmarks/conversation_simulator.py [--conversations 2000] [--seed 1] [--concurrency 6] [--model PATH]

Starts the product's stack (Rasa + action server, fresh SQLite service DB, pinned clock:
Monday 10:00 Beijing) on the ports of KEFU_E2E_RASA_PORT / KEFU_E2E_ACTIONS_PORT, with the
e2e configuration (every simulated customer comes from 127.0.0.1, so the per-address limits
are those of tests/e2e/e2e_support.py), plays the generated conversations (tests/simulator/)
and prints the invariant violations by kind (with examples) and the fallback rate on
content turns (turns that carry a request, not courtesy; counted from the tracker's events:
the core fallback or the two-stage fallback loop ran on the message, see
tests/simulator/README.md). Exit code 1 on any violation.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--show", type=int, default=20, help="violations printed in full")
    parser.add_argument("--model", help="model archive to run (default: the newest in models/)")
    args = parser.parse_args()

    from kefu import clock, db
    from kefu.dialogue_config import dialogue_config
    from kefu.runtime.stack import Ports, start_stack
    from e2e_support import e2e_config
    from moments import MONDAY_10_BEIJING
    from tests.simulator.generator import generate, load_pools
    from tests.simulator.runner import Runner, prepare, run

    models = [Path(args.model)] if args.model else sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models or not models[-1].is_file():
        sys.exit("no trained model in models/ (./kefu.sh train)")
    var = Path(tempfile.mkdtemp(prefix="kefu-sim-"))
    db_url = f"sqlite:///{var / 'kefu.db'}"
    db.migrate(db_url)
    clock_file = var / "fake-now.json"
    clock.write_fake_now(clock_file, MONDAY_10_BEIJING)
    env = {"KEFU_CONFIG_DIR": str(e2e_config(var / "config")), "KEFU_ALLOW_FAKE_CLOCK": "1",
           "KEFU_FAKE_NOW_FILE": str(clock_file), "KEFU_VAR_DIR": str(var), "KEFU_DATABASE_URL": db_url,
           "KEFU_RASA_TOKEN": "sim-" + uuid.uuid4().hex, "RASA_TELEMETRY_ENABLED": "false"}
    ports = Ports(rasa=int(os.environ.get("KEFU_E2E_RASA_PORT", 15005)),
                  actions=int(os.environ.get("KEFU_E2E_ACTIONS_PORT", 15055)),
                  web=int(os.environ.get("KEFU_E2E_WEB_PORT", 18000)))
    print(f"model {models[-1].name}; stack on :{ports.rasa}/:{ports.actions}; logs {var / 'logs'}", flush=True)
    stack = start_stack(ports=ports, env=env, model=str(models[-1]), with_web=False, log_dir=var / "logs")
    try:
        pools = load_pools()
        prepared = prepare(db_url, MONDAY_10_BEIJING, pools["answers"]["phone"])
        runner = Runner(stack.rasa_url, stack.env["KEFU_REST_TOKEN"], env["KEFU_RASA_TOKEN"], db_url, prepared,
                        max_messages=dialogue_config().max_bot_messages_per_turn)
        done = [0]

        def progress(_i, _result):
            done[0] += 1
            if done[0] % 100 == 0:
                print(f"  {done[0]} conversations", flush=True)

        started = time.perf_counter()
        report = run(runner, generate(args.seed, args.conversations, pools), args.concurrency, progress)
        elapsed = time.perf_counter() - started
    finally:
        stack.stop()
    print(f"seed {args.seed}, {elapsed:.0f} s")
    print(report.summary())
    for violation in report.violations[:args.show]:
        print(violation)
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
