"""Dialogue review on the desk (desk/review.py /conversations, /conversation, /stories) on a tiny project.

Flagged conversations -> one conversation step by step -> the trainer marks the wrong step,
picks the right action -> a story in data/stories/reviewed.yml, checked by `rasa data validate`.
"""
from __future__ import annotations

import html
import re
import time

import pytest
import yaml
from starlette.testclient import TestClient

from kefu.training import stories
from tests.training.conftest import Script, save
from tests.training.test_trainer_review_page import csrf_token, login


@pytest.fixture
def desk(review_app, sqlite_tracker_url):
    now = time.time()
    # 你好 was answered with goodbye (a dialogue bug); then 空调坏了 fell back.
    save(sqlite_tracker_url, "web-bad-greet", Script(now - 900)
         .user("你好", "greet", 0.97).action("utter_goodbye").bot("感谢您的咨询，再见！").listen()
         .user("空调坏了", "report_repair", 0.41).action("action_default_fallback").bot("不好意思，我没听懂").listen())
    # A conversation whose customer text is a held-out text.
    save(sqlite_tracker_url, "web-holdout", Script(now - 600)
         .user("怎么还没人来", "urge_ticket", 0.5).action("utter_goodbye").listen())
    save(sqlite_tracker_url, "web-fine", Script(now - 300)
         .user("你好", "greet", 0.99).action("utter_greet").listen())
    return TestClient(review_app("review-conv-test"))


def step_of(page_text: str, kind: str, name: str) -> int:
    for li in re.findall(r"<li class=\"turn[^\"]*\" data-step=\"(\d+)\" data-kind=\"(\w+)\"[^>]*?data-(?:intent|action)=\"([^\"]*)\"",
                         page_text):
        if li[1] == kind and li[2] == name:
            return int(li[0])
    raise AssertionError(f"no {kind} {name} on the page")


def test_only_trainers_and_supervisors(desk):
    response = desk.get("/desk/review/conversations", follow_redirects=False)
    assert response.status_code == 303 and "/desk/login" in response.headers["location"]
    assert desk.post("/desk/review/stories", json={}).status_code in (401, 403)
    login(desk, "agent1")
    assert desk.get("/desk/review/conversations").status_code == 403
    assert desk.get("/desk/review/conversation", params={"id": "web-bad-greet"}).status_code == 403
    token = csrf_token(desk.get("/desk/"))
    response = desk.post("/desk/review/stories", headers={"X-CSRF-Token": token},
                         json={"conversation_id": "web-bad-greet", "step": 1, "action": "utter_greet"})
    assert response.status_code == 403
    login(desk, "boss")
    assert desk.get("/desk/review/conversations").status_code == 200


def test_flagged_conversations_listed_and_paginated(desk, sqlite_tracker_url, monkeypatch):
    login(desk, "trainer1")
    page = desk.get("/desk/review/conversations")
    assert page.status_code == 200 and "style=" not in page.text
    ids = re.findall(r'<tr class="conversation-row[^"]*" data-id="([^"]+)"', page.text)
    assert ids == ["web-holdout", "web-bad-greet"]  # most recent first; web-fine has no flag
    assert "兜底回复" in page.text and "低置信度" in page.text
    monkeypatch.setattr("desk.review.PAGE_SIZE", 1)
    second = desk.get("/desk/review/conversations", params={"page": 2})
    assert re.findall(r'data-id="([^"]+)"', second.text) == ["web-bad-greet"] and "第 2 / 2 页" in second.text
    only = desk.get("/desk/review/conversations", params={"flag": "fallback"})
    assert re.findall(r'<tr class="conversation-row[^"]*" data-id="([^"]+)"', only.text) == ["web-bad-greet"]


