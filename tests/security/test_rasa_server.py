"""Issue 11, item 2 against a real Rasa server process started like the product starts it
(kefu.runtime.stack.rasa_args -> channels/rasa_server.py). No model is needed for these:
the API token, the interface and CORS are the server's, not the model's."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from kefu.runtime.endpoints import write_endpoints
from kefu.runtime.stack import Ports, Stack, base_env, rasa_args
from test_action_server import listening_addresses

RASA_PORT = int(os.environ.get("KEFU_E2E_RASA_PORT", 15005)) + 1  # beside the e2e stack's
SITE = "https://shop.example.com"
OWN = "http://127.0.0.1:18999"


@pytest.fixture(scope="module")
def rasa(tmp_path_factory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("rasa-var")
    token = "rasa-" + uuid.uuid4().hex
    env = base_env({"KEFU_VAR_DIR": str(var), "KEFU_RASA_TOKEN": token, "KEFU_ACTION_SECRET": "s-" + uuid.uuid4().hex,
                    "KEFU_SITE_ORIGINS": SITE, "KEFU_PUBLIC_WEB_URL": OWN, "RASA_TELEMETRY_ENABLED": "false"})
    endpoints = write_endpoints(var / "endpoints.yml", f"sqlite:///{var / 'kefu.db'}", var, env=env)
    (var / "no-models").mkdir()
    ports = Ports(rasa=RASA_PORT)
    stack = Stack(ports=ports, env=env, log_dir=Path(var) / "logs", token=token)
    stack.start("rasa", rasa_args(ports, endpoints, str(var / "no-models")))
    try:
        stack.wait_until_ready("rasa", f"{stack.rasa_url}/", 240, expect="Hello from Rasa")
        yield stack
    finally:
        stack.stop()


def test_token_is_not_on_the_command_line(rasa):
    argv = open(f"/proc/{rasa.pid('rasa')}/cmdline", "rb").read().split(b"\0")
    assert rasa.token.encode() not in b" ".join(argv) and b"--auth-token" not in argv


def test_api_needs_the_token_from_the_environment(rasa):
    assert httpx.get(f"{rasa.rasa_url}/status", timeout=10).status_code == 401
    assert httpx.get(f"{rasa.rasa_url}/status", params={"token": "wrong"}, timeout=10).status_code == 401
    # with the token Rasa answers (409: no model loaded in this test, but authenticated)
    assert httpx.get(f"{rasa.rasa_url}/status", params={"token": rasa.token}, timeout=10).status_code == 409


def test_rasa_listens_on_loopback_only(rasa):
    assert listening_addresses(rasa.ports.rasa) == {"0100007F"}


@pytest.mark.parametrize("origin, allowed", [(SITE, True), (OWN, True), ("https://attacker.example", False)])
def test_cors_allows_only_configured_origins(rasa, origin, allowed):
    response = httpx.get(f"{rasa.rasa_url}/", headers={"Origin": origin}, timeout=10)
    assert (response.headers.get("access-control-allow-origin") == origin) is allowed
    assert response.headers.get("access-control-allow-origin") != "*"


def test_wildcard_cors_and_command_line_tokens_are_refused():
    from channels.rasa_server import rasa_argv

    with pytest.raises(SystemExit):
        rasa_argv(["--cors", "*"])
    with pytest.raises(SystemExit):
        rasa_argv(["--auth-token", "visible-in-ps"])
    with pytest.raises(SystemExit):
        rasa_argv(["--auth-token=visible-in-ps"])


def test_a_token_that_starts_with_a_dash_reaches_rasa(monkeypatch):
    """secrets.token_urlsafe starts with "-" one time in 64: Rasa refused to start on a clean
    clone ("argument -t/--auth-token: expected one argument")."""
    from rasa.cli import run as rasa_run_cli

    from channels.rasa_server import rasa_argv

    monkeypatch.setenv("KEFU_RASA_TOKEN", "-Mi5I0C-R8JTB7kw6bbdRfVglwcZZ-0mLoO4rnvwWHU")
    import argparse

    parser = argparse.ArgumentParser()
    rasa_run_cli.add_subparser(parser.add_subparsers(), parents=[])
    args = parser.parse_args(rasa_argv(["--enable-api"]))
    assert args.auth_token == "-Mi5I0C-R8JTB7kw6bbdRfVglwcZZ-0mLoO4rnvwWHU"
