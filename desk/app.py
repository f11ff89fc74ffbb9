"""The desk web app: agent desk under /desk, the customer widget's sub-app under /widget."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from typing import AsyncIterator, Callable, Optional

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu import settings
from kefu.escalation.desk_config import DeskConfig, desk_config
from kefu import clock as product_clock
from desk import analytics, care, health, review, sweeper, views
from kefu.rasa_http import RasaClient
from kefu.security.ratelimit import RateLimiter
from desk.web import HERE

log = logging.getLogger(__name__)

# Only our own files: no inline scripts or styles, so injected markup cannot run.
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class DeskSecurityHeaders:
    """Adds SECURITY_HEADERS to responses under /desk (the widget demo has its own needs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/desk"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DeskSessions:
    """Starlette's signed-cookie sessions with the cookie's `Secure` flag from config/desk.yml.

    ``secure`` true/false pins the flag; "auto" sets it whenever the request came over HTTPS:
    the request's own scheme, the proxy's ``X-Forwarded-Proto: https`` (trusting the header is
    harmless here: it can only make the client's own cookie stricter), or an https
    ``KEFU_PUBLIC_WEB_URL``. The plain-HTTP local run keeps a cookie it can send back.
    """

    def __init__(self, app: ASGIApp, *, secure: object = "auto", **options: object) -> None:
        self.secure = secure
        self.public_https = (os.environ.get("KEFU_PUBLIC_WEB_URL") or "").lower().startswith("https://")
        self.plain = SessionMiddleware(app, https_only=False, **options)  # type: ignore[arg-type]
        self.https = SessionMiddleware(app, https_only=True, **options)  # type: ignore[arg-type]

    def _over_https(self, scope: Scope) -> bool:
        if self.secure is True or self.public_https or scope.get("scheme") in ("https", "wss"):
            return True
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-proto":
                return value.decode("latin-1").split(",")[0].strip().lower() == "https"
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secure = self.secure is not False and scope["type"] in ("http", "websocket") and self._over_https(scope)
        await (self.https if secure else self.plain)(scope, receive, send)


def _widget_routes() -> list[BaseRoute]:
    try:
        from widget.app import create_app as create_widget_app
    except ImportError as error:
        log.warning("widget sub-app not mounted: %s", error)
        return []
    return [Mount("/widget", app=create_widget_app(), name="widget")]


def create_app(
    *,
    db_url: Optional[str] = None,
    rasa: Optional[RasaClient] = None,
    config: Optional[DeskConfig] = None,
    clock: Callable[[], dt.datetime] = product_clock.now,
    session_secret: Optional[str] = None,
    limiter: Optional[RateLimiter] = None,
    sweep: bool = True,
) -> Starlette:
    config = config or desk_config()
    widget = _widget_routes()
    home = "/widget/demo" if widget else "/desk/"

    async def root(request: Request) -> Response:
        return RedirectResponse(home, status_code=307)

    async def desk_root(request: Request) -> Response:
        return RedirectResponse("/desk/", status_code=307)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})  # used by the run command and the e2e tests

    post = ["POST"]
    routes: list[BaseRoute] = [
        Route("/", root),
        Route("/healthz", healthz),
        Route("/healthz/full", health.healthz_full),  # every part: for load balancers and probes
        Route("/desk", desk_root),
        Route("/desk/", views.queue_page, name="queue"),
        Route("/desk/queue/rows", views.queue_rows, name="queue_rows"),
        Route("/desk/login", views.login_page, methods=["GET"], name="login"),
        Route("/desk/login", views.login_submit, methods=post, name="login_submit"),
        Route("/desk/logout", views.logout, methods=post, name="logout"),
        Route("/desk/heartbeat", views.heartbeat, methods=post, name="heartbeat"),
        Route("/desk/supervisor", views.supervisor_page, name="supervisor"),
        Route("/desk/agents/{username}/unlock", views.unlock_account, methods=post, name="unlock_account"),
        Route("/desk/followups", views.followups_page, name="followups"),
        Route("/desk/followups/close", views.close_followups, methods=post, name="close_followups"),
        Route("/desk/handoffs/{handoff_id:int}", views.conversation_page, name="conversation"),
        Route("/desk/handoffs/{handoff_id:int}/transcript", views.conversation_transcript, name="transcript"),
        Route("/desk/handoffs/{handoff_id:int}/claim", views.claim, methods=post, name="claim"),
        Route("/desk/handoffs/{handoff_id:int}/reply", views.reply, methods=post, name="reply"),
        Route("/desk/handoffs/{handoff_id:int}/transfer", views.transfer, methods=post, name="transfer"),
        Route("/desk/handoffs/{handoff_id:int}/resolve", views.resolve, methods=post, name="resolve"),
        Route("/desk/tickets/{ticket_no}/status", views.ticket_status, methods=post, name="ticket_status"),
        Route("/desk/tickets/{ticket_no}/notes", views.ticket_note, methods=post, name="ticket_note"),
        *care.routes(),  # maintenance due (CSV) and the 回访 queue (issue 14)
        Mount("/desk/review", routes=review.routes()),  # trainers' conversation review (kefu/training)
        Mount("/desk/analytics", routes=analytics.routes()),  # supervisors' figures (kefu/analytics)
        Mount("/desk/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        *widget,
    ]
    middleware = [
        Middleware(DeskSecurityHeaders),
        Middleware(
            DeskSessions,
            secure=config.web.secure_cookies,
            secret_key=session_secret or settings.get_secret("KEFU_SESSION_SECRET"),
            session_cookie="kefu_desk",
            max_age=config.web.session_max_age_minutes * 60,
            path="/desk",
            same_site="lax",
        ),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The health monitor (banner) and the queue sweeper run in every desk instance
        # (why: desk/health.py, desk/sweeper.py).
        task = asyncio.create_task(sweeper.run_forever(app, clock)) if sweep else None
        async with health.lifespan(app):
            yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.config = config
    app.state.db_url = db_url or settings.database_url()
    app.state.rasa = rasa or RasaClient(timeout=config.web.rasa_timeout_seconds)
    app.state.clock = clock
    app.state.limiter = limiter or RateLimiter()  # memory, or Redis with KEFU_REDIS_URL
    return app