def test_the_conversation_shows_messages_actions_and_domain_choices(desk):
    login(desk, "trainer1")
    page = desk.get("/desk/review/conversation", params={"id": "web-bad-greet"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "你好" in text and "感谢您的咨询，再见！" in text and "utter_goodbye" in text
    assert "action_default_fallback" in text and "不好意思，我没听懂" in text
    assert '<option value="utter_greet">utter_greet · 您好，这里是暖风家电售后服务中心' in text  # domain responses
    assert '<option value="nlu_fallback">' not in text  # not an intent to learn
    assert "<script src=\"conversations.js\"></script>" in page.text
    assert desk.get("/desk/review/conversations.js").headers["content-type"].startswith("text/javascript")
    assert desk.get("/desk/review/conversation", params={"id": "nobody"}).status_code == 404


def test_saving_a_correction_writes_a_validated_story(desk, project):
    login(desk, "trainer1")
    page = desk.get("/desk/review/conversation", params={"id": "web-bad-greet"})
    token = csrf_token(page)
    wrong = step_of(page.text, "action", "utter_goodbye")
    body = {"conversation_id": "web-bad-greet", "step": wrong, "action": "utter_greet"}
    assert desk.post("/desk/review/stories", json=body).status_code == 403  # no CSRF token
    response = desk.post("/desk/review/stories", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "added" and response.json()["file"] == "data/stories/reviewed.yml"
    path = project.data / "stories" / "reviewed.yml"
    data = yaml.safe_load(path.read_text("utf-8"))
    [story] = data["stories"]
    assert story["steps"] == [{"intent": "greet"}, {"action": "utter_greet"}]
    assert story["metadata"]["conversation"] == "web-bad-greet" and story["metadata"]["reviewed_by"] == "trainer1"
    assert story["metadata"]["replaced_action"] == "utter_goodbye"
    # The same correction again: nothing new.
    again = desk.post("/desk/review/stories", json=body, headers={"X-CSRF-Token": token})
    assert again.json()["status"] == "exists" and len(yaml.safe_load(path.read_text("utf-8"))["stories"]) == 1
    # The list marks the conversation as corrected.
    assert "已纠正" in desk.get("/desk/review/conversations").text


def test_refusals_write_nothing(desk, project):
    login(desk, "trainer1")
    token = csrf_token(desk.get("/desk/review/conversations"))
    headers = {"X-CSRF-Token": token}
    path = project.data / "stories" / "reviewed.yml"
    response = desk.post("/desk/review/stories", headers=headers,
                         json={"conversation_id": "web-holdout", "step": 1, "action": "utter_urge"})
    assert response.status_code == 409 and response.json()["reason"] == "holdout"
    assert "怎么还没人来" in response.json()["message"] and "holdout.yml" in response.json()["message"]
    response = desk.post("/desk/review/stories", headers=headers,
                         json={"conversation_id": "web-bad-greet", "step": 1, "action": "utter_nonexistent"})
    assert response.status_code == 400 and response.json()["reason"] == "unknown_action"
    response = desk.post("/desk/review/stories", headers=headers,
                         json={"conversation_id": "nobody", "step": 1, "action": "utter_greet"})
    assert response.status_code == 404
    response = desk.post("/desk/review/stories", headers=headers,
                         json={"conversation_id": "web-bad-greet", "step": "1", "action": "utter_greet"})
    assert response.status_code == 400
    assert not path.exists()


def test_rasa_validation_refuses_a_conflicting_story(desk, project):
    """Two corrections of the same history with different next actions: Rasa's story-structure check refuses the second."""
    login(desk, "trainer1")
    page = desk.get("/desk/review/conversation", params={"id": "web-bad-greet"})
    headers = {"X-CSRF-Token": csrf_token(page)}
    wrong = step_of(page.text, "action", "utter_goodbye")
    path = project.data / "stories" / "reviewed.yml"  # an earlier correction: greet -> utter_greet
    path.parent.mkdir(parents=True)
    path.write_text(stories.new_file_text() + stories.story_block(
        {"story": "earlier", "steps": [{"intent": "greet"}, {"action": "utter_greet"}]}), encoding="utf-8")
    before = path.read_text("utf-8")
    second = desk.post("/desk/review/stories", headers=headers,
                       json={"conversation_id": "web-bad-greet", "step": wrong, "action": "utter_query"})
    assert second.status_code == 409 and second.json()["reason"] == "invalid", second.text
    assert second.json()["message"].startswith("Rasa 数据校验未通过，未写入：Story structure conflict after intent 'greet'")
    assert path.read_text("utf-8") == before


def test_the_builder_can_be_used_without_the_desk(project):
    steps = stories.steps_from_events([
        {"event": "user", "text": "空调坏了", "parse_data": {"intent": {"name": "report_repair", "confidence": 0.4}}},
        {"event": "action", "name": "utter_goodbye"}])
    saved = stories.save_correction(project, steps, stories.Correction("cli-1", 1, "utter_repair"), actor="cli",
                                    validator=lambda project, text: (True, ""))
    assert saved.status == "added"
    assert stories.read_stories(stories.reviewed_stories_file(project))[0]["steps"] == [
        {"intent": "report_repair"}, {"action": "utter_repair"}]


def test_a_story_that_contradicts_a_rule_is_refused(desk, project):
    """`rasa train` would stop on it (RulePolicy's contradiction check): refused before it is written."""
    login(desk, "trainer1")
    page = desk.get("/desk/review/conversation", params={"id": "web-bad-greet"})
    wrong = step_of(page.text, "action", "utter_goodbye")
    response = desk.post("/desk/review/stories", headers={"X-CSRF-Token": csrf_token(page)},
                         json={"conversation_id": "web-bad-greet", "step": wrong, "action": "utter_query"})
    assert response.status_code == 409 and response.json()["reason"] == "invalid", response.text
    assert "contradicting with rule(s) 'answer greet'" in response.json()["message"]
    assert not (project.data / "stories" / "reviewed.yml").exists()
