"""What the desk's browser tests share: a free port, the desk served (as ``python -m desk``
or in a thread of the test), Chromium, and the login form."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def free_port(wanted: int = 0) -> int:
    """``wanted`` when it is free (a helper's port block), else any free port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", wanted))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def desk_process(env: Mapping[str, str], log_path: Path, port: int = 0) -> Iterator[str]:
    """``python -m desk`` with ``env`` added to this environment; yields its base URL once the
    login page answers, stops it afterwards."""
    port = port or free_port()
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "desk", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/desk/login", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("desk did not start:\n" + log_path.read_text())
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def served_in_thread(app: Any) -> Iterator[str]:
    """An ASGI app under uvicorn in a thread of the test; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def chromium(p: Playwright, *extra_args: str) -> Browser:
    """Headless Chromium of the system (fails the test with the way out when it is missing)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return p.chromium.launch(
        executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu", *extra_args]
    )


def submit_login(page: Page, username: str, password: str) -> None:
    """Fill in and send the desk's login form (the page shows it)."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
