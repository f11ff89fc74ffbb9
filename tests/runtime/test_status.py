"""`./kefu.sh status`: each part's health from a shell, exit 1 while any part is down."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from kefu import db, settings


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def test_status_names_each_part_and_fails_while_one_is_down(fresh_db_url, tmp_path):
    # A database of its own: other tests may have created Rasa's tables in the shared one.
    db.migrate(fresh_db_url)
    env = dict(os.environ, KEFU_DATABASE_URL=fresh_db_url, KEFU_VAR_DIR=str(tmp_path), KEFU_RASA_TOKEN="t",
               KEFU_RASA_PORT=closed_port(), KEFU_ACTIONS_PORT=closed_port(), KEFU_WEB_PORT=closed_port(),
               KEFU_REDIS_URL="redis://127.0.0.1:6379/0", PYTHONPATH=str(settings.repo_root()))
    env.pop("KEFU_RASA_URLS", None), env.pop("KEFU_RASA_URL", None), env.pop("KEFU_ACTION_URL", None)
    proc = subprocess.run([sys.executable, "-m", "kefu.cli", "status"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=settings.repo_root())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines() if line and not line.startswith("process")}
    assert lines["service_db"] == "up" and lines["redis"] == "up"
    assert lines["rasa"] == lines["actions"] == lines["desk"] == "DOWN"
    assert lines["tracker_store"] == "DOWN"  # no tracker database yet
    assert "process manager: not running" in proc.stdout
