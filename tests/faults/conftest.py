"""The production-like stack for the fault suite: PostgreSQL service DB and tracker store,
Redis lock store, two Rasa instances, action server and desk, all under supervisord.

Ports: KEFU_FAULTS_RASA_PORT (second instance: KEFU_FAULTS_RASA2_PORT), KEFU_FAULTS_ACTIONS_PORT,
KEFU_FAULTS_WEB_PORT. The fault table is printed at the end of the run (and written to
the stack's var dir as faults.md).
"""
from __future__ import annotations

import json
import os
import uuid
from typing import Iterator

import pytest

from kefu import clock, db
from kefu.runtime.stack import Ports, Stack, start_stack

from tests.conftest import create_pg_database, drop_pg_database, trained_model
from fault_support import OUTCOMES, table
from moments import MONDAY_10_BEIJING

# Two Rasa instances load the model at once: allow for a busy machine (alone: ~1-2 min).
RASA_LOAD_SECONDS = 900
REPORT: dict = {}


@pytest.fixture(scope="module")
def prod_stack(tmp_path_factory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("faults-var")
    db_url = create_pg_database("kefu_faults")
    clock_file = var / "fake-now.json"
    clock.write_fake_now(clock_file, MONDAY_10_BEIJING)
    env = {
        "KEFU_ALLOW_FAKE_CLOCK": "1",
        "KEFU_FAKE_NOW_FILE": str(clock_file),
        "KEFU_VAR_DIR": str(var),
        "KEFU_DATABASE_URL": db_url,
        "KEFU_REDIS_URL": "redis://127.0.0.1:6379/0",
        "KEFU_RASA_TOKEN": "faults-" + uuid.uuid4().hex,
        "RASA_TELEMETRY_ENABLED": "false",
    }
    rasa = int(os.environ.get("KEFU_FAULTS_RASA_PORT", 16005))
    ports = Ports(rasa=rasa, extra_rasa=(int(os.environ.get("KEFU_FAULTS_RASA2_PORT", rasa + 1)),),
                  actions=int(os.environ.get("KEFU_FAULTS_ACTIONS_PORT", 16055)),
                  web=int(os.environ.get("KEFU_FAULTS_WEB_PORT", 18100)))
    try:
        db.migrate(db_url)
        running = start_stack(ports=ports, env=env, model=str(trained_model()), with_web=True, log_dir=var / "logs",
                              rasa_timeout=RASA_LOAD_SECONDS)
        running.db_url = db_url  # type: ignore[attr-defined]
        try:
            yield running
        finally:
            running.stop()
            if OUTCOMES:
                (var / "faults.md").write_text(table(OUTCOMES) + "\n", encoding="utf-8")
                transcripts = {o.fault: o.transcript for o in OUTCOMES}
                REPORT["json"] = var / "faults.json"
                REPORT["json"].write_text(json.dumps(transcripts, ensure_ascii=False, indent=1), encoding="utf-8")
    finally:
        drop_pg_database(db_url)


def pytest_terminal_summary(terminalreporter) -> None:
    if OUTCOMES:
        terminalreporter.write_sep("=", "fault table (tests/faults)")
        terminalreporter.write_line(table(OUTCOMES))
        terminalreporter.write_line(f"(each turn of each conversation: {REPORT.get('json', 'faults.json')})")
