"""CSRF protection: a synchronizer token kept in the (signed) session.

Forms send it as the hidden field ``csrf_token``; the page's scripts send it in the
``X-CSRF-Token`` header. Every state-changing handler is wrapped in ``protect``.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from typing import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

SESSION_KEY = "csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

Handler = Callable[[Request], Awaitable[Response]]


def token(request: Request) -> str:
    """The session's token, created on first use."""
    value = request.session.get(SESSION_KEY)
    if not value:
        value = request.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return value


def rotate(request: Request) -> str:
    """A fresh token (at login, so a token seen before login is worthless after)."""
    request.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return request.session[SESSION_KEY]


async def is_valid(request: Request) -> bool:
    expected = request.session.get(SESSION_KEY)
    if not expected:
        return False
    sent = request.headers.get(HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = (await request.form()).get(FIELD)
    return isinstance(sent, str) and hmac.compare_digest(sent, expected)


def protect(handler: Handler) -> Handler:
    """Reject unsafe requests without the session's token (HTTP 403)."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        if request.method not in SAFE_METHODS and not await is_valid(request):
            return PlainTextResponse("请求已过期或来源不明（CSRF 校验失败），请刷新页面后重试。", status_code=403)
        return await handler(request)

    wrapper.csrf_protected = True  # type: ignore[attr-defined]  # checked by a test over all routes
    return wrapper
