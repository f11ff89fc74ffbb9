"""Starlette sub-app for the widget: static bundle, demo page, history API.

Routes are relative to the mount point (the desk mounts this app at /widget):
  GET /demo                 demo page of the fictional brand 暖风家电
  GET /static/kefu-widget.js  the built bundle (widget/dist/)
  GET /assets/...           demo page assets
  GET /api/history?session_id=<uuid>  user/bot messages from Rasa's tracker (header
      X-Kefu-History-Token: the conversation's signed token, else 403)

Run alone (served under /widget, / redirects to the demo):
  python -m widget.app --port 8010
"""

from __future__ import annotations

import argparse
import os
import uuid
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from kefu.errors import RasaUnavailable
from kefu.rasa_http import fetch_tracker
from kefu.security.config import security_config
from kefu.security.ratelimit import RateLimiter
from kefu.tokens import verify_history_token
from widget.history import messages_from_tracker

HERE = Path(__file__).resolve().parent
DIST_DIR = HERE / "dist"
PUBLIC_DIR = HERE / "public"
DEFAULT_PUBLIC_RASA_URL = "http://127.0.0.1:5005"
HISTORY_TOKEN_HEADER = "X-Kefu-History-Token"

templates = Jinja2Templates(directory=str(HERE / "templates"))


def _valid_session_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return 32 <= len(value) <= 36


async def history(request: Request) -> Response:
    verdict = request.app.state.limiter.hit("history_per_ip", request.client.host if request.client else "unknown")
    if not verdict.allowed:  # config/security.yml rate_limits.history_per_ip
        return JSONResponse({"error": "rate_limited", "message": security_config().messages.rate_limited},
                            status_code=429, headers={"Retry-After": str(verdict.retry_after)})
    session_id = request.query_params.get("session_id", "")
    if not _valid_session_id(session_id):
        return JSONResponse({"error": "invalid_session_id"}, status_code=400)
    # The conversation's signed history token (given to the widget when the conversation
    # started, kefu/tokens.py), not the conversation id alone, opens its history.
    if not verify_history_token(request.headers.get(HISTORY_TOKEN_HEADER), session_id):
        return JSONResponse({"error": "forbidden"}, status_code=403)
    try:
        tracker = await fetch_tracker(session_id)
    except RasaUnavailable:
        return JSONResponse({"error": "rasa_unavailable", "messages": []}, status_code=502)
    body = {"session_id": session_id, "messages": messages_from_tracker(tracker)}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def demo(request: Request) -> Response:
    context = {
        # The mount prefix (e.g. "/widget"), so links work wherever we are mounted.
        "base": request.scope.get("root_path", "").rstrip("/"),
        "rasa_url": os.environ.get("KEFU_PUBLIC_RASA_URL", DEFAULT_PUBLIC_RASA_URL),
        "transports": os.environ.get("KEFU_WIDGET_TRANSPORTS", ""),
        # The demo page stands in for the brand's signed-in site: ?customer_token= (from
        # ./kefu.sh customer-token PHONE) or the env var. Actions verify it on every message.
        "customer_token": request.query_params.get("customer_token") or os.environ.get("KEFU_DEMO_CUSTOMER_TOKEN", ""),
    }
    return templates.TemplateResponse(request, "demo.html", context)


def create_app() -> Starlette:
    """The widget sub-app; routes are relative to wherever it is mounted."""
    origins = [o.strip() for o in os.environ.get("KEFU_WIDGET_ALLOWED_ORIGINS", "*").split(",") if o.strip()]
    app = Starlette(
        routes=[
            Route("/demo", demo, name="demo"),
            Route("/api/history", history, name="history"),
            Mount("/static", app=StaticFiles(directory=str(DIST_DIR), check_dir=False), name="static"),
            Mount("/assets", app=StaticFiles(directory=str(PUBLIC_DIR)), name="assets"),
        ],
        # Host sites on other origins embed the widget and read the history.
        middleware=[Middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET"],
                               allow_headers=[HISTORY_TOKEN_HEADER])],
    )
    app.state.limiter = RateLimiter()  # memory, or Redis with KEFU_REDIS_URL
    return app


def standalone_app() -> Starlette:
    """The sub-app under /widget, as the desk mounts it, for local runs and tests."""
    return Starlette(
        routes=[
            Route("/", lambda request: RedirectResponse("/widget/demo")),
            Mount("/widget", app=create_app()),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the Kefu widget under /widget.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    args = parser.parse_args(argv)
    uvicorn.run(standalone_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
