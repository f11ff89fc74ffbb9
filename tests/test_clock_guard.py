"""Guard: the product reads the time only through kefu.clock.

1. Statically: no product module but kefu/clock.py calls datetime.now/utcnow/today,
   date.today or time.time/localtime/gmtime/ctime.
2. Dynamically: the time-sensitive tests run in a child pytest whose *wall clock* is faked
   (Debian's faketime) to a Beijing morning and to a Beijing night. Those tests pin the
   product clock themselves, so they must pass under both; a code path that still read
   the wall clock would see the other hour and fail one of the two runs.
"""
from __future__ import annotations

import ast
import os
import re
import signal
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_DIRS = ("kefu", "actions", "channels", "components", "desk", "widget")
CLOCK_MODULE = ROOT / "kefu" / "clock.py"

WALL_CLOCK_CALLS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "localtime"), ("time", "gmtime"), ("time", "ctime"),
}

# The tests whose outcome depends on the hour or the weekday (agent hours, SLAs,
# call-back windows, presence, ticket numbers, appointment parsing, token expiry).
TIME_SENSITIVE = [
    "tests/actions/test_form_stall.py",
    "tests/actions/test_actions.py",
    "tests/service",
    "tests/escalation",
    "tests/nlp/test_timeparse.py",
]


def product_files() -> Iterator[Path]:
    for folder in PRODUCT_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "node_modules" not in path.parts:
                yield path


def wall_clock_reads(path: Path) -> List[Tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", None)
            if (name, node.func.attr) in WALL_CLOCK_CALLS:
                found.append((node.lineno, f"{name}.{node.func.attr}()"))
    return found


def test_the_scan_finds_wall_clock_reads(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import datetime as dt, time\nx = dt.datetime.now()\ny = time.time()\nz = dt.date.today()\n")
    assert [call for _, call in wall_clock_reads(sample)] == ["datetime.now()", "time.time()", "date.today()"]


def test_only_the_clock_module_reads_the_wall_clock():
    offenders = [f"{path.relative_to(ROOT)}:{line}: {call}"
                 for path in product_files() if path != CLOCK_MODULE
                 for line, call in wall_clock_reads(path)]
    assert offenders == [], "read the time through kefu.clock.now():\n" + "\n".join(offenders)


@pytest.mark.parametrize("wall_clock_utc", ["2026-12-08 02:00:00", "2026-12-07 19:00:00"],
                         ids=["beijing-10:00", "beijing-03:00"])
def test_time_sensitive_tests_pass_at_any_hour_of_the_wall_clock(wall_clock_utc, tmp_path):
    faketime = shutil.which("faketime")
    assert faketime, "faketime is needed (scripts/install.sh --test installs it)"
    env = dict(os.environ, TZ="UTC")
    proc = subprocess.Popen(
        [faketime, "-f", f"@{wall_clock_utc}", sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "child"), *TIME_SENSITIVE],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: List[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:  # judged by pytest's summary line, not the exit code: under libfaketime
        lines.append(line)    # the in-memory rate limiter's timer threads can hang the child at exit
        if re.search(r"\d+ (passed|failed|error)", line) and " in " in line:
            break
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    tail = "".join(lines[-30:])
    summary = lines[-1] if lines else ""
    assert " passed" in summary and "failed" not in summary and "error" not in summary, (
        f"time-sensitive tests failed with the wall clock at {wall_clock_utc} UTC:\n{tail}")
