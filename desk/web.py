"""Request helpers shared by the desk's views: database calls, login state, templates."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, TypeVar

from jinja2 import select_autoescape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from kefu.db import session_scope
from kefu.escalation.desk_config import DeskConfig
from kefu.models.desk import Agent
from desk import csrf
from desk.health import down_labels

HERE = Path(__file__).resolve().parent
T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]

_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


def static_route(file: str, name: str, path: Optional[str] = None) -> Route:
    """A route serving ``desk/static/<file>`` beside a page mounted on its own (analytics, review)."""
    media_type = _MEDIA_TYPES[Path(file).suffix]

    async def endpoint(request: Request) -> Response:
        return FileResponse(HERE / "static" / file, media_type=media_type)

    return Route(path or f"/{file}", endpoint, name=name)


templates = Jinja2Templates(directory=str(HERE / "templates"))
# Autoescape every template (the default only covers .html/.xml names).
templates.env.autoescape = select_autoescape(default=True, default_for_string=True)
templates.env.globals["down_labels"] = down_labels  # base.html's "service degraded" banner


def config(request: Request) -> DeskConfig:
    return request.app.state.config


def now(request: Request) -> dt.datetime:
    return request.app.state.clock()


async def in_db(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(session, ...)`` in one transaction, in a worker thread (SQLAlchemy is sync)."""

    def call() -> T:
        with session_scope(request.app.state.db_url) as session:
            return fn(session, *args, **kwargs)

    return await run_in_threadpool(call)


# --- login state ------------------------------------------------------------------------


def log_in(request: Request, agent: Agent) -> None:
    request.session.clear()  # no session fixation: nothing from before login survives
    request.session["agent_id"] = agent.id
    request.session["session_version"] = agent.session_version
    request.session["login_at"] = now(request).timestamp()
    csrf.rotate(request)


def log_out(request: Request) -> None:
    request.session.clear()


def _session_agent_id(request: Request) -> Optional[int]:
    agent_id = request.session.get("agent_id")
    login_at = request.session.get("login_at")
    if not agent_id or not login_at:
        return None
    # The cookie's signature expires too (SessionMiddleware max_age); this check also
    # ends sessions whose cookie is replayed with a fresh signature timestamp.
    max_age = config(request).web.session_max_age_minutes * 60
    if now(request).timestamp() - float(login_at) > max_age:
        request.session.clear()
        return None
    return int(agent_id)


def _load_agent(session: Session, agent_id: int, version: Optional[int] = None) -> Optional[Agent]:
    agent = session.get(Agent, agent_id)
    if agent is None or not agent.active:
        return None
    if version is not None and agent.session_version != version:
        return None  # revoked by a logout or a password change (server-side session version)
    agent.groups  # load while the session is open  # noqa: B018
    return agent


def requires(*roles: str, api: bool = False) -> Callable[[Handler], Handler]:
    """Only logged-in agents with one of ``roles``; sets ``request.state.agent``.

    Pages redirect to the login page; ``api`` endpoints answer 401 JSON instead.
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: Request) -> Response:
            agent_id = _session_agent_id(request)
            version = int(request.session.get("session_version", -1))
            agent = await in_db(request, _load_agent, agent_id, version) if agent_id else None
            if agent is None:
                request.session.pop("agent_id", None)
                if api:
                    return JSONResponse({"error": "login_required", "message": "登录已过期，请重新登录"}, 401)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                login = request.url_for("login").include_query_params(next=target)
                return RedirectResponse(str(login), status_code=303)
            if roles and agent.role not in roles:
                if api:
                    return JSONResponse({"error": "forbidden", "message": "您的角色无权执行此操作"}, 403)
                return PlainTextResponse("您的角色无权访问此页面。", status_code=403)
            request.state.agent = agent
            return await handler(request)

        return wrapper

    return decorate


def safe_next(target: Optional[str]) -> str:
    """Only redirect inside the desk (no open redirect to other sites)."""
    if target and target.startswith("/desk/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/desk/"


def render(request: Request, template: str, context: dict, status_code: int = 200) -> Response:
    base = {
        "agent": getattr(request.state, "agent", None),
        "csrf_token": csrf.token(request),
        "config": config(request),
    }
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
