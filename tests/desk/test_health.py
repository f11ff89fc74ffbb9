"""GET /healthz/full and the desk's degraded-service banner (desk/health.py, kefu/runtime/health.py).

Real service databases (SQLite and PostgreSQL), real SQLite tracker store, real Redis; Rasa and
the action server are a small HTTP stand-in here (the real ones: tests/faults/).
"""
from __future__ import annotations

import json
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from starlette.testclient import TestClient

from kefu.runtime.health import Targets


class StandIn(BaseHTTPRequestHandler):
    """Answers like Rasa's /status (with or without a loaded model) and rasa-sdk's /health."""

    model_file = "20261201-kefu.tar.gz"

    def do_GET(self):
        path = self.path.split("?")[0]
        body = {"/status": {"model_file": self.server.model_file}, "/health": {"status": "ok"}}.get(path)
        self.send_response(200 if body else 404)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body or {}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    server.model_file = "20261201-kefu.tar.gz"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tracker_url(tmp_path) -> str:
    path = tmp_path / "tracker.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")  # Rasa's SQLTrackerStore table
    return f"sqlite:///{path}"


def targets(clean_db, tracker_url, rasa: str, actions: str, redis: str) -> Targets:
    return Targets(rasa_urls=[rasa], rasa_token="t", action_url=f"{actions}/webhook", database_url=clean_db,
                   tracker_url=tracker_url, redis_url=redis)


def test_every_part_up_gives_200(app, clean_db, tracker_url, stand_in):
    url = f"http://127.0.0.1:{stand_in.server_port}"
    app.state.health_targets = targets(clean_db, tracker_url, url, url, "redis://127.0.0.1:6379/0")
    response = TestClient(app).get("/healthz/full")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["parts"]) == {"desk", "rasa", "actions", "service_db", "tracker_store", "redis"}
    assert "20261201-kefu.tar.gz" in body["parts"]["rasa"]["detail"]


def test_a_rasa_without_a_model_is_down(app, clean_db, tracker_url, stand_in):
    stand_in.model_file = None
    url = f"http://127.0.0.1:{stand_in.server_port}"
    app.state.health_targets = targets(clean_db, tracker_url, url, url, "")
    response = TestClient(app).get("/healthz/full")
    assert response.status_code == 503
    parts = response.json()["parts"]
    assert not parts["rasa"]["up"] and "no model loaded" in parts["rasa"]["detail"]
    assert "redis" not in parts  # not configured: not checked


def test_down_parts_give_503_and_the_desk_banner_names_them(app, clean_db, tmp_path, stand_in):
    url = f"http://127.0.0.1:{stand_in.server_port}"
    missing_tracker = f"sqlite:///{tmp_path / 'no-tracker.db'}"
    app.state.health_targets = targets(clean_db, missing_tracker, url, f"http://127.0.0.1:{closed_port()}",
                                       f"redis://127.0.0.1:{closed_port()}/0")
    with TestClient(app) as client:  # runs the lifespan: the background health monitor
        response = client.get("/healthz/full")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "degraded"
        down = {name for name, part in body["parts"].items() if not part["up"]}
        assert down == {"actions", "tracker_store", "redis"}
        page = client.get("/desk/login").text
    banner = page.split('id="degraded-banner"')[1].split("</div>")[0]
    assert "hidden" not in banner.split(">")[0]
    assert "业务动作服务" in banner and "会话记录库" in banner and "Redis 锁服务" in banner


def test_no_banner_while_healthy(app, clean_db, tracker_url, stand_in):
    url = f"http://127.0.0.1:{stand_in.server_port}"
    app.state.health_targets = targets(clean_db, tracker_url, url, url, "redis://127.0.0.1:6379/0")
    with TestClient(app) as client:
        client.get("/healthz/full")
        page = client.get("/desk/login").text
    assert 'id="degraded-banner"' in page
    assert "hidden" in page.split('id="degraded-banner"')[1].split(">")[0]
