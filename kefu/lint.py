"""`./kefu.sh lint`: ruff (lint + format), mypy (strict on the core list) and import-linter.

Configuration of all three is in pyproject.toml. tests/test_lint.py runs `run()` so that
CI fails on a finding. Exit status 0 only when every tool passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Files held to `ruff format`. The rest of the tree is reformatted in one mechanical
# commit when no branch is open (a tree-wide reformat now would conflict with every
# open branch); after that this becomes ["."].
FORMATTED = [
    "kefu/lint.py",
    "kefu/numbers.py",
    "kefu/transcript.py",
    "kefu/rasa_http.py",
    "tests/browser_support.py",
    "desk/transcript.py",
    "kefu/nlp/regex_yml.py",
    "kefu/services/agents.py",
    "desk/auth.py",
    "scripts/generate_regex.py",
    "tests/test_lint.py",
    "tests/test_numbers.py",
    "tests/test_transcript.py",
    "tests/training/test_model_code_fingerprint.py",
    "benchmarks/realistic_mix.py",
    "benchmarks/profile_rasa.py",
    "tests/test_realistic_mix.py",
    "channels/action_pool.py",
    "tests/channels/test_action_pool.py",
    "benchmarks/action_call_overhead.py",
    "benchmarks/rasa_startup.py",
]


def _tool(name: str) -> str:
    """The tool installed beside this Python (the project venv), else from PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def commands() -> list[tuple[str, list[str]]]:
    return [
        ("ruff check", [_tool("ruff"), "check", "."]),
        ("ruff format", [_tool("ruff"), "format", "--check", *FORMATTED]),
        ("mypy", [_tool("mypy")]),
        ("import-linter", [_tool("lint-imports")]),
    ]


def run(verbose: bool = True) -> tuple[int, str]:
    """Run every tool; (exit status, combined output)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    status, out = 0, []
    for label, argv in commands():
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        text = f"== {label}: {'ok' if proc.returncode == 0 else 'FAILED'}\n{proc.stdout}{proc.stderr}"
        out.append(text)
        if verbose:
            print(text, flush=True)
        status = status or proc.returncode
    return status, "\n".join(out)


def main() -> None:
    status, _ = run()
    sys.exit(status)


if __name__ == "__main__":
    main()
