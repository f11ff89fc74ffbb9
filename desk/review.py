"""Trainer review page: flagged customer messages -> corrected examples in data/nlu/reviewed.yml.

A self-contained Starlette router for supervisors and trainers (role check, CSRF and
templates from desk/web.py and desk/csrf.py). Mount it into the desk app:

    from desk import review
    Mount("/desk/review", routes=review.routes())       # unnamed mount: url_for("review") works

Routes (relative to the mount point):

    GET  /             the page: flagged messages of the last N days, lowest confidence first
    GET  /messages     the same list as JSON (filters as query parameters)
    POST /accept       {"text", "intent", "entities": [{"entity", "start", "end", "value"}]}
    POST /ignore       {"text"}: off the list, nothing written
    GET  /review.js    the page's script and style (desk/static/review.js, review.css; the
    GET  /review.css   desk's CSP allows no inline scripts or styles)

Messages come from Rasa's SQL tracker store (kefu.training.conversations, personal
data masked); accepting goes through kefu.training.accept (holdout texts and conflicts
refused, sorted/deduplicated YAML, decision log with the trainer's user name).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from desk import csrf, web
from kefu import clock as product_clock
from kefu import settings
from kefu.training import accept as accepting
from kefu.training import conversations as conv
from kefu.training.project import Project, normalise

ROLES = ("supervisor", "trainer")
STATIC = Path(__file__).resolve().parent / "static"
ENTITY_LABELS = {"time": "时间", "address": "地址", "person_name": "姓名"}
DAY_CHOICES = (1, 3, 7, 14, 30)
MAX_ROWS = 200  # rows on the page
SCAN_LIMIT = 2000  # most recent conversations read per page view (~3 s per 1000 on 2 cores)


class ReviewSource:
    """Where the page reads conversations and writes examples (one per mounted router)."""

    def __init__(self, project: Optional[Project] = None, tracker_store_url: Optional[str] = None,
                 clock=None) -> None:
        self.project = project or Project.default()
        self.tracker_store_url = tracker_store_url
        self.clock = clock or product_clock.now
        self._store = None

    def store(self):
        if self._store is None:
            self._store = conv.open_store(self.tracker_store_url)
        return self._store

    def labels(self) -> Dict[str, str]:
        path = settings.config_dir() / "intent_labels.yml"
        try:
            data = yaml.safe_load(path.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return {}
        labels = {k: str(v) for k, v in (data.get("intents") or {}).items()}
        labels.update({f"faq/{k}": str(v.get("label", k)) if isinstance(v, dict) else str(v)
                       for k, v in (data.get("faq") or {}).items()})
        return labels

    def intents(self) -> List[Dict[str, str]]:
        labels = self.labels()
        return [{"name": name, "label": labels.get(name, "")} for name in accepting.acceptable_intents(self.project)]

    def rows(self, days: int, flags: List[str], threshold: float, include_all: bool, text: str = "") -> Dict[str, Any]:
        since = self.clock() - dt.timedelta(days=days)
        filters = conv.Filters(since=since, flags=frozenset(flags), confidence_threshold=threshold,
                               scan_limit=SCAN_LIMIT)
        conversations = conv.load_conversations(self.store(), filters, mask=True)
        messages = conv.review_messages(conversations, only_flagged=not include_all)
        wanted = normalise(text)
        if wanted:  # ?q=: messages containing this text (the analytics page's "not understood" links)
            messages = [m for m in messages if wanted in m.norm]
        decided = accepting.decided_texts(self.project)
        context = accepting.data_context(self.project)
        rows = []
        hidden = 0
        for message in messages:
            if message.norm in decided:
                hidden += 1
                continue
            row = message.as_dict()
            row["holdout"] = message.norm in context.holdout.entries
            row["in_training"] = sorted(context.others.intents(message.text))
            row["annotatable"] = [i for i, e in enumerate(message.entities)
                                  if e.get("entity") in self.project.annotated_entities]
            rows.append(row)
        return {"rows": rows[:MAX_ROWS], "total": len(rows), "decided": hidden, "conversations": len(conversations)}


def _filters(request: Request) -> Dict[str, Any]:
    q = request.query_params
    try:
        days = int(q.get("days", 7))
    except ValueError:
        days = 7
    try:
        threshold = float(q.get("threshold", 0.6))
    except ValueError:
        threshold = 0.6
    flags = [f for f in q.getlist("flag") if f in conv.FLAGS]
    return {"days": max(1, min(days, 90)), "flags": flags, "threshold": min(max(threshold, 0.0), 1.0),
            "include_all": q.get("all") == "1", "text": (q.get("q") or "").strip()[:200]}


def routes(project: Optional[Project] = None, tracker_store_url: Optional[str] = None, clock=None) -> List[Route]:
    """The review routes, bound to a project (default: this repository) and tracker store."""
    source = ReviewSource(project, tracker_store_url, clock)

    @web.requires(*ROLES)
    async def page(request: Request) -> Response:
        filters = _filters(request)
        data = await run_in_threadpool(source.rows, **filters)
        intents = await run_in_threadpool(source.intents)
        return web.render(request, "review.html", {
            **data,
            "filters": filters,
            "intents": intents,
            "flag_labels": conv.FLAG_LABELS,
            "entity_labels": ENTITY_LABELS,
            "day_choices": DAY_CHOICES,
            "nav": "review",
            "reviewed_file": str(source.project.reviewed_file.relative_to(source.project.root))
            if source.project.reviewed_file.is_relative_to(source.project.root) else str(source.project.reviewed_file),
        })

    @web.requires(*ROLES, api=True)
    async def messages(request: Request) -> Response:
        data = await run_in_threadpool(source.rows, **_filters(request))
        return JSONResponse(data)

    async def _body(request: Request) -> Optional[Dict[str, Any]]:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    @csrf.protect
    @web.requires(*ROLES, api=True)
    async def accept(request: Request) -> Response:
        body = await _body(request)
        if body is None or not isinstance(body.get("text"), str) or not isinstance(body.get("intent"), str):
            return JSONResponse({"error": "bad_request", "message": "需要 text 和 intent"}, 400)
        entities = body.get("entities") or []
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            return JSONResponse({"error": "bad_request", "message": "entities 格式不对"}, 400)
        example = accepting.Example(body["text"], body["intent"], entities)
        actor = request.state.agent.username
        [outcome] = await run_in_threadpool(accepting.accept, source.project, [example], actor)
        return JSONResponse({
            "status": outcome.status, "reason": outcome.reason, "message": outcome.message,
            "text": outcome.text, "intent": outcome.intent, "entities": outcome.entities,
            "dropped_entities": outcome.dropped_entities,
        }, status_code=200 if outcome.ok else 409)

    @csrf.protect
    @web.requires(*ROLES, api=True)
    async def ignore(request: Request) -> Response:
        body = await _body(request)
        if body is None or not isinstance(body.get("text"), str) or not normalise(body["text"]):
            return JSONResponse({"error": "bad_request", "message": "需要 text"}, 400)
        await run_in_threadpool(accepting.record_decision, "ignored", body["text"], body.get("intent"),
                                request.state.agent.username, source.project)
        return JSONResponse({"status": "ignored", "message": "已忽略"})

    async def script(request: Request) -> Response:
        return FileResponse(STATIC / "review.js", media_type="text/javascript")

    async def style(request: Request) -> Response:
        return FileResponse(STATIC / "review.css", media_type="text/css")

    return [
        Route("/", page, name="review"),
        Route("/messages", messages, name="review_messages"),
        Route("/accept", accept, methods=["POST"], name="review_accept"),
        Route("/ignore", ignore, methods=["POST"], name="review_ignore"),
        Route("/review.js", script, name="review_js"),
        Route("/review.css", style, name="review_css"),
    ]
