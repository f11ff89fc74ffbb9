"""Start and supervise Kefu's processes: Rasa server, action server, web app.

Used by `./kefu.sh run` and by the end-to-end test fixtures, so the product and the
tests start the stack the same way.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import httpx

from kefu import clock, settings
from kefu.runtime.action_server import action_server_args
from kefu.runtime.endpoints import write_endpoints


@dataclass
class Ports:
    rasa: int = int(os.environ.get("KEFU_RASA_PORT", 5005))
    actions: int = int(os.environ.get("KEFU_ACTIONS_PORT", 5055))
    web: int = int(os.environ.get("KEFU_WEB_PORT", 8000))


@dataclass
class Stack:
    """A running set of Kefu processes (each with its log file under var/logs)."""

    ports: Ports
    env: Dict[str, str]
    log_dir: Path
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: Dict[str, List[str]] = field(default_factory=dict)
    token: str = ""

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}"

    def start(self, name: str, args: List[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.commands[name] = args
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            args,
            cwd=settings.repo_root(),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that stop() can end the whole process group
        )

    def stop(self, name: Optional[str] = None, timeout: float = 15) -> None:
        names = [name] if name else list(self.processes)
        for n in names:
            proc = self.processes.get(n)
            if proc and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for n in names:
            proc = self.processes.pop(n, None)
            if proc is None:
                continue
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def restart(self, name: str) -> None:
        """Stop a process and start it again with the same command (e.g. a Rasa restart)."""
        self.stop(name)
        self.start(name, self.commands[name])

    def wait_rasa(self, timeout: float = 300) -> None:
        # Rasa answers /status only once the model is loaded (~1-2 min on 2 cores).
        self.wait_until_ready("rasa", f"{self.rasa_url}/status?token={self.token}", timeout, expect="model_file")

    def wait_until_ready(self, name: str, url: str, timeout: float, expect: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.processes[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_dir / (name + '.log')}")
            try:
                r = httpx.get(url, timeout=2)
                if r.status_code < 500 and expect in r.text:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{name} not ready at {url} after {timeout:.0f}s; see {self.log_dir / (name + '.log')}")


def base_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PYTHONPATH"] = str(settings.repo_root()) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    if env.get(clock.NOW_VAR) and not env.get(clock.ANCHOR_VAR):
        # one anchor for every child, so Rasa, actions and desk agree on the fake time
        env[clock.ANCHOR_VAR] = str(clock.wall_now().timestamp())
    clock.shift_from_environment(env)  # refuse a fake clock without the flag before starting anything
    return env


def rasa_args(ports: Ports, endpoints: Path, model: str, token: str) -> List[str]:
    return [
        sys.executable, "-m", "rasa", "run",
        "--enable-api", "--auth-token", token, "--cors", "*",
        "--port", str(ports.rasa), "--endpoints", str(endpoints),
        "--credentials", str(settings.repo_root() / "credentials.yml"),
        "--model", model,
    ]


def start_stack(
    *,
    ports: Optional[Ports] = None,
    env: Optional[Dict[str, str]] = None,
    model: str = "models",
    with_web: bool = True,
    log_dir: Optional[Path] = None,
) -> Stack:
    """Start action server, Rasa server and (optionally) the web app; wait until all answer."""
    ports = ports or Ports()
    full_env = base_env(env)
    var = Path(full_env.get("KEFU_VAR_DIR") or settings.var_dir())
    db_url = full_env.get("KEFU_DATABASE_URL") or settings.database_url()
    full_env.setdefault("KEFU_ACTION_URL", f"http://127.0.0.1:{ports.actions}/webhook")
    endpoints = write_endpoints(var / f"endpoints-{ports.rasa}.yml", db_url, var, env=full_env)
    full_env.setdefault("KEFU_RASA_URL", f"http://127.0.0.1:{ports.rasa}")
    full_env.setdefault("KEFU_PUBLIC_RASA_URL", f"http://127.0.0.1:{ports.rasa}")  # what browsers connect to
    token = full_env.get("KEFU_RASA_TOKEN") or settings.get_secret("KEFU_RASA_TOKEN")
    stack = Stack(ports=ports, env=full_env, log_dir=log_dir or var / "logs", token=token)
    stack.start("actions", action_server_args(ports.actions))  # keep-alive settings: kefu/runtime/action_server.py
    stack.start("rasa", rasa_args(ports, endpoints, model, token))
    if with_web:
        stack.start("web", [sys.executable, "-m", "desk", "--port", str(ports.web)])
    try:
        stack.wait_until_ready("actions", f"http://127.0.0.1:{ports.actions}/health", 120)
        if with_web:
            stack.wait_until_ready("web", f"{stack.web_url}/healthz", 60)
        stack.wait_rasa(float(full_env.get("KEFU_RASA_READY_TIMEOUT", 300)))  # longer on a busy machine
    except Exception:
        stack.stop()
        raise
    return stack
