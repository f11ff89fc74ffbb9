"""Manage desk users.

    python -m desk.users create --username zhang --name 张敏 --role agent --groups 投诉专席,综合
    python -m desk.users create ... --password-stdin < password.txt
    python -m desk.users list
    python -m desk.users passwd --username zhang
    python -m desk.users deactivate --username zhang

The password is prompted for (twice) unless --password-stdin reads it from the first
line of standard input. The database is upgraded to the newest schema first.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Optional, Sequence

from sqlalchemy import select

from kefu import db
from kefu.errors import KefuError
from kefu.models.desk import ROLES, Agent
from desk import auth


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再次输入 / repeat: ") != first:
        raise SystemExit("两次输入的密码不一致 / passwords differ")
    return first


def _agent(session, username: str) -> Agent:
    agent = session.execute(select(Agent).where(Agent.username == username.lower())).scalar_one_or_none()
    if agent is None:
        raise SystemExit(f"no such user: {username}")
    return agent


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desk.users", description="Kefu desk users")
    parser.add_argument("--database-url", help="default: KEFU_DATABASE_URL or var/kefu.db")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="add a user")
    create.add_argument("--username", required=True)
    create.add_argument("--name", required=True, help="display name, e.g. 张敏")
    create.add_argument("--role", choices=ROLES, default="agent")
    create.add_argument("--groups", default="", help="comma-separated, e.g. 投诉专席,综合")
    create.add_argument("--password-stdin", action="store_true")
    passwd = commands.add_parser("passwd", help="set a new password")
    passwd.add_argument("--username", required=True)
    passwd.add_argument("--password-stdin", action="store_true")
    deactivate = commands.add_parser("deactivate", help="block a user from logging in")
    deactivate.add_argument("--username", required=True)
    commands.add_parser("list", help="show all users")
    args = parser.parse_args(argv)

    url = args.database_url
    db.migrate(url)
    try:
        with db.session_scope(url) as session:
            if args.command == "create":
                groups = [g for g in args.groups.replace("，", ",").split(",") if g.strip()]
                password = _read_password(args.password_stdin)
                agent = auth.create_agent(session, username=args.username, display_name=args.name,
                                          password=password, role=args.role, groups=groups)
                print(f"created {agent.username} ({agent.display_name}, {agent.role}, {','.join(agent.groups) or '-'})")
            elif args.command == "passwd":
                auth.set_password(session, _agent(session, args.username), _read_password(args.password_stdin))
                print(f"password changed for {args.username}")
            elif args.command == "deactivate":
                _agent(session, args.username).active = False
                print(f"deactivated {args.username}")
            else:
                for agent in session.execute(select(Agent).order_by(Agent.username)).scalars():
                    state = "" if agent.active else " (inactive)"
                    print(f"{agent.username}\t{agent.display_name}\t{agent.role}\t{','.join(agent.groups) or '-'}{state}")
    except KefuError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
