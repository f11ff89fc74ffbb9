"""The desk's review page (desk/review.py) mounted in a Starlette app with the desk's session login."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import time

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from desk import review, web
from desk.auth import authenticate, create_agent
from kefu import db
from kefu.escalation.desk_config import desk_config
from rasa.shared.nlu.training_data.loading import load_data
from tests.training.conftest import Script, save


def make_app(db_url: str, project, tracker_url: str) -> Starlette:
    """Like the desk app: session cookie, /desk/login, and the review router mounted."""

    async def login(request: Request):
        if request.method == "GET":
            return PlainTextResponse("login page")
        form = await request.form()

        def check(session):
            agent = authenticate(session, form["username"], form["password"])
            return agent.id if agent else None

        agent_id = await web.in_db(request, check)
        if agent_id is None:
            return PlainTextResponse("bad login", 401)
        agent = await web.in_db(request, lambda s: web._load_agent(s, agent_id))
        web.log_in(request, agent)
        return RedirectResponse(web.safe_next(form.get("next")), 303)

    app = Starlette(
        routes=[Route("/desk/login", login, methods=["GET", "POST"], name="login"),
                Mount("/desk/review", routes=review.routes(project, tracker_url))],
        middleware=[Middleware(SessionMiddleware, secret_key="review-test", same_site="strict")],
    )
    app.state.config = desk_config()
    app.state.clock = lambda: dt.datetime.now(dt.timezone.utc)
    app.state.db_url = db_url
    return app


@pytest.fixture
def desk(tmp_path, project, sqlite_tracker_url):
    db_url = f"sqlite:///{tmp_path / 'kefu.db'}"
    db.migrate(db_url)
    with db.session_scope(db_url) as session:
        create_agent(session, username="trainer1", display_name="培训师小李", password="correct horse", role="trainer")
        create_agent(session, username="agent1", display_name="坐席小王", password="correct horse", role="agent")
    now = time.time()
    save(sqlite_tracker_url, "c1", Script(now - 3000)
         .user("空调维修到哪了", "report_repair", 0.52,
               ranking=[{"name": "report_repair", "confidence": 0.52}, {"name": "query_ticket", "confidence": 0.46}])
         .action("utter_repair").listen()
         .user("我的电话是13812345678 明天下午在家", "inform", 0.4,
               entities=[{"entity": "phone", "start": 5, "end": 16, "value": "13812345678"},
                         {"entity": "time", "start": 17, "end": 21, "value": "明天下午"}])
         .slot("phone", "13812345678").listen()
         .user("怎么还没人来", "urge_ticket", 0.5).listen()  # a holdout text
         .user("你好", "greet", 0.99).listen())
    client = TestClient(make_app(db_url, project, sqlite_tracker_url))
    yield client
    db.dispose_engines()


def login(client, username):
    response = client.post("/desk/login", data={"username": username, "password": "correct horse"},
                           follow_redirects=False)
    assert response.status_code == 303


def page_rows(response):
    return [json.loads(html.unescape(m)) for m in re.findall(r"data-row='([^']*)'", response.text)]


def csrf_token(response):
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', response.text).group(1)


def test_only_trainers_and_supervisors(desk):
    response = desk.get("/desk/review/", follow_redirects=False)
    assert response.status_code == 303 and "/desk/login?next=" in response.headers["location"]
    assert desk.get("/desk/review/messages").status_code == 401
    login(desk, "agent1")
    assert desk.get("/desk/review/").status_code == 403
    assert desk.post("/desk/review/accept", json={"text": "x", "intent": "greet"}).status_code == 403


def test_flagged_messages_lowest_confidence_first_and_masked(desk):
    login(desk, "trainer1")
    response = desk.get("/desk/review/")
    assert response.status_code == 200
    rows = page_rows(response)
    assert [(r["text"], r["intent"]) for r in rows] == [
        ("我的电话是13800000000 明天下午在家", "inform"),
        ("怎么还没人来", "urge_ticket"),
        ("空调维修到哪了", "report_repair"),
    ]  # 你好 (0.99) carries no flag
    assert "13812345678" not in response.text
    assert rows[1]["holdout"] is True and "测试集（holdout）" in response.text
    assert rows[0]["annotatable"] == [1]  # time (DIET) can be annotated; phone comes from the regex
    assert "改为 query_ticket" in response.text  # one click for the runner-up intent
    data = desk.get("/desk/review/messages", params={"threshold": "0.45"}).json()
    assert [r["text"] for r in data["rows"]] == ["我的电话是13800000000 明天下午在家"]
    assert desk.get("/desk/review/review.js").headers["content-type"].startswith("text/javascript")


def test_one_click_accept_writes_the_training_file(desk, project):
    login(desk, "trainer1")
    page = desk.get("/desk/review/")
    token = csrf_token(page)
    body = {"text": "空调维修到哪了", "intent": "query_ticket", "entities": []}
    assert desk.post("/desk/review/accept", json=body).status_code == 403  # no CSRF token
    response = desk.post("/desk/review/accept", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 200 and response.json()["status"] == "added"
    assert response.json()["message"] == "已加入训练数据"
    # With the entity the trainer kept (time) and the automatic one (phone) dropped.
    row = page_rows(page)[0]
    response = desk.post("/desk/review/accept", headers={"X-CSRF-Token": token}, json={
        "text": row["text"], "intent": "inform", "entities": row["entities"]})
    assert response.json()["dropped_entities"] == ["phone"]
    # The holdout text is refused.
    response = desk.post("/desk/review/accept", headers={"X-CSRF-Token": token},
                         json={"text": "怎么还没人来", "intent": "urge_ticket"})
    assert response.status_code == 409 and response.json()["reason"] == "holdout"

    examples = {(e.get("text"), e.get("intent")) for e in load_data(str(project.reviewed_file)).training_examples}
    assert examples == {("空调维修到哪了", "query_ticket"), ("我的电话是13800000000 明天下午在家", "inform")}
    assert "    - 我的电话是13800000000 [明天下午](time)在家\n" in project.reviewed_file.read_text("utf-8")
    # Accepted messages leave the list; the refused holdout text stays (marked).
    assert [r["text"] for r in page_rows(desk.get("/desk/review/"))] == ["怎么还没人来"]


def test_ignore_takes_a_message_off_the_list(desk, project):
    login(desk, "trainer1")
    token = csrf_token(desk.get("/desk/review/"))
    response = desk.post("/desk/review/ignore", json={"text": "怎么还没人来"}, headers={"X-CSRF-Token": token})
    assert response.json()["status"] == "ignored"
    assert "怎么还没人来" not in [r["text"] for r in page_rows(desk.get("/desk/review/"))]
    assert not project.reviewed_file.exists()
    assert desk.post("/desk/review/ignore", json={"text": "  "}, headers={"X-CSRF-Token": token}).status_code == 400


def test_state_changing_routes_are_csrf_protected():
    for route in review.routes():
        if "POST" in (route.methods or ()):
            assert getattr(route.endpoint, "csrf_protected", False), route.path
