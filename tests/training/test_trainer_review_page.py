"""The review page (desk/review.py) mounted into the real desk app (desk.app.create_app): login, roles, CSRF."""
from __future__ import annotations

import html
import json
import re
import time

import pytest
from starlette.testclient import TestClient

from desk import review
from rasa.shared.nlu.training_data.loading import load_data
from tests.training.conftest import REVIEW_PASSWORD, Script, save


@pytest.fixture
def desk(review_app, sqlite_tracker_url):
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
    return TestClient(review_app("review-test"))


def login(client, username):
    page = client.get("/desk/login")
    response = client.post("/desk/login", data={"username": username, "password": REVIEW_PASSWORD,
                                                "csrf_token": csrf_token(page), "next": "/desk/"},
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
    assert "style=" not in response.text and "<style" not in response.text  # the desk's CSP: no inline styles
    assert "<script src=\"review.js\"></script>" in response.text
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
    # "message contains" (the analytics page's not-understood links): normalised, on the masked text
    assert [r["text"] for r in page_rows(desk.get("/desk/review/", params={"q": "没人来！"}))] == ["怎么还没人来"]
    assert page_rows(desk.get("/desk/review/", params={"q": "13812345678"})) == []
    assert desk.get("/desk/review/review.js").headers["content-type"].startswith("text/javascript")
    assert desk.get("/desk/review/review.css").headers["content-type"].startswith("text/css")
    assert "script-src 'self'" in response.headers["content-security-policy"]  # served inside the desk app


def test_supervisors_may_review_too(desk):
    login(desk, "boss")
    assert desk.get("/desk/review/").status_code == 200


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
