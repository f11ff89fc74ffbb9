"""Issue 11, item 5 (desk part): failed logins per account and per address are limited;
a locked account stays locked even with the right password until a supervisor lifts it.
Counters are in memory by default and in Redis when KEFU_REDIS_URL is set (shared by
every desk instance)."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from desk.app import create_app
from kefu.rasa_http import RasaClient
from desk_support import RASA_TOKEN, login
from kefu.security.config import security_config
from kefu.security.ratelimit import RateLimiter

LOCKED = security_config().messages.login_locked
LIMITED = security_config().messages.login_rate_limited


def account_limit() -> int:
    return RateLimiter().items["desk_login_per_account"].amount


def fail(client: TestClient, username: str, times: int) -> None:
    for _ in range(times):
        assert login(client, username, "wrong password").status_code == 401


def test_account_locks_after_failures_and_a_supervisor_lifts_it(app, users, client_for):
    attacker = TestClient(app)
    fail(attacker, "zhang", account_limit())
    response = login(TestClient(app), "zhang")  # the right password, from anywhere
    assert response.status_code == 429 and LOCKED in response.text
    boss = client_for("boss")
    page = boss.get("/desk/supervisor")
    assert 'id="locked-accounts"' in page.text and "zhang" in page.text
    agent = client_for("li")  # an agent cannot lift it
    assert agent.post("/desk/agents/zhang/unlock", data={"csrf_token": agent.csrf}).status_code == 403
    lifted = boss.post("/desk/agents/zhang/unlock", data={"csrf_token": boss.csrf}, follow_redirects=False)
    assert lifted.status_code == 303
    assert login(TestClient(app), "zhang").status_code == 303
    assert "locked-accounts" not in boss.get("/desk/supervisor").text


def test_other_accounts_are_not_locked_by_one_account_failures(app, users):
    fail(TestClient(app), "zhang", account_limit())
    assert login(TestClient(app), "li").status_code == 303


def test_failures_from_one_address_across_accounts_are_limited(app, users):
    limit = RateLimiter().items["desk_login_per_ip"].amount
    client = TestClient(app)
    for i in range(limit):  # a different (unknown) user name each time: no account lock
        assert login(client, f"guess{i}", "wrong password").status_code == 401
    response = login(client, "zhang")
    assert response.status_code == 429 and LIMITED in response.text


def test_redis_counters_are_shared_by_desk_instances(clean_db, users, fake_rasa):
    prefix = "kefu-test-" + uuid.uuid4().hex[:8]
    apps = [create_app(db_url=clean_db, rasa=RasaClient(base_url=fake_rasa.url, token=RASA_TOKEN, timeout=3),
                       session_secret="s", limiter=RateLimiter(storage_uri="redis://127.0.0.1:6379/0", prefix=prefix))
            for _ in range(2)]
    fail(TestClient(apps[0]), "zhang", account_limit())
    response = login(TestClient(apps[1]), "zhang")
    assert response.status_code == 429 and LOCKED in response.text
    apps[1].state.limiter.clear("desk_login_per_account", "zhang")
    apps[1].state.limiter.clear("desk_login_per_ip", "testclient")
