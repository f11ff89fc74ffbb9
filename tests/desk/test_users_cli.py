"""`python -m desk.users` and desk.yml validation."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from desk import auth, users
from kefu import db
from kefu.errors import ConfigError, InvalidRequest
from kefu.escalation.desk_config import load_desk_config
from kefu.models.desk import Agent

ROOT = Path(__file__).resolve().parents[2]


def test_create_with_password_from_stdin(clean_db, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a good password\n"))
    code = users.main(["--database-url", clean_db, "create", "--username", "Zhang", "--name", "张敏",
                       "--role", "agent", "--groups", "投诉专席,综合", "--password-stdin"])
    assert code == 0 and "created zhang" in capsys.readouterr().out
    with db.session_scope(clean_db) as session:
        agent = auth.authenticate(session, "zhang", "a good password")
        assert agent is not None and agent.groups == ["投诉专席", "综合"] and agent.display_name == "张敏"
        assert auth.authenticate(session, "zhang", "wrong") is None


def test_create_rejects_bad_input(clean_db, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a good password\n"))
    code = users.main(["--database-url", clean_db, "create", "--username", "li", "--name", "李娜",
                       "--groups", "售后部", "--password-stdin"])
    assert code == 2 and "unknown groups: 售后部" in capsys.readouterr().err
    with db.session_scope(clean_db) as session:
        with pytest.raises(InvalidRequest):
            auth.create_agent(session, username="li", display_name="李娜", password="short", groups=[])
        with pytest.raises(InvalidRequest):
            auth.create_agent(session, username="li", display_name="李娜", password="long enough", role="admin")
        assert session.execute(select(Agent)).first() is None


def test_passwd_list_and_deactivate(clean_db, monkeypatch, capsys):
    with db.session_scope(clean_db) as session:
        auth.create_agent(session, username="wang", display_name="王强", password="first password",
                          role="supervisor", groups=["维修调度"])
    monkeypatch.setattr(sys, "stdin", io.StringIO("second password\n"))
    assert users.main(["--database-url", clean_db, "passwd", "--username", "wang", "--password-stdin"]) == 0
    assert users.main(["--database-url", clean_db, "list"]) == 0
    assert "wang\t王强\tsupervisor\t维修调度" in capsys.readouterr().out
    assert users.main(["--database-url", clean_db, "deactivate", "--username", "wang"]) == 0
    with db.session_scope(clean_db) as session:
        assert auth.authenticate(session, "wang", "second password") is None  # inactive


def test_the_module_runs_as_a_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "desk.users", "--database-url", url, "create", "--username", "chen",
         "--name", "陈静", "--role", "trainer", "--password-stdin"],
        input="trainer password\n", capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "created chen (陈静, trainer, -)" in result.stdout
    db.dispose_engines()


def test_desk_config_errors_name_the_key(tmp_path):
    text = (ROOT / "config" / "desk.yml").read_text("utf-8")
    bad = tmp_path / "desk.yml"
    bad.write_text(text.replace("handling_minutes: 15", "handling_minutes: -1"), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_desk_config(bad)
    assert "groups.投诉专席.handling_minutes" in str(info.value)
    bad.write_text(text.replace("callback_ticket_type: repair", "callback_ticket_type: visit"), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_desk_config(bad)
    assert "unknown ticket type 'visit'" in str(info.value)
