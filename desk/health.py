"""GET /healthz/full (JSON, 200 or 503) and the desk's "service degraded" banner.

The checks themselves are kefu/runtime/health.py (also behind `./kefu.sh status`).
While the app runs, a background task re-checks every `health.desk_refresh_seconds`
(config/runtime.yml) so that pages can show the banner without waiting on the checks.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, List

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kefu.runtime import health
from kefu.runtime.config import runtime_config

log = logging.getLogger(__name__)


def _targets(app: Starlette) -> health.Targets:
    if getattr(app.state, "health_targets", None) is None:
        app.state.health_targets = health.Targets.from_env()
    return app.state.health_targets


async def refresh(app: Starlette) -> dict:
    parts = await health.check_all(_targets(app))
    body = health.report(parts, desk=health.PartHealth(True, "serving"))
    down = [name for name, part in body["parts"].items() if not part["up"]]
    if down != getattr(app.state, "health_down", []):
        log.warning("service parts down: %s", ", ".join(down) or "none")
    app.state.health_down = down
    return body


async def healthz_full(request: Request) -> Response:
    body = await refresh(request.app)
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


def down_labels(request: Request) -> List[str]:
    """For base.html: what agents are told is unavailable right now (empty when healthy)."""
    return [health.label(name) for name in getattr(request.app.state, "health_down", [])]


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async def monitor() -> None:
        while True:
            try:
                await refresh(app)
            except Exception:  # the monitor must outlive any one failed round
                log.exception("health check round failed")
            await asyncio.sleep(runtime_config().health.desk_refresh_seconds)

    task = asyncio.create_task(monitor())
    try:
        yield
    finally:
        task.cancel()
