"""Fixtures for the widget tests: build, fake Rasa, widget app, headless Chromium.

`rasa_url` is the Rasa server the widget talks to. Setting KEFU_WIDGET_TEST_RASA_URL
(and KEFU_RASA_TOKEN) points it at a real stack; tests that need the fake's
hooks (push, restart, received log) or its scripted replies request `fake_rasa`,
which then reports them as skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDGET = ROOT / "widget"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("KEFU_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "widget-test-token"
# One history-token key for the fake Rasa and the widget app (kefu/tokens.py), given to those
# children only: set in os.environ it leaked into every stack the suite started later, whose
# action server then refused tokens signed with its own var/secrets.json key.
HISTORY_KEY_ENV = {"KEFU_CUSTOMER_TOKEN_KEY": os.environ.get("KEFU_CUSTOMER_TOKEN_KEY", "widget-test-history-key")}


@pytest.fixture(autouse=True)
def history_key(monkeypatch):
    """The same key in this process, for the widget tests only (restored after each)."""
    for name, value in HISTORY_KEY_ENV.items():
        monkeypatch.setenv(name, value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up in {timeout}s")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class FakeRasaProcess:
    """The fake Rasa server in a subprocess, restartable on the same port."""

    def __init__(self, state_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_path = state_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("fake_rasa.py")), "--port", str(self.port),
             "--token", TOKEN, "--state", str(self.state_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **HISTORY_KEY_ENV},
        )
        wait_http(f"{self.url}/health", proc=self.proc)

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def push(self, session_id: str, payload: dict) -> None:
        body = json.dumps({"session_id": session_id, "payload": payload}).encode()
        request = urllib.request.Request(f"{self.url}/push", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    def received(self, session_id: str) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/received?session_id={session_id}", timeout=5) as response:
            return json.loads(response.read())

    def received_texts(self, session_id: str) -> list[str]:
        return [r["message"] for r in self.received(session_id)]


@pytest.fixture(scope="session")
def widget_bundle() -> Path:
    """widget/dist/kefu-widget.js, (re)built with npm when missing or stale."""
    bundle = WIDGET / "dist" / "kefu-widget.js"
    sources = [p for p in (WIDGET / "src").rglob("*") if p.is_file()] + [WIDGET / "package-lock.json"]
    newest = max(p.stat().st_mtime for p in sources if p.exists())
    if not bundle.exists() or bundle.stat().st_mtime < newest:
        npm = shutil.which("npm")
        assert npm, "npm is needed to build the widget (apt-get install nodejs npm)"
        if not (WIDGET / "node_modules").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WIDGET, check=True)
        subprocess.run([npm, "run", "build"], cwd=WIDGET, check=True)
    assert bundle.exists()
    return bundle


@pytest.fixture(scope="session")
def fake_rasa(tmp_path_factory) -> FakeRasaProcess:
    if os.environ.get("KEFU_WIDGET_TEST_RASA_URL"):
        pytest.skip("needs the fake Rasa (test hooks, scripted replies); KEFU_WIDGET_TEST_RASA_URL is set")
    fake = FakeRasaProcess(tmp_path_factory.mktemp("fake_rasa") / "state.json")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def rasa_url(request) -> str:
    """The Rasa server the widget talks to: the fake unless told otherwise."""
    return os.environ.get("KEFU_WIDGET_TEST_RASA_URL") or request.getfixturevalue("fake_rasa").url


@pytest.fixture(scope="session")
def widget_server(widget_bundle, rasa_url) -> str:
    """`python -m widget.app` in a subprocess; returns its base URL (with /widget)."""
    port = free_port()
    env = {
        **os.environ,
        **HISTORY_KEY_ENV,
        "KEFU_PUBLIC_RASA_URL": rasa_url,
        "KEFU_RASA_URL": rasa_url,
        "KEFU_RASA_TOKEN": os.environ.get("KEFU_RASA_TOKEN", TOKEN),
    }
    env.pop("KEFU_WIDGET_TRANSPORTS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "widget.app", "--port", str(port)], cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/widget/demo", proc=proc)
        yield f"{base}/widget"
    finally:
        _stop(proc)


class HostSite:
    """A customer's own website on another origin, serving pages the tests write."""

    def __init__(self, root: Path):
        import functools
        import threading
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self.root = root
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, name: str, html: str, encoding: str = "utf-8") -> str:
        (self.root / name).write_bytes(html.encode(encoding))
        return f"{self.url}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def host_site(tmp_path_factory):
    site = HostSite(tmp_path_factory.mktemp("host_site"))
    yield site
    site.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "install Chromium first: apt-get update && apt-get install -y chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser):
    """Factory for isolated browser contexts; every page fails the test on a JS error."""
    contexts = []
    errors: list[str] = []

    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 800})
        options.setdefault("locale", "zh-CN")
        options.setdefault("timezone_id", "Asia/Shanghai")
        context = browser.new_context(**options)
        context.on("page", lambda page: page.on("pageerror", lambda exc: errors.append(str(exc))))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def chat(context, widget_server):
    """A demo page with the widget open, ready to chat."""
    from widget_driver import Chat

    return Chat.open_demo(context.new_page(), widget_server)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
