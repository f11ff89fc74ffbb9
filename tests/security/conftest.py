"""Security tests: real processes (action server, Rasa wrapper) on this helper's ports."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from kefu import clock, db
from moments import MONDAY_10_BEIJING
from action_calls import CUSTOMER_TOKEN_KEY
from kefu.runtime.action_server import action_server_args
from kefu.runtime.stack import Ports, Stack, base_env

ACTIONS_PORT = int(os.environ.get("KEFU_E2E_ACTIONS_PORT", 15055)) + 1  # beside the e2e stack's


@pytest.fixture(scope="module")
def action_server(tmp_path_factory) -> Iterator[Stack]:
    """The real action server (actions/server.py) on a fresh SQLite service database."""
    var = tmp_path_factory.mktemp("actions-var")
    db_url = f"sqlite:///{var / 'kefu.db'}"
    db.migrate(db_url)
    secret = "action-secret-" + uuid.uuid4().hex
    clock_file = var / "fake-now.json"
    clock.write_fake_now(clock_file, MONDAY_10_BEIJING)  # inside agent hours, like the e2e stack
    env = base_env({"KEFU_VAR_DIR": str(var), "KEFU_DATABASE_URL": db_url, "KEFU_ACTION_SECRET": secret,
                    "KEFU_ALLOW_FAKE_CLOCK": "1", "KEFU_FAKE_NOW_FILE": str(clock_file),
                    "KEFU_CUSTOMER_TOKEN_KEY": CUSTOMER_TOKEN_KEY, "RASA_TELEMETRY_ENABLED": "false"})
    ports = Ports(actions=ACTIONS_PORT)
    stack = Stack(ports=ports, env=env, log_dir=Path(var) / "logs")
    stack.start("actions", action_server_args(ports.actions))
    try:
        stack.wait_until_ready("actions", f"http://127.0.0.1:{ports.actions}/health", 120)
        stack.db_url = db_url  # type: ignore[attr-defined]
        stack.secret = secret  # type: ignore[attr-defined]
        stack.url = f"http://127.0.0.1:{ports.actions}"  # type: ignore[attr-defined]
        yield stack
    finally:
        stack.stop()
