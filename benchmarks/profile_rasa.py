"""Where a message's time goes in the running Rasa server: py-spy samples, grouped (issue 13).

    python benchmarks/profile_rasa.py --pid <rasa pid> --seconds 30 [--raw var/profile.txt]
    python benchmarks/profile_rasa.py --analyse var/profile.txt

Run it while a load runs (e.g. benchmarks/realistic_mix.py --url ...). py-spy (requirements/
dev.txt) samples every Python thread of the process --rate times a second without stopping
it; this script keeps the samples in which a thread was working (not waiting on a lock, a
queue or the selector) and groups them by the first recognised step of Rasa's message
handling on the stack: NLU, dialogue policies, tracker store load / save, custom-action
calls (and within them the response validation), channel work (Sanic, socket.io). It prints
each group's share of the event-loop thread's busy time and of the inference thread's
(channels/inference.py runs NLU and policies there). docs/performance.md has the results.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

# (group, substrings of a frame): the first group with a frame on the stack takes the sample.
GROUPS: List[Tuple[str, Tuple[str, ...]]] = [
    ("NLU pipeline (parse)", ("_parse_message_with_graph",)),
    (
        "dialogue policies (predict)",
        ("predict_next_with_tracker", "_predict_next_with_tracker", "get_next_action_probabilities"),
    ),
    ("action call: response validation", ("_validate_action_result",)),
    ("action call: HTTP + (de)serialisation", ("RemoteAction.run", "run_with_retry")),
    (
        "tracker store: load",
        (
            "SQLTrackerStore.retrieve",
            "SQLTrackerStore._retrieve",
            "retrieve_full_tracker",
            "TrackerStore.retrieve",
            "_event_query",
            "init_tracker_from_events",
            "get_or_create_tracker",
            "fetch_tracker_with_initial_session",
        ),
    ),
    ("tracker store: save", ("SQLTrackerStore.save", "TrackerStore.save", "save_tracker")),
    ("lock store", ("lock_store", "LockStore")),
    ("socket.io / engine.io", ("socketio/", "engineio/")),
    ("rest of the request (Sanic, channel, Rasa's processor)", ("sanic/", "rasa/", "channels/")),
]
# A thread whose innermost frame is one of these is waiting, not working.
IDLE_LEAVES = (
    "Condition.wait",
    "Event.wait",
    "select (",
    "_run_once (asyncio/base_events.py",
    "_worker (concurrent",
    "SimpleQueue.get",
    "Queue.get",
    "_wait_for_tstate_lock",
    "epoll",
    "sleep (",
)

NATIVE_LOOP = "serve (sanic/server/runners.py"


def thread_of(stack: str) -> str:
    if (
        "concurrent/futures/thread.py" in stack
        and "kefu-inference" not in stack
        and "_parse_message" not in stack
        and "predict" not in stack
    ):
        return "worker threads"
    if "_parse_message_with_graph" in stack or "predict_next" in stack or "_predict_next" in stack:
        return "inference thread" if "concurrent/futures/thread.py" in stack else "event loop"
    if "Thread._bootstrap" in stack:
        return "worker threads"
    return "event loop"


def analyse(raw: Path) -> Dict[str, collections.Counter]:
    """{thread: Counter(group -> samples)} from py-spy's raw (collapsed) output."""
    result: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        if any(marker in leaf for marker in IDLE_LEAVES):
            continue
        if leaf.startswith(NATIVE_LOOP):  # uvloop's loop in C: waiting for sockets, or reading/writing them
            result["native event loop"]["uvloop (waiting for or doing socket I/O)"] += int(count)
            continue
        group = next((name for name, keys in GROUPS if any(key in stack for key in keys)), "other")
        result[thread_of(stack)][group] += int(count)
    return result


def report(result: Dict[str, collections.Counter], seconds: float, rate: int) -> None:
    for thread in ("event loop", "inference thread", "worker threads", "native event loop"):
        groups = result.get(thread)
        if not groups:
            continue
        busy = sum(groups.values())
        share = f", busy {busy / (seconds * rate):.0%} of the time" if seconds else ""
        print(f"{thread}: {busy} samples{share}")
        for name, samples in groups.most_common():
            print(f"  {samples / busy:6.1%}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pid", type=int, help="the Rasa server's process id")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=int, default=50, help="samples per second")
    parser.add_argument("--raw", default="var/profile-rasa.txt", help="where py-spy writes its samples")
    parser.add_argument("--analyse", help="only group an existing raw file")
    args = parser.parse_args()
    if args.analyse:
        report(analyse(Path(args.analyse)), 0, args.rate)
        return
    if not args.pid:
        parser.error("--pid or --analyse")
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    Path(args.raw).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            py_spy,
            "record",
            "--pid",
            str(args.pid),
            "--duration",
            str(int(args.seconds)),
            "--rate",
            str(args.rate),
            "--format",
            "raw",
            "--output",
            args.raw,
            "--nonblocking",
        ],
        check=True,
    )
    report(analyse(Path(args.raw)), args.seconds, args.rate)


if __name__ == "__main__":
    main()
