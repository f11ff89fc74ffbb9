"""Issue 11, item 11: the desk's session cookie is `Secure` whenever the desk is reached over
HTTPS (web.secure_cookies: auto, the default), and a login with an unknown username costs the
same password-hash work as one with a known username."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from kefu.services import agents
from desk.app import create_app
from desk_support import login
from kefu.escalation.desk_config import desk_config


def session_cookie(response) -> str:
    cookies = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie" and v.startswith("kefu_desk=")]
    assert cookies, response.headers
    return cookies[0].lower()


def test_default_setting_is_auto():
    assert desk_config().web.secure_cookies == "auto"


def test_cookie_is_secure_when_the_desk_is_reached_over_https(app, users):
    with TestClient(app, base_url="https://testserver") as client:
        assert "; secure" in session_cookie(client.get("/desk/login"))
        assert login(client, "zhang").status_code == 303  # and the secure cookie works over HTTPS


def test_cookie_is_secure_behind_a_tls_terminating_proxy(app):
    with TestClient(app) as client:  # the proxy talks plain HTTP to the desk
        response = client.get("/desk/login", headers={"X-Forwarded-Proto": "https"})
        assert "; secure" in session_cookie(response)


def test_cookie_is_secure_when_the_public_url_is_https(clean_db, monkeypatch):
    monkeypatch.setenv("KEFU_PUBLIC_WEB_URL", "https://kefu.example.cn")
    with TestClient(create_app(db_url=clean_db, session_secret="s", sweep=False)) as client:
        assert "; secure" in session_cookie(client.get("/desk/login"))


def test_plain_http_local_run_keeps_a_usable_cookie(app, users):
    with TestClient(app) as client:
        assert "; secure" not in session_cookie(client.get("/desk/login"))
        assert login(client, "zhang").status_code == 303


@pytest.mark.parametrize("username", ["zhang", "nobody-here"])
def test_login_hashes_the_password_for_unknown_users_too(app, users, monkeypatch, username):
    verified = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash, password):
            verified.append(username)
            return super().verify(hash, password)

    monkeypatch.setattr(agents, "_hasher", CountingHasher(time_cost=1, memory_cost=1024, parallelism=1))
    agents._dummy_hash.cache_clear()
    with TestClient(app) as client:
        response = login(client, username, password="wrong password!")
    assert response.status_code != 303  # refused
    assert verified == [username]  # one argon2 verification, whether the user exists or not
