"""Two of each Kefu server behind nginx on PostgreSQL and Redis (`./kefu.sh run --scale 2`).

Ports: KEFU_SCALE_WEB_PORT (public, nginx), KEFU_SCALE_RASA_PORT (internal Rasa API, nginx),
KEFU_SCALE_ACTIONS_PORT (internal action calls, nginx); the instances listen beside them
(config/runtime.yml scale_out.port_offset).
"""
from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

from kefu import clock, db
from kefu.runtime.stack import Ports, Stack, start_stack

from tests.conftest import create_pg_database, drop_pg_database, trained_model
from tests.e2e.e2e_support import e2e_config
from moments import MONDAY_10_BEIJING

RASA_LOAD_SECONDS = 900  # two instances load the model at once on 2 cores
REDIS_DB = os.environ.get("KEFU_SCALE_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def scaled_stack(tmp_path_factory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("scale-var")
    db_url = create_pg_database("kefu_scale")
    clock_file = var / "fake-now.json"
    clock.write_fake_now(clock_file, MONDAY_10_BEIJING)
    env = {
        "KEFU_CONFIG_DIR": str(e2e_config(var / "config")),  # per-address limits for one test client
        "KEFU_ALLOW_FAKE_CLOCK": "1",
        "KEFU_FAKE_NOW_FILE": str(clock_file),
        "KEFU_VAR_DIR": str(var),
        "KEFU_DATABASE_URL": db_url,
        "KEFU_REDIS_URL": REDIS_DB,
        "KEFU_RASA_TOKEN": "scale-" + uuid.uuid4().hex,
        "RASA_TELEMETRY_ENABLED": "false",
    }
    ports = Ports(rasa=int(os.environ.get("KEFU_SCALE_RASA_PORT", 17005)),
                  actions=int(os.environ.get("KEFU_SCALE_ACTIONS_PORT", 17055)),
                  web=int(os.environ.get("KEFU_SCALE_WEB_PORT", 18200)))
    try:
        db.migrate(db_url)
        running = start_stack(ports=ports, env=env, model=str(trained_model()), log_dir=var / "logs",
                              rasa_timeout=RASA_LOAD_SECONDS, scale=2)
        running.db_url = db_url  # type: ignore[attr-defined]
        try:
            yield running
        finally:
            running.stop()
    finally:
        drop_pg_database(db_url)
