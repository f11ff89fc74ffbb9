"""The review page in a real browser (Chromium): the desk's CSP, entity marking, one-click accept.

The desk app (desk.app.create_app, review router mounted) runs under uvicorn in a thread;
the screenshot goes to tests/artifacts/review_page.png.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from browser_support import chromium, served_in_thread, submit_login
from tests.training.conftest import REVIEW_PASSWORD, Script, save

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def desk_url(review_app, sqlite_tracker_url):
    now = time.time()
    save(sqlite_tracker_url, "web-7f3a", Script(now - 600)
         .user("空调维修到哪了", "report_repair", 0.52,
               ranking=[{"name": "report_repair", "confidence": 0.52}, {"name": "query_ticket", "confidence": 0.46}])
         .action("utter_repair").listen()
         .user("师傅周六上午能来吗 <b>急</b>", "urge_ticket", 0.55).listen()
         .user("我叫王小明 电话13812345678", "inform", 0.58,
               entities=[{"entity": "person_name", "start": 2, "end": 5, "value": "王小明"}]).listen())
    with served_in_thread(review_app("review-browser")) as url:
        yield url


@pytest.mark.timeout(180)
def test_review_page_in_a_browser(desk_url, project):
    errors = []
    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{desk_url}/desk/review/")
        submit_login(page, "trainer1", REVIEW_PASSWORD)
        expect(page).to_have_url(f"{desk_url}/desk/review/")
        rows = page.locator("tr.review-row")
        expect(rows).to_have_count(3)

        # Masked text, the person_name entity highlighted by the script (CSP allows it).
        name_row = rows.filter(has_text="13800000000")
        expect(name_row.locator(".review-text")).to_have_text("我叫张三 电话13800000000")
        expect(name_row.locator(".ent-person_name")).to_have_text("张三")
        # Customer text is text, not markup.
        urge_row = rows.filter(has_text="周六上午")
        expect(urge_row.locator(".review-text")).to_have_text("师傅周六上午能来吗 <b>急</b>")

        # Mark 周六上午 as a time: select it, click 时间; then accept the predicted intent.
        page.evaluate("""() => {
            const el = [...document.querySelectorAll('.review-text')].find(e => e.textContent.includes('周六上午'));
            const node = el.firstChild, start = node.textContent.indexOf('周六上午');
            const range = document.createRange();
            range.setStart(node, start); range.setEnd(node, start + 4);
            const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
        }""")
        urge_row.locator("button.mark-entity[data-entity=time]").click()
        expect(urge_row.locator(".ent-time")).to_have_text("周六上午")
        urge_row.locator("button.accept").first.click()
        expect(urge_row.locator(".review-result")).to_have_text("已加入训练数据")

        # One click on the runner-up intent.
        repair_row = rows.filter(has_text="空调维修到哪了")
        repair_row.locator("button.accept", has_text="改为 query_ticket").click()
        expect(repair_row.locator(".review-result")).to_have_text("已加入训练数据")
        expect(repair_row).to_have_class("review-row done")

        (ROOT / "tests" / "artifacts").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ROOT / "tests" / "artifacts" / "review_page.png"), full_page=True)
        browser.close()
    assert errors == []
    content = project.reviewed_file.read_text("utf-8")
    assert "- intent: query_ticket\n  examples: |\n    - 空调维修到哪了\n" in content
    assert "    - 师傅[周六上午](time)能来吗 <b>急</b>\n" in content
