"""The chat widget in headless Chromium against the real running stack
(web app serving the demo page, Rasa server, action server, database)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from benchmarks.widget_load import count_log, log_excerpt
from kefu import db
from kefu.models.service import Ticket

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "widget"))
from widget_driver import TIMEOUT_MS, Chat

from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BOT_TIMEOUT = 30_000  # first replies of a freshly loaded model can take a few seconds on 2 cores


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", timezone_id="Asia/Shanghai")
    errors: list = []
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def demo(page, stack) -> Chat:
    return Chat.open_demo(page, f"{stack.web_url}/widget")


def bot_says(chat: Chat, text: str):
    bubble = chat.bot_bubbles().filter(has_text=text).last
    expect(bubble).to_be_visible(timeout=BOT_TIMEOUT)
    return bubble


def test_full_repair_report_in_the_widget(page, stack):
    chat = demo(page, stack)
    for message, expected in [("你好", "小暖"), ("我家冰箱不制冷了要报修", "型号"), ("不清楚", "地址"),
                              ("广州市天河区体育西路101号2栋803", "手机"), ("13798765432", "时间"), ("后天上午", "工单号")]:
        chat.send(message)
        bot_says(chat, expected)
    card = page.locator(".kf-ticket").last
    expect(card).to_be_visible(timeout=TIMEOUT_MS)
    ticket_no = re.search(r"[A-Z]{2}\d{8}-\d{4}", card.inner_text()).group(0)
    with db.session_scope(stack.db_url) as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        assert ticket.product == "冰箱" and ticket.conversation_id == chat.session_id()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget_real_stack_repair.png"))


def test_ime_composition_does_not_send(page, stack):
    chat = demo(page, stack)
    chat.input.fill("kong")
    chat.input.dispatch_event("compositionstart")
    chat.input.evaluate("el => el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', isComposing: true, bubbles: true}))")
    chat.input.dispatch_event("compositionend")
    page.wait_for_timeout(500)
    assert chat.user_bubbles().count() == 0
    chat.input.fill("空调")
    chat.input.press("Enter")
    expect(chat.user_bubbles()).to_have_count(1)


def test_injection_is_shown_as_text(page, stack):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    chat = demo(page, stack)
    payload = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    chat.send(payload)
    expect(chat.user_bubbles().last).to_have_text(payload)
    page.wait_for_timeout(2000)
    assert dialogs == [] and page.locator("img[src='x']").count() == 0


def test_reload_keeps_the_conversation(page, stack):
    chat = demo(page, stack)
    chat.send("净水器滤芯多久换一次")
    bot_says(chat, "滤芯")
    session = chat.session_id()
    chat.reload()
    assert chat.session_id() == session
    expect(chat.user_bubbles().filter(has_text="净水器滤芯多久换一次")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(chat.bot_bubbles().filter(has_text="滤芯").first).to_be_visible(timeout=TIMEOUT_MS)


def test_agent_reply_appears_with_the_agent_name(page, stack):
    chat = demo(page, stack)
    chat.send("你好")
    bot_says(chat, "小暖")
    token = stack.env["KEFU_RASA_TOKEN"]
    for kind, text in [("joined", ""), ("text", "您好，我是客服李娜，请问有什么可以帮您？")]:
        r = httpx.post(f"{stack.rasa_url}/webhooks/socketio/agent", headers={"Authorization": f"Bearer {token}"},
                       json={"sender_id": chat.session_id(), "kind": kind, "text": text, "agent": {"id": "lina", "name": "李娜"}})
        assert r.status_code == 200
    expect(page.locator(".kf-notice").filter(has_text="李娜")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("您好，我是客服李娜，请问有什么可以帮您？")).to_be_visible(timeout=TIMEOUT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget_real_stack_agent.png"))


def test_server_restart_reconnects_and_delivers_the_queued_message_once(page, stack):
    chat = demo(page, stack)
    chat.send("你好")
    bot_says(chat, "小暖")
    rasa_log = stack.log_dir / "rasa.log"
    offset = rasa_log.stat().st_size
    stack.restart("rasa")  # stops Rasa; the widget must notice and keep what is typed meanwhile
    expect(chat.banner).to_contain_text("重新连接", timeout=BOT_TIMEOUT)
    chat.send("保修期是多久")
    stack.wait_rasa()  # model load: ~1 minute
    bot_says(chat, "保修")
    # engine.io's ping and service tasks end before the loop closes (channels/compat.py)
    assert count_log(rasa_log, offset)["asyncio_errors"] == 0, log_excerpt(rasa_log, offset, "ERROR    asyncio")
    tracker = httpx.get(f"{stack.rasa_url}/conversations/{chat.session_id()}/tracker",
                        params={"token": stack.env["KEFU_RASA_TOKEN"]}).json()
    sent = [e for e in tracker["events"] if e["event"] == "user" and e.get("text") == "保修期是多久"]
    assert len(sent) == 1
