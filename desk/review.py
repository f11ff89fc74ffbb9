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

Dialogue review (对话纠正: the bot's next step was wrong, not only the NLU):

    GET  /conversations         flagged conversations, most recent first, paginated (?page=)
    GET  /conversation?id=…     one conversation step by step: messages, actions, what the bot said
    POST /stories               {"conversation_id", "step", "action", "intent"?}: the conversation up to
                                that step + the chosen action -> data/stories/reviewed.yml
                                (kefu.training.stories: domain, held-out texts, `rasa data validate`)
    GET  /conversations.js      the conversation page's script

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
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from desk import csrf, web
from kefu import clock as product_clock
from kefu import settings
from kefu.training import accept as accepting
from kefu.training import conversations as conv
from kefu.training import stories as story_builder
from kefu.training.project import Project, normalise

ROLES = ("supervisor", "trainer")
ENTITY_LABELS = {"time": "时间", "address": "地址", "person_name": "姓名"}
DAY_CHOICES = (1, 3, 7, 14, 30)
MAX_ROWS = 200  # rows on the page
SCAN_LIMIT = 2000  # most recent conversations read per page view (~3 s per 1000 on 2 cores)
PAGE_SIZE = 20  # conversations per page of the dialogue review list


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

    # --- dialogue review ---------------------------------------------------------------

    def conversation_list(self, days: int, flags: List[str], threshold: float, page: int) -> Dict[str, Any]:
        since = self.clock() - dt.timedelta(days=days)
        filters = conv.Filters(since=since, flags=frozenset(flags or conv.FLAGS), confidence_threshold=threshold,
                               scan_limit=SCAN_LIMIT)
        found = conv.load_conversations(self.store(), filters, mask=True)
        pages = max(1, -(-len(found) // PAGE_SIZE))
        page = min(max(page, 1), pages)
        reviewed = story_builder.reviewed_conversations(self.project)
        rows = []
        for c in found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]:
            flagged = next((m for m in c.messages if m.flags), c.messages[0] if c.messages else None)
            rows.append({
                "id": c.sender_id,
                "time": conv.local_time(c.ended),
                "flags": sorted(c.flags, key=conv.FLAGS.index),
                "messages": len(c.messages),
                "preview": flagged.text if flagged else "",
                "reviewed": c.sender_id in reviewed,
            })
        return {"conversations": rows, "total": len(found), "page": page, "pages": pages}

    def steps(self, sender_id: str, threshold: float = 0.6):
        events = conv.load_events(self.store(), sender_id)
        if not events:
            return None, None
        conversation = conv.analyse(sender_id, events, conv.Filters(confidence_threshold=threshold), mask=True)
        steps = story_builder.steps_from_events([e.as_dict() for e in conversation.events])
        return conversation, steps

    def conversation(self, sender_id: str, threshold: float = 0.6) -> Optional[Dict[str, Any]]:
        conversation, steps = self.steps(sender_id, threshold)
        if conversation is None:
            return None
        flags_at = {m.timestamp: m.flags for m in conversation.messages}
        shown = []
        for step in steps:
            row = step.as_dict()
            row["flags"] = flags_at.get(step.timestamp, []) if step.kind == "user" else []
            row["time"] = conv.local_time(step.timestamp)
            shown.append(row)
        return {"id": sender_id, "flags": sorted(conversation.flags, key=conv.FLAGS.index), "steps": shown,
                "reviewed": sender_id in story_builder.reviewed_conversations(self.project)}

    def save_story(self, sender_id: str, step: int, action: str, intent: Optional[str], actor: str):
        _, steps = self.steps(sender_id)
        if steps is None:
            raise story_builder.Refused("not_found")
        correction = story_builder.Correction(sender_id, step, action, intent or None)
        return story_builder.save_correction(self.project, steps, correction, actor)


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

    @web.requires(*ROLES)
    async def conversations_page(request: Request) -> Response:
        filters = _filters(request)
        try:
            page_no = int(request.query_params.get("page", 1))
        except ValueError:
            page_no = 1
        data = await run_in_threadpool(source.conversation_list, filters["days"], filters["flags"],
                                       filters["threshold"], page_no)
        query = [("days", filters["days"]), ("threshold", filters["threshold"])] + [("flag", f) for f in filters["flags"]]
        return web.render(request, "review_conversations.html", {
            **data, "filters": filters, "flag_labels": conv.FLAG_LABELS, "day_choices": DAY_CHOICES,
            "nav": "review", "query": query, "stories_file": _rel(source.project, story_builder.reviewed_stories_file(source.project)),
        })

    @web.requires(*ROLES)
    async def conversation_page(request: Request) -> Response:
        sender_id = (request.query_params.get("id") or "").strip()
        data = await run_in_threadpool(source.conversation, sender_id) if sender_id else None
        if data is None:
            return web.render(request, "review_conversation.html", {"missing": True, "nav": "review", "id": sender_id},
                              status_code=404)
        actions = await run_in_threadpool(story_builder.action_choices, source.project)
        intents = await run_in_threadpool(story_builder.intent_choices, source.project)
        return web.render(request, "review_conversation.html", {
            "conversation": data, "actions": actions, "intents": intents, "flag_labels": conv.FLAG_LABELS,
            "nav": "review", "missing": False,
            "stories_file": _rel(source.project, story_builder.reviewed_stories_file(source.project)),
        })

    @csrf.protect
    @web.requires(*ROLES, api=True)
    async def save_story(request: Request) -> Response:
        body = await _body(request)
        if (body is None or not isinstance(body.get("conversation_id"), str) or not isinstance(body.get("step"), int)
                or isinstance(body.get("step"), bool) or not isinstance(body.get("action"), str)
                or not isinstance(body.get("intent") or "", str)):
            return JSONResponse({"error": "bad_request", "message": "需要 conversation_id、step 和 action"}, 400)
        try:
            saved = await run_in_threadpool(source.save_story, body["conversation_id"], body["step"], body["action"],
                                            body.get("intent"), request.state.agent.username)
        except story_builder.Refused as refused:
            status = 404 if refused.reason == "not_found" else 409 if refused.reason in ("holdout", "invalid") else 400
            return JSONResponse({"status": "refused", "reason": refused.reason, "message": refused.message}, status)
        return JSONResponse({"status": saved.status, "message": saved.message, "file": saved.file,
                             "story": saved.story})

    return [
        Route("/", page, name="review"),
        Route("/messages", messages, name="review_messages"),
        Route("/accept", accept, methods=["POST"], name="review_accept"),
        Route("/ignore", ignore, methods=["POST"], name="review_ignore"),
        web.static_route("review.js", name="review_js"),
        web.static_route("review.css", name="review_css"),
        Route("/conversations", conversations_page, name="review_conversations"),
        Route("/conversation", conversation_page, name="review_conversation"),
        Route("/stories", save_story, methods=["POST"], name="review_story"),
        web.static_route("review_conversations.js", name="review_conversations_js", path="/conversations.js"),
    ]


def _rel(project: Project, path: Path) -> str:
    return str(path.relative_to(project.root)) if path.is_relative_to(project.root) else str(path)
