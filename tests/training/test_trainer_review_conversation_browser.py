"""Dialogue review in a real browser (Chromium), as a trainer: open a failed conversation, mark the
wrong step, pick the right response, save -> the story lands in data/stories/reviewed.yml.

Screenshots: docs/images/review_conversation_{list,marked,saved}.png.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect, sync_playwright

from browser_support import chromium, served_in_thread, submit_login
from tests.training.conftest import REVIEW_PASSWORD, Script, save

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"


@pytest.fixture
def desk_url(review_app, sqlite_tracker_url):
    now = time.time()
    save(sqlite_tracker_url, "web-5c21", Script(now - 1200)
         .user("在吗", "greet", 0.93).action("utter_greet").bot("您好，这里是暖风家电售后服务中心，请问有什么可以帮您？").listen()
         .user("你好 我家热水器不出热水了", "greet", 0.48,
               ranking=[{"name": "greet", "confidence": 0.48}, {"name": "report_repair", "confidence": 0.44}])
         .action("utter_greet").bot("您好！请问需要什么帮助？").listen()
         .user("热水器不出热水", "report_repair", 0.52).action("utter_goodbye").bot("感谢您的咨询，再见！").listen())
    save(sqlite_tracker_url, "web-9e07", Script(now - 600)
         .user("查一下我的工单", "query_ticket", 0.91).action("utter_query").bot("我来帮您查询工单进度。").listen()
         .user("嗯", "greet", 0.31).action("action_default_fallback").bot("不好意思，我没听懂").listen())
    with served_in_thread(review_app("review-conv-browser")) as url:
        yield url


@pytest.mark.timeout(240)
def test_trainer_turns_a_failed_conversation_into_a_story(desk_url, project):
    IMAGES.mkdir(parents=True, exist_ok=True)
    errors = []
    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        # The desk's health banner polls /healthz/full: 503 here, as no Rasa/action server runs in this test.
        page.on("console", lambda m: errors.append(m.text)
                if m.type == "error" and "404" not in m.text and "503" not in m.text else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") and "/healthz/" not in r.url else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{desk_url}/desk/review/")
        submit_login(page, "trainer1", REVIEW_PASSWORD)
        expect(page).to_have_url(f"{desk_url}/desk/review/")

        # From the message review to the dialogue review; the failed conversations, most recent first.
        page.click("nav.review-tabs >> text=对话纠正")
        rows = page.locator("tr.conversation-row")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_have_attribute("data-id", "web-9e07")
        page.screenshot(path=str(IMAGES / "review_conversation_list.png"), full_page=True)

        rows.filter(has_text="web-5c21").locator("a.open-conversation").click()
        expect(page.locator("ol.dialogue")).to_have_attribute("data-conversation", "web-5c21")
        turns = page.locator("li.turn[data-step]")
        expect(turns.filter(has_text="感谢您的咨询，再见！")).to_have_count(1)

        # The bot said goodbye to a broken water heater: mark that step, answer with the repair response.
        wrong = turns.filter(has_text="感谢您的咨询，再见！")
        wrong.locator("button.mark-step").click()
        expect(wrong).to_have_class("turn bot marked")
        panel = page.locator("#correction")
        expect(panel).to_be_visible()
        expect(panel.locator(".correction-intent")).to_have_value("report_repair")
        panel.locator(".correction-action").select_option("utter_repair")
        page.screenshot(path=str(IMAGES / "review_conversation_marked.png"), full_page=True)
        panel.locator("button.save-story").click()
        expect(panel.locator(".correction-result")).to_have_text("已保存为训练故事（data/stories/reviewed.yml）",
                                                                 timeout=120_000)
        expect(panel.locator(".correction-story")).to_contain_text("- action: utter_repair")
        page.screenshot(path=str(IMAGES / "review_conversation_saved.png"), full_page=True)
        browser.close()
    assert errors == []
    data = yaml.safe_load((project.data / "stories" / "reviewed.yml").read_text("utf-8"))
    [story] = data["stories"]
    assert story["story"] == "reviewed web-5c21 turn 3"
    assert story["steps"] == [
        {"intent": "greet"}, {"action": "utter_greet"},
        {"intent": "greet"}, {"action": "utter_greet"},
        {"intent": "report_repair"}, {"action": "utter_repair"},
    ]
    assert story["metadata"]["replaced_action"] == "utter_goodbye" and story["metadata"]["reviewed_by"] == "trainer1"
