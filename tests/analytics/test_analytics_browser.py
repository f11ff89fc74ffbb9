"""The analytics page in a real browser, as a supervisor, on the hand-computed data set.

The desk runs as `python -m desk` (SQLite file, tracker in its var dir, product clock
pinned to Monday 2026-12-07 10:00 Beijing). Screenshots go to docs/images/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

import dataset
from browser_support import chromium, desk_process, free_port, submit_login
from kefu import clock, db
from moments import MONDAY_10_BEIJING

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"


@pytest.fixture
def desk_server(tmp_path, migrated_sqlite):
    var = tmp_path / "var"
    var.mkdir()
    url = migrated_sqlite(tmp_path / "kefu.db")
    with clock.pin(MONDAY_10_BEIJING):
        dataset.load_service(url)
    dataset.load_tracker(f"sqlite:///{var / 'tracker.db'}")
    db.dispose_engines()
    env = {"KEFU_DATABASE_URL": url, "KEFU_VAR_DIR": str(var), "KEFU_SESSION_SECRET": "analytics-browser",
           "KEFU_RASA_URL": "http://127.0.0.1:9", "KEFU_RASA_TOKEN": "unused",
           "KEFU_ALLOW_FAKE_CLOCK": "1", "KEFU_FAKE_NOW": MONDAY_10_BEIJING.isoformat()}
    with desk_process(env, tmp_path / "desk.log", port=free_port(int(os.environ.get("KEFU_E2E_WEB_PORT", "0")))) as base:
        yield base


def cells(page, panel: str, row: int):
    return page.locator(f"#panel-{panel} table tbody tr").nth(row).locator("td")


@pytest.mark.timeout(420)
def test_supervisor_reads_the_dashboard(desk_server, tmp_path):
    base = desk_server
    IMAGES.mkdir(parents=True, exist_ok=True)
    errors = []
    with sync_playwright() as p:
        browser = chromium(p, "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           "--no-first-run")
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN", accept_downloads=True)
        page.on("pageerror", lambda e: errors.append(str(e)))
        # No Rasa runs here: the desk's health banner polling /healthz/full gets 503 (expected);
        # every other failed response is recorded by URL below.
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text
                and "status of 503" not in m.text else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith(("/favicon.ico", "/healthz/full")) else None)
        requests = []
        page.on("request", lambda r: requests.append(r.url))

        page.goto(f"{base}/desk/analytics/")
        expect(page).to_have_url(f"{base}/desk/login?next=%2Fdesk%2Fanalytics%2F")
        submit_login(page, "boss", dataset.PASSWORD)
        expect(page).to_have_url(f"{base}/desk/analytics/")
        expect(page.locator("nav.nav a.active")).to_have_text("数据分析")
        expect(page.locator("#an-range")).to_have_text("2026-12-01 至 2026-12-07，按天统计")

        # Figures from tests/analytics/dataset.py, worked out by hand there.
        expect(cells(page, "bot_summary", 0)).to_have_text(["会话数", "3"])
        expect(cells(page, "bot_summary", 3)).to_have_text(["自助解决率 %", "66.7"])
        expect(cells(page, "bot_summary", 4)).to_have_text(["兜底率 %", "25.0"])
        expect(cells(page, "not_understood", 0)).to_have_text(["积分能换什么", "2"])
        expect(page.locator("#panel-not_understood td a")).to_have_attribute(
            "href", "/desk/review/?days=7&flag=fallback&all=1&q=%E7%A7%AF%E5%88%86%E8%83%BD%E6%8D%A2%E4%BB%80%E4%B9%88")
        expect(cells(page, "top_intents", 1)).to_have_text(["nlu_fallback", "2", "25.0"])
        expect(cells(page, "intent_confidence", 3)).to_have_text(["0.3–0.4", "2", "25.0"])
        expect(cells(page, "intent_confidence", 9)).to_have_text(["0.9–1.0", "6", "75.0"])
        expect(cells(page, "conversation_series", 5)).to_have_text(["2026-12-06", "1"])
        expect(cells(page, "forms", 0)).to_have_text(["complaint_form", "1", "0", "1", "0.0", "complaint_detail (1)"])
        expect(cells(page, "handoff_groups", 0)).to_have_text(["合计", "3", "2.0", "6.0", "1", "33.3", "15.0", "0"])
        expect(cells(page, "sla", 2)).to_have_text(["抢修 到场响应", "0", "1", "0", "0", "0.0"])
        expect(cells(page, "csat_summary", 1)).to_have_text(["平均分", "3.5"])
        expect(cells(page, "complaints", 2)).to_have_text(["重复投诉（30 天内同一客户）", "1"])
        # Charts are drawn (ECharts, SVG renderer) from our own static files only.
        expect(page.locator("#panel-ticket_series .an-chart svg")).to_have_count(1)
        expect(page.locator(".an-chart[data-ready='1']")).to_have_count(page.locator(".an-chart").count())
        assert all(u.startswith(base) for u in requests), [u for u in requests if not u.startswith(base)]
        page.screenshot(path=str(IMAGES / "analytics_dashboard.png"), full_page=True)

        # CSV export of the new confidence panel too.
        with page.expect_download() as info:
            page.click("#panel-intent_confidence a.an-csv")
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        assert path.read_text("utf-8-sig").splitlines()[4] == "0.3–0.4,2,25.0"

        # A not-understood message opens the trainer review page on the messages containing it.
        # (the review page loads Rasa's tracker store on its first use: slow on a busy machine)
        page.click("#panel-not_understood td a", no_wait_after=True)
        expect(page).to_have_url(f"{base}/desk/review/?days=7&flag=fallback&all=1"
                                 "&q=%E7%A7%AF%E5%88%86%E8%83%BD%E6%8D%A2%E4%BB%80%E4%B9%88", timeout=150000)
        expect(page.locator("input[name=q]")).to_have_value("积分能换什么")
        texts = page.locator(".review-row .review-text")
        expect(texts.first).to_have_text("积分能换什么", timeout=150000)
        assert set(texts.all_inner_texts()) == {"积分能换什么"}
        page.screenshot(path=str(IMAGES / "analytics_not_understood_review.png"), full_page=False)
        page.go_back()
        expect(page).to_have_url(f"{base}/desk/analytics/")

        # CSV export of one panel.
        with page.expect_download() as info:
            page.click("#panel-handoff_groups a.an-csv")
        download = info.value
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        assert download.suggested_filename == "kefu-handoff_groups-7d-2026-12-01.csv"
        assert path.read_text("utf-8-sig").splitlines()[1] == "合计,3,2.0,6.0,1,33.3,15.0,0"

        # Period picker: "today" submits at once and buckets by hour.
        page.click("label.an-period:has-text('今天')")
        expect(page).to_have_url(f"{base}/desk/analytics/?period=today&start=2026-12-01&end=2026-12-07&type=&group=&channel=")
        expect(page.locator("#an-range")).to_have_text("2026-12-07 至 2026-12-07，按小时统计")
        expect(cells(page, "bot_summary", 0)).to_have_text(["会话数", "1"])
        expect(cells(page, "tickets_by_type", 0)).to_have_text(["安装", "0", "0", "1", "1"])

        # Custom dates and a filter.
        page.fill("input[name=start]", "2026-11-20")
        page.fill("input[name=end]", "2026-12-07")
        page.select_option("select[name=group]", "投诉处理组")
        page.click("#an-filters button[type=submit]")
        expect(page.locator("#an-range")).to_have_text("2026-11-20 至 2026-12-07，按天统计")
        expect(cells(page, "tickets_by_type", 0)).to_have_text(["投诉", "0", "2", "0", "2"])
        expect(cells(page, "complaints", 0)).to_have_text(["投诉工单", "2"])
        page.screenshot(path=str(IMAGES / "analytics_filtered.png"), full_page=False)
        browser.close()
    assert errors == []
