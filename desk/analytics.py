"""Supervisors' analytics page (/desk/analytics): figures from kefu.analytics, charts and CSV.

A self-contained router, mounted in desk/app.py:

    Mount("/desk/analytics", routes=analytics.routes())

Routes (relative to the mount point):

    GET /                   the page: period picker, filters, every panel as chart + table
    GET /csv/{panel}        one panel as CSV (same query parameters as the page)
    GET /analytics.js       the page's script (ECharts comes from /desk/static/vendor/, copied
    GET /analytics.css      there by scripts/install.sh from the npm package; no CDN)
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from desk import web
from kefu import settings
from kefu.analytics import queries
from kefu.settings import TICKET_TYPES

ROLES = ("supervisor",)
CHANNELS = ("web", "wechat", "app", "phone")


def _date(value: Optional[str]) -> Optional[dt.date]:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def query_of(request: Request) -> queries.Query:
    q = request.query_params
    service = settings.service_config()
    groups = {t.group for t in service.ticket_types.values()} | set(web.config(request).groups)
    ticket_type = q.get("type") if q.get("type") in TICKET_TYPES else None
    group = q.get("group") if q.get("group") in groups else None
    channel = q.get("channel") if q.get("channel") in CHANNELS else None
    period = q.get("period") if q.get("period") in queries.PERIODS else "7d"
    return queries.period_for(period, start=_date(q.get("start")), end=_date(q.get("end")), now=web.now(request),
                              ticket_type=ticket_type, group=group, channel=channel)


def _choices(request: Request) -> Dict[str, Any]:
    service = settings.service_config()
    groups = sorted({t.group for t in service.ticket_types.values()} | set(web.config(request).groups))
    return {
        "periods": queries.PERIODS,
        "types": [(t, service.ticket_types[t].label) for t in TICKET_TYPES if t in service.ticket_types],
        "groups": groups,
        "channels": CHANNELS,
    }


def routes(database_url: Optional[str] = None, tracker_url: Optional[str] = None) -> List[Route]:
    def compute(request: Request, query: queries.Query):
        url = database_url or request.app.state.db_url
        return queries.dashboard(query, url, tracker_url or queries.tracker_url(url), review_url="/desk/review/")

    @web.requires(*ROLES)
    async def page(request: Request) -> Response:
        query = query_of(request)
        panels = await run_in_threadpool(compute, request, query)
        local = query.start.tzinfo
        return web.render(request, "analytics.html", {
            "nav": "analytics",
            "query": query,
            "start_date": query.start.astimezone(local).date().isoformat(),
            "end_date": (query.end.astimezone(local) - dt.timedelta(days=1)).date().isoformat(),
            "sections": [(key, label, panels[key]) for key, label in queries.SECTIONS],
            "data": {p.id: p.as_dict() for section in panels.values() for p in section},
            "params": request.url.query,
            **_choices(request),
        })

    @web.requires(*ROLES)
    async def csv(request: Request) -> Response:
        query = query_of(request)
        panels = await run_in_threadpool(compute, request, query)
        panel = queries.find_panel(panels, request.path_params["panel"])
        if panel is None:
            return PlainTextResponse("没有这个报表。", status_code=404)
        day = query.start.astimezone(query.start.tzinfo).date().isoformat()
        name = f"kefu-{panel.id}-{query.period}-{day}.csv"
        return Response(queries.to_csv(panel), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return [
        Route("/", page, name="analytics"),
        Route("/csv/{panel}", csv, name="analytics_csv"),
        web.static_route("analytics.js", name="analytics_js"),
        web.static_route("analytics.css", name="analytics_css"),
    ]
