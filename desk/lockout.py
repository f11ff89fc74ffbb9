"""Desk login throttling (issue 11, item 5): failed attempts per account and per client
address (config/security.yml ``rate_limits.desk_login_per_*``). An account with too many
failures is locked until its window passes or a supervisor lifts the lock on the
supervisor page; an address with too many failures waits for its window.
"""

from __future__ import annotations

from typing import Iterable, List, Optional

from starlette.requests import Request

from kefu.security.config import security_config
from kefu.security.ratelimit import RateLimiter

ACCOUNT, ADDRESS = "desk_login_per_account", "desk_login_per_ip"


def limiter(request: Request) -> RateLimiter:
    return request.app.state.limiter


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _account(username: str) -> str:
    return (username or "").strip().lower()


def refusal(request: Request, username: str) -> Optional[str]:
    """The Chinese message if this login attempt may not even be checked, else None."""
    messages = security_config().messages
    if not limiter(request).allowed(ACCOUNT, _account(username)):
        return messages.login_locked
    if not limiter(request).allowed(ADDRESS, client_address(request)):
        return messages.login_rate_limited
    return None


def record_failure(request: Request, username: str) -> None:
    limiter(request).hit(ACCOUNT, _account(username))
    limiter(request).hit(ADDRESS, client_address(request))


def record_success(request: Request, username: str) -> None:
    limiter(request).clear(ACCOUNT, _account(username))


def locked(request: Request, usernames: Iterable[str]) -> List[str]:
    return [u for u in usernames if not limiter(request).allowed(ACCOUNT, _account(u))]


def unlock(request: Request, username: str) -> None:
    limiter(request).clear(ACCOUNT, _account(username))
