"""Agent (desk user) accounts: argon2 password hashes, creation, password changes and login checks.

Service code: used by the desk, `desk.users`, the demo accounts of `kefu/runtime` and scripts;
like every service function it flushes but never commits.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kefu.errors import InvalidRequest
from kefu.escalation.desk_config import desk_config
from kefu.models.desk import ROLES, Agent, AgentGroup

MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended cost


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("kefu-timing-equaliser")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password")
    return _hasher.hash(password)


def create_agent(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: str = "agent",
    groups: Iterable[str] = (),
) -> Agent:
    """A new desk user; groups must exist in config/desk.yml."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidRequest("username: 2-32 lower-case letters, digits, . _ -", field="username")
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}", field="role")
    if not display_name.strip():
        raise InvalidRequest("display name is required", field="name")
    groups = list(dict.fromkeys(g.strip() for g in groups if g.strip()))
    unknown = sorted(set(groups) - set(desk_config().groups))
    if unknown:
        raise InvalidRequest(f"unknown groups: {', '.join(unknown)}", field="groups")
    if session.execute(select(Agent.id).where(Agent.username == username)).first():
        raise InvalidRequest(f"user {username} exists already", field="username")
    agent = Agent(
        username=username,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role,
        group_rows=[AgentGroup(group_name=g) for g in groups],
    )
    session.add(agent)
    session.flush()
    return agent


def set_password(session: Session, agent: Agent, password: str) -> None:
    agent.password_hash = hash_password(password)
    revoke_sessions(session, agent.id)  # a stolen session does not outlive a password change


def revoke_sessions(session: Session, agent_id: int) -> None:
    """End every desk session of this agent (their cookies carry an older version)."""
    session.execute(
        update(Agent)
        .where(Agent.id == agent_id)
        .values(session_version=Agent.session_version + 1)
        .execution_options(synchronize_session=False)
    )


def authenticate(session: Session, username: str, password: str) -> Optional[Agent]:
    """The active agent with this username and password, else None.

    Unknown users cost one hash verification too, so response times do not reveal
    which usernames exist.
    """
    agent = session.execute(
        select(Agent).where(Agent.username == (username or "").strip().lower())
    ).scalar_one_or_none()
    stored = agent.password_hash if agent is not None else _dummy_hash()
    try:
        _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if agent is None or not agent.active:
        return None
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    return agent
