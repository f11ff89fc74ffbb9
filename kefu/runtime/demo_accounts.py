"""Demo desk accounts for `./kefu.sh run` on a fresh machine.

Creates one agent per group and a supervisor/trainer if the desk has no users yet,
with random passwords written to git-ignored var/demo-accounts.txt (never printed
into logs, never committed). Does nothing once any account exists.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import func, select

from kefu import settings
from kefu.db import session_scope
from kefu.models.desk import Agent

DEMO_ACCOUNTS = [
    ("zhangmin", "张敏", "agent", ["投诉专席", "综合"]),
    ("liuyang", "刘洋", "agent", ["维修调度", "综合"]),
    ("chenjing", "陈静", "agent", ["VIP专席", "投诉专席"]),
    ("wanglei", "王磊", "supervisor", ["投诉专席", "维修调度", "VIP专席", "综合"]),
    ("trainer", "赵训练师", "trainer", []),
]


def ensure_demo_accounts(path: Path | None = None) -> Path | None:
    from kefu.services.agents import create_agent

    path = path or settings.var_dir() / "demo-accounts.txt"
    with session_scope() as session:
        if session.execute(select(func.count(Agent.id))).scalar_one():
            return None
        lines = ["# Kefu desk demo accounts (generated; delete users with `python -m desk.users deactivate`)"]
        for username, name, role, groups in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(9)
            create_agent(session, username=username, display_name=name, password=password, role=role, groups=groups)
            lines.append(f"{username}\t{password}\t{role}\t{name}\t{','.join(groups)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


if __name__ == "__main__":
    written = ensure_demo_accounts()
    print(f"demo desk accounts written to {written}" if written else "desk accounts exist; nothing to do")
