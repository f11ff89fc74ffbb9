"""The scaled-out stack's configuration (kefu/runtime/scaleout.py, deploy/nginx.conf.template)."""
from __future__ import annotations

import subprocess

import pytest

from kefu.runtime import scaleout

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


def _layout() -> scaleout.Layout:
    return scaleout.Layout(web=18100, rasa=15100, actions=15150, instances=2)


def test_instances_listen_beside_the_ports_nginx_takes_over():
    layout = _layout()
    assert layout.rasa_ports == [15110, 15111]
    assert layout.actions_ports == [15160, 15161]
    assert layout.web_ports == [18110, 18111]
    assert len(set(layout.all_ports())) == 9


def test_the_rendered_nginx_configuration_is_valid_and_routes_every_part(tmp_path):
    conf = scaleout.write_nginx_conf(_layout(), tmp_path, tmp_path / "logs")
    text = conf.read_text(encoding="utf-8")
    assert "hash $kefu_sticky_key consistent" in text  # socket.io stays on one instance
    for port in (15110, 15111, 15160, 15161, 18110, 18111):
        assert f"server 127.0.0.1:{port} " in text
    assert "listen 127.0.0.1:18100;" in text and "listen 127.0.0.1:15100;" in text
    assert "{{" not in text and "{%" not in text
    # nginx itself parses it (-t: test the configuration and exit)
    result = subprocess.run([*scaleout.nginx_args(conf), "-t"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_rest_messages_move_to_another_instance_only_because_repeats_are_handled_once(tmp_path):
    text = scaleout.write_nginx_conf(_layout(), tmp_path, tmp_path / "logs").read_text(encoding="utf-8")
    webhooks = text.split("location /webhooks/")[1].split("}")[0]
    assert "non_idempotent" in webhooks
    actions = text.split("listen 127.0.0.1:15150;")[1].split("}")[1]
    assert "non_idempotent" not in actions  # Rasa's retry policy decides about action calls


@pytest.mark.parametrize("env, missing", [
    ({"KEFU_DATABASE_URL": "sqlite:///var/kefu.db", "KEFU_REDIS_URL": REDIS}, "PostgreSQL"),
    ({"KEFU_DATABASE_URL": PG}, "Redis"),
])
def test_scaling_out_needs_shared_postgresql_and_redis(env, missing):
    with pytest.raises(scaleout.ScaleOutError, match=missing):
        scaleout.check_shared_stores(env)
    scaleout.check_shared_stores({"KEFU_DATABASE_URL": PG, "KEFU_REDIS_URL": REDIS})  # accepted


def test_every_process_reaches_the_others_through_nginx():
    env = scaleout.public_env(_layout(), {})
    assert env["KEFU_ACTION_URL"] == "http://127.0.0.1:15150/webhook"
    assert env["KEFU_RASA_URL"] == "http://127.0.0.1:15100"
    assert env["KEFU_PUBLIC_RASA_URL"] == env["KEFU_PUBLIC_WEB_URL"] == "http://127.0.0.1:18100"
    assert env["KEFU_RASA_URLS"] == "http://127.0.0.1:15110,http://127.0.0.1:15111"  # health checks each


def test_instances_trust_exactly_one_proxy_for_the_client_address():
    assert scaleout.instance_env("rasa")["SANIC_PROXIES_COUNT"] == "1"
    assert int(scaleout.instance_env("rasa")["SANIC_BACKLOG"]) > 100  # Rasa's default overflowed
    assert scaleout.instance_env("web") == {"KEFU_BEHIND_PROXY": "1"}
    assert scaleout.instance_env("actions") == {}


def test_run_scale_refuses_sqlite_before_touching_anything(monkeypatch, capsys):
    from kefu import cli

    monkeypatch.setenv("KEFU_DATABASE_URL", "sqlite:///var/never-created.db")
    monkeypatch.delenv("KEFU_REDIS_URL", raising=False)
    monkeypatch.setattr(cli, "cmd_migrate", lambda _: pytest.fail("migrated although refused"))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--scale", "2"])
    assert "PostgreSQL" in str(exit_.value.code)
