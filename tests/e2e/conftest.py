"""The real stack for end-to-end tests: Rasa server + action server (+ web app).

Started once per test session on private ports with a fresh SQLite service DB and
tracker store, from the latest trained model (./kefu.sh test trains first).
Loading the model takes ~1-2 minutes on 2 cores; every e2e test shares it.

The stack runs on a pinned clock (KEFU_FAKE_NOW_FILE): Monday 10:00 Beijing time, inside
agent hours, whatever the hour of the run. ``stack_clock`` moves every process of the
stack to another moment (night, a closed date) for one test and back afterwards.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from kefu import clock, db
from kefu.runtime.stack import Ports, Stack, start_stack

from e2e_support import RestChat, e2e_config
from moments import MONDAY_10_BEIJING
from tests.conftest import trained_model


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("stack-var")
    db_url = f"sqlite:///{var / 'kefu.db'}"
    db.migrate(db_url)
    clock_file = var / "fake-now.json"
    clock.write_fake_now(clock_file, MONDAY_10_BEIJING)
    config_dir = e2e_config(var / "config")
    env = {
        "KEFU_CONFIG_DIR": str(config_dir),
        "KEFU_ALLOW_FAKE_CLOCK": "1",
        "KEFU_FAKE_NOW_FILE": str(clock_file),
        "KEFU_VAR_DIR": str(var),
        "KEFU_DATABASE_URL": db_url,
        "KEFU_RASA_TOKEN": "e2e-" + uuid.uuid4().hex,
        "RASA_TELEMETRY_ENABLED": "false",
    }
    ports = Ports(rasa=int(os.environ.get("KEFU_E2E_RASA_PORT", 15005)),
                  actions=int(os.environ.get("KEFU_E2E_ACTIONS_PORT", 15055)),
                  web=int(os.environ.get("KEFU_E2E_WEB_PORT", 18000)))
    running = start_stack(ports=ports, env=env, model=str(trained_model()), with_web=True, log_dir=var / "logs")
    running.db_url = db_url  # type: ignore[attr-defined]
    running.clock_file = clock_file  # type: ignore[attr-defined]
    yield running
    running.stop()


class StackClock:
    """Moves the whole running stack (Rasa, actions, desk) to another moment."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, moment) -> None:
        clock.write_fake_now(self.path, moment)


@pytest.fixture
def stack_clock(stack) -> Iterator[StackClock]:
    handle = StackClock(stack.clock_file)
    yield handle
    handle.set(MONDAY_10_BEIJING)  # the next test finds the stack where the session put it


@pytest.fixture
def chat(stack) -> RestChat:
    return RestChat(stack)
