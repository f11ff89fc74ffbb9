"""Issue 11, item 7: every desk route x every role, in one table, against the real desk app.

Roles: ``group`` = zhang, an agent of the handoff's group (投诉专席) who handles the claimed
conversation; ``other`` = wang, an agent of another group (维修调度); ``boss`` = supervisor;
``trainer`` = tina; ``anon`` = not logged in. Each cell is "ok" (the route works and its
effect happens) or "deny" (401/403, or sent to the login/review page, and no effect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional

import pytest
from starlette.testclient import TestClient

from desk_support import csrf_of
from kefu import db
from kefu.models.desk import Agent
from kefu.services import handoffs, tickets
from kefu.services.tickets import TicketRequest
from sqlalchemy import select

ROLES = ("group", "other", "boss", "trainer", "anon")
USER = {"group": "zhang", "other": "wang", "boss": "boss", "trainer": "tina"}


@dataclass
class World:
    db_url: str
    fake_rasa: object
    queued: int  # a queued 投诉专席 handoff
    claimed: int  # a 投诉专席 handoff claimed by zhang, carrying `ticket`
    ticket: str
    resolved: str  # a ticket resolved two days ago without a survey (the 回访 queue)


@pytest.fixture
def world(clean_db, users, queue_handoff, fake_rasa) -> World:
    queued = queue_handoff("conv-queued")
    with db.session_scope(clean_db) as session:
        ticket = tickets.create_ticket(session, TicketRequest(type="complaint", phone="13900000201",
                                                              description="安装师傅态度差")).ticket.ticket_no
    claimed = queue_handoff("conv-claimed", ticket_no=ticket)
    with db.session_scope(clean_db) as session:
        zhang = session.execute(select(Agent).where(Agent.username == "zhang")).scalar_one()
        handoffs.claim(session, claimed, zhang)
    with db.session_scope(clean_db) as session:
        import datetime as dt

        from kefu import clock

        done = tickets.create_ticket(session, TicketRequest(type="repair", phone="13900000202", product="空调"),
                                     now=clock.now() - dt.timedelta(days=3)).ticket
        for status in ("已派单", "处理中", "已解决"):
            tickets.change_status(session, done, status, "agent:wang", now=clock.now() - dt.timedelta(days=2))
        resolved = done.ticket_no
    return World(clean_db, fake_rasa, queued, claimed, ticket, resolved)


def surveyed(w: World) -> bool:
    with db.session_scope(w.db_url) as session:
        return tickets.get_ticket(session, w.resolved).status == "已回访"


def handoff_status(w: World, handoff_id: int) -> tuple:
    with db.session_scope(w.db_url) as session:
        h = handoffs.get_handoff(session, handoff_id)
        return h.status, h.group_name


def ticket_state(w: World) -> tuple:
    with db.session_scope(w.db_url) as session:
        t = tickets.get_ticket(session, w.ticket)
        return t.status, sum(1 for e in t.events if e.kind == "note")


@dataclass
class RouteCase:
    method: str
    path: Callable[[World], str]
    data: Optional[dict] = None
    json: Optional[dict] = None
    effect: Optional[Callable[[World], bool]] = None  # POSTs: did it happen?
    ok_codes: tuple = (200, 303)  # what an allowed role gets (404: allowed, but the thing does not exist)


ROUTES: Dict[str, RouteCase] = {
    "queue": RouteCase("GET", lambda w: "/desk/"),
    "queue_group_tab": RouteCase("GET", lambda w: "/desk/?group=投诉专席"),
    "queue_rows_group": RouteCase("GET", lambda w: "/desk/queue/rows?group=投诉专席"),
    "heartbeat": RouteCase("POST", lambda w: "/desk/heartbeat", json={}),
    "supervisor": RouteCase("GET", lambda w: "/desk/supervisor"),
    "conversation": RouteCase("GET", lambda w: f"/desk/handoffs/{w.claimed}"),
    "transcript": RouteCase("GET", lambda w: f"/desk/handoffs/{w.claimed}/transcript?after=-1"),
    "claim": RouteCase("POST", lambda w: f"/desk/handoffs/{w.queued}/claim", json={},
                       effect=lambda w: handoff_status(w, w.queued)[0] == "claimed"),
    "reply": RouteCase("POST", lambda w: f"/desk/handoffs/{w.claimed}/reply", json={"text": "您好"},
                       effect=lambda w: any((c["json"] or {}).get("text") == "您好"
                                            for c in w.fake_rasa.calls("/webhooks/socketio/agent"))),
    "transfer": RouteCase("POST", lambda w: f"/desk/handoffs/{w.claimed}/transfer", data={"group": "综合"},
                          effect=lambda w: handoff_status(w, w.claimed)[1] == "综合"),
    "resolve": RouteCase("POST", lambda w: f"/desk/handoffs/{w.claimed}/resolve", data={"note": "已处理"},
                         effect=lambda w: handoff_status(w, w.claimed)[0] == "resolved"),
    "ticket_status": RouteCase("POST", lambda w: f"/desk/tickets/{w.ticket}/status", data={"status": "已派单"},
                               effect=lambda w: ticket_state(w)[0] == "已派单"),
    "ticket_note": RouteCase("POST", lambda w: f"/desk/tickets/{w.ticket}/notes", data={"note": "已致电客户"},
                             effect=lambda w: ticket_state(w)[1] == 1),
    "review": RouteCase("GET", lambda w: "/desk/review/"),
    # Dialogue review (desk/review.py): a conversation that is not in the tracker store -> 404 when allowed.
    "review_conversations": RouteCase("GET", lambda w: "/desk/review/conversations"),
    "review_conversation": RouteCase("GET", lambda w: "/desk/review/conversation?id=no-such-conversation",
                                     ok_codes=(404,)),
    "review_story": RouteCase("POST", lambda w: "/desk/review/stories", ok_codes=(404,),
                              json={"conversation_id": "no-such-conversation", "step": 1, "action": "utter_greet"}),
    "unlock_account": RouteCase("POST", lambda w: "/desk/agents/li/unlock", data={}),
    "followups": RouteCase("GET", lambda w: "/desk/followups"),  # agents: their groups' items only
    "followups_close": RouteCase("POST", lambda w: "/desk/followups/close", data={"scope": "stale"}),
    "analytics": RouteCase("GET", lambda w: "/desk/analytics/"),
    "care_maintenance": RouteCase("GET", lambda w: "/desk/care/maintenance"),
    "care_maintenance_csv": RouteCase("GET", lambda w: "/desk/care/maintenance.csv"),
    "care_surveys": RouteCase("GET", lambda w: "/desk/care/surveys"),
    "care_survey_record": RouteCase("POST", lambda w: f"/desk/care/surveys/{w.resolved}", data={"score": "4"},
                                    effect=surveyed),
}

#                      group   other   boss    trainer anon
TABLE = {
    "queue":            ("ok",   "ok",   "ok",   "deny", "deny"),
    "queue_group_tab":  ("ok",   "deny", "ok",   "deny", "deny"),
    "queue_rows_group": ("ok",   "deny", "ok",   "deny", "deny"),
    "heartbeat":        ("ok",   "ok",   "ok",   "deny", "deny"),
    "supervisor":       ("deny", "deny", "ok",   "deny", "deny"),
    "conversation":     ("ok",   "deny", "ok",   "deny", "deny"),
    "transcript":       ("ok",   "deny", "ok",   "deny", "deny"),
    "claim":            ("ok",   "deny", "ok",   "deny", "deny"),
    "reply":            ("ok",   "deny", "ok",   "deny", "deny"),
    "transfer":         ("ok",   "deny", "ok",   "deny", "deny"),
    "resolve":          ("ok",   "deny", "ok",   "deny", "deny"),
    "ticket_status":    ("ok",   "deny", "ok",   "deny", "deny"),
    "ticket_note":      ("ok",   "deny", "ok",   "deny", "deny"),
    "review":           ("deny", "deny", "ok",   "ok",   "deny"),
    "review_conversations": ("deny", "deny", "ok", "ok",  "deny"),
    "review_conversation":  ("deny", "deny", "ok", "ok",  "deny"),
    "review_story":         ("deny", "deny", "ok", "ok",  "deny"),
    "unlock_account":   ("deny", "deny", "ok",   "deny", "deny"),
    "followups":        ("ok",   "ok",   "ok",   "deny", "deny"),
    "followups_close":  ("deny", "deny", "ok",   "deny", "deny"),
    "analytics":        ("deny", "deny", "ok",   "deny", "deny"),
    "care_maintenance": ("deny", "deny", "ok",   "deny", "deny"),
    "care_maintenance_csv": ("deny", "deny", "ok", "deny", "deny"),
    "care_surveys":     ("ok",   "ok",   "ok",   "deny", "deny"),
    "care_survey_record": ("ok", "ok",   "ok",   "deny", "deny"),
}
CASES = [(route, role, TABLE[route][i]) for route in TABLE for i, role in enumerate(ROLES)]


def test_the_table_covers_every_desk_route():
    from desk.app import create_app

    app = create_app(db_url="sqlite://", session_secret="x")
    paths = {getattr(r, "path", "") for r in app.routes}
    desk_routes = {p for p in paths if p.startswith("/desk/") and p not in ("/desk/static", "/desk/review")}
    covered = {"/desk/", "/desk/queue/rows", "/desk/login", "/desk/logout", "/desk/heartbeat", "/desk/supervisor",
               "/desk/handoffs/{handoff_id:int}", "/desk/handoffs/{handoff_id:int}/transcript",
               "/desk/handoffs/{handoff_id:int}/claim", "/desk/handoffs/{handoff_id:int}/reply",
               "/desk/handoffs/{handoff_id:int}/transfer", "/desk/handoffs/{handoff_id:int}/resolve",
               "/desk/tickets/{ticket_no}/status", "/desk/tickets/{ticket_no}/notes", "/desk/agents/{username}/unlock",
               "/desk/followups", "/desk/followups/close", "/desk/analytics",
               "/desk/care/maintenance", "/desk/care/maintenance.csv", "/desk/care/surveys",
               "/desk/care/surveys/{ticket_no}"}
    assert desk_routes <= covered, desk_routes - covered  # login/logout are open to all by design
    assert set(TABLE) == set(ROUTES)


def denied(response) -> bool:
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.status_code == 303 and ("/desk/login" in location or "/desk/review" in location)


@pytest.mark.parametrize("route, role, expected", CASES, ids=[f"{r}-{o}" for r, o, _ in CASES])
def test_route_by_role(app, world, client_for, route, role, expected):
    case = ROUTES[route]
    if role == "anon":
        client = TestClient(app)
        client.csrf = csrf_of(client.get("/desk/login").text)
    else:
        client = client_for(USER[role])
    kwargs = {"headers": {"X-CSRF-Token": client.csrf}, "follow_redirects": False}
    if case.data is not None:
        kwargs["data"] = case.data
    if case.json is not None:
        kwargs["json"] = case.json
    response = client.request(case.method, case.path(world), **kwargs)
    if expected == "ok":
        assert not denied(response) and response.status_code in case.ok_codes, (response.status_code, response.text[:200])
        if case.effect:
            assert case.effect(world), f"{route} as {role} answered {response.status_code} but did nothing"
    else:
        assert denied(response), (response.status_code, response.headers.get("location"), response.text[:200])
        if case.effect:
            assert not case.effect(world), f"{route} as {role} was refused but happened anyway"
