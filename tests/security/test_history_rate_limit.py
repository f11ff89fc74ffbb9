"""Issue 11, item 5: the widget's history API is limited per client address (real app)."""
from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from kefu.security.config import security_config
from widget.app import standalone_app


def test_history_calls_per_address_are_limited(monkeypatch):
    monkeypatch.setenv("KEFU_RASA_URL", "http://127.0.0.1:9")  # nothing listens: answers 502 quickly
    app = standalone_app()
    widget = app.routes[1].app
    limit = widget.state.limiter.items["history_per_ip"].amount
    widget.state.limiter.prefix = "kefu-test-" + uuid.uuid4().hex[:8]
    client = TestClient(app)
    url = f"/widget/api/history?session_id={uuid.uuid4()}"
    statuses = [client.get(url).status_code for _ in range(limit)]
    assert 429 not in statuses
    limited = client.get(url)
    assert limited.status_code == 429
    assert limited.json()["message"] == security_config().messages.rate_limited
    assert int(limited.headers["Retry-After"]) >= 1
