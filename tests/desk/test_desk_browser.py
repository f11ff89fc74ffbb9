"""The desk in a real browser: log in, claim with the keyboard, reply, resolve.

The desk runs as `python -m desk` in a subprocess (free port, temporary SQLite file),
talking to a fake Rasa server in this process. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from desk.auth import create_agent
from browser_support import chromium, desk_process, submit_login
from desk_support import PASSWORD, RASA_TOKEN, start_fake_rasa
from kefu import clock
from kefu import db
from kefu.escalation import Decision
from kefu.services import handoffs, tickets
from kefu.services.tickets import TicketRequest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
XSS = "<img src=x onerror=alert(1)>"


def seed(url: str, fake) -> int:
    """A realistic queue in the migrated database ``url``; returns the id of the complaint the test works on."""
    now = clock.now()
    with db.session_scope(url) as session:
        create_agent(session, username="zhang", display_name="张敏", password=PASSWORD,
                     role="agent", groups=["投诉专席", "综合"])
        boss = create_agent(session, username="boss", display_name="赵主管", password=PASSWORD,
                            role="supervisor", groups=["投诉专席", "维修调度", "VIP专席", "综合"])
        handoffs.heartbeat(session, boss, now=now)  # someone on duty: the chats are queued, not offered a call-back
        ticket = tickets.create_ticket(session, TicketRequest(
            type="repair", phone="13812345678", product="空调", product_model="KFR-35GW/BpR3",
            fault="不制冷", description="空调不制冷，师傅两次上门没修好", address="北京市朝阳区望京街道8号",
        ), now=now - dt.timedelta(days=4)).ticket

        def add(conv, decision, minutes, messages, **kwargs):
            result = handoffs.queue_handoff(session, conversation_id=conv, decision=decision,
                                            now=now - dt.timedelta(minutes=minutes), messages=messages, **kwargs)
            fake.events[conv] = [
                {"event": "user" if m["role"] == "customer" else "bot", "text": m["text"],
                 "timestamp": (now - dt.timedelta(minutes=minutes, seconds=30 - i)).timestamp()}
                for i, m in enumerate(messages)
            ] + [{"event": "pause", "timestamp": (now - dt.timedelta(minutes=minutes)).timestamp()}]
            return result.handoff.id

        complaint = add(
            "web-7f3a", Decision("complaint_severe", "投诉专席", "高",
                                 "客户扬言向 12315/消协/媒体/律师等外部投诉，或言辞激烈、情绪即将爆发：先处理情绪，再处理诉求",
                                 ("12315", "曝光")),
            6,
            [{"role": "customer", "text": "我的空调修了两次还是不制冷"},
             {"role": "bot", "text": "非常抱歉给您带来不便，我先帮您查一下工单。"},
             {"role": "customer", "text": f"别查了！再不解决我就打12315，还要找媒体曝光你们 {XSS}"}],
            intent="complain", ticket_no=ticket.ticket_no,
            slots={"product": "空调", "product_model": "KFR-35GW/BpR3", "phone": "13812345678",
                   "complaint_detail": "两次上门未修好", "complaint_demand": "换新机"},
        )
        add("web-91c2", Decision("human_request", "综合", "普通", "客户要求转人工服务"), 2,
            [{"role": "customer", "text": "人工"}, {"role": "bot", "text": "我可以先帮您看看吗？"},
             {"role": "customer", "text": "转人工"}], intent="request_human")
        add("web-02bd", Decision("vip_complaint", "VIP专席", "高", "VIP 客户投诉或明显不满，请专席优先安抚处理"), 9,
            [{"role": "customer", "text": "安装师傅把墙弄脏了也不管"}], intent="complain", customer_tier="VIP")
        add("web-5e10", Decision("fallback_twice", "综合", "普通", "机器人连续两次没有理解客户的问题"), 1,
            [{"role": "customer", "text": "你们那个以旧换新的补贴到底怎么算的"}], intent="nlu_fallback")
        add("web-c4d8", Decision("repeat_complaint", "投诉专席", "高", "30 天内重复投诉：之前的问题可能没有解决，请查看历史工单"), 14,
            [{"role": "customer", "text": "上个月投诉的热水器问题到现在也没人处理"}], intent="complain", customer_tier="金卡")
        handoffs.sign_off(session, boss.id)  # off again: the test counts who is online
    db.dispose_engines()
    return complaint


@pytest.fixture
def desk_server(tmp_path, migrated_sqlite):
    fake, rasa_server = start_fake_rasa()
    url = migrated_sqlite(tmp_path / "desk.db")
    complaint = seed(url, fake)
    env = {"KEFU_DATABASE_URL": url, "KEFU_RASA_URL": fake.url, "KEFU_RASA_TOKEN": RASA_TOKEN,
           "KEFU_SESSION_SECRET": "browser-test-secret", "KEFU_VAR_DIR": str(tmp_path / "var"),
           # The desk runs on the tests' pinned clock (agent hours), from the moment of the seed on.
           "KEFU_ALLOW_FAKE_CLOCK": "1", "KEFU_FAKE_NOW": clock.now().isoformat()}
    try:
        with desk_process(env, tmp_path / "desk.log") as base:
            yield base, fake, complaint
    finally:
        rasa_server.shutdown()
        rasa_server.server_close()


@pytest.mark.timeout(180)
def test_login_claim_reply_resolve_in_a_browser(desk_server):
    base, fake, complaint = desk_server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dialogs = []
    with sync_playwright() as p:
        browser = chromium(p, "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           "--no-first-run")
        page = browser.new_page(viewport={"width": 1440, "height": 860}, locale="zh-CN")
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        page.goto(f"{base}/desk/")
        expect(page).to_have_url(f"{base}/desk/login?next=%2Fdesk%2F")
        page.fill("input[name=username]", "zhang")
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        expect(page.locator(".flash.error")).to_contain_text("用户名或密码错误")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/desk/")

        rows = page.locator("#queue-waiting tr.row")
        expect(rows).to_have_count(4)  # 投诉专席 + 综合; the VIP desk's is not zhang's
        expect(rows.first).to_have_class("row selected")
        expect(page.locator("#queue-waiting")).to_contain_text(XSS)  # shown as text
        expect(page.locator("#presence")).to_have_text("在线")
        expect(page.locator(".stats-line")).to_contain_text("投诉专席 1")  # the heartbeat counts us in
        page.screenshot(path=str(ARTIFACTS / "desk_queue.png"), full_page=True)

        # Keyboard: j/k move, Enter claims. Order: 高 before 普通, longest wait first.
        page.keyboard.press("j")
        page.keyboard.press("j")
        page.keyboard.press("k")
        expect(rows.nth(1)).to_have_class("row selected")
        expect(rows.nth(1)).to_have_attribute("data-id", str(complaint))
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/desk/handoffs/{complaint}")
        assert fake.calls("/webhooks/socketio/agent")[0]["json"]["kind"] == "joined"

        transcript = page.locator("#transcript")
        expect(transcript).to_contain_text("我的空调修了两次还是不制冷")
        expect(transcript).to_contain_text(XSS)
        assert page.locator("#transcript img").count() == 0
        expect(page.locator(".reminders")).to_contain_text("十诫")
        expect(page.locator(".reason-box")).to_contain_text("12315")

        page.locator("#reply").fill("您好，我是客服张敏，非常理解您的心情，我马上为您安排换新评估。")
        page.keyboard.press("Control+Enter")
        expect(transcript.locator(".msg.agent")).to_contain_text("马上为您安排换新评估")
        sent = fake.calls("/webhooks/socketio/agent")[-1]["json"]
        assert sent["kind"] == "text" and sent["agent"] == {"id": "zhang", "name": "张敏"}

        fake.add_user("web-7f3a", "好的，那我等你们电话")  # the customer answers: shown live
        expect(transcript).to_contain_text("那我等你们电话", timeout=5000)
        page.locator("#reply").fill("好的，")
        page.keyboard.press("Alt+3")
        expect(page.locator("#reply")).to_have_value("好的，请您稍等，我马上为您核实。")
        page.screenshot(path=str(ARTIFACTS / "desk_conversation.png"))

        page.fill("#resolve-form input[name=note]", "已安抚客户，申请换新，明天上午回电")
        page.click("#resolve-form button[type=submit]")
        expect(page).to_have_url(f"{base}/desk/")
        expect(page.locator(".flash.ok")).to_contain_text("已交回机器人")
        assert [c["json"] for c in fake.calls("/tracker/events")] == [[{"event": "resume"}, {"event": "action", "name": "action_listen"}]]
        assert fake.calls("/trigger_intent")[0]["json"]["name"] == "EXTERNAL_handoff_resolved"

        # The supervisor's view: long waits and overdue tickets.
        page.click("button:has-text('退出')")
        expect(page).to_have_url(f"{base}/desk/login")
        submit_login(page, "boss", PASSWORD)
        page.click("nav.nav a:has-text('督办看板')")
        expect(page.locator("main")).to_contain_text("排队超过 10 分钟")
        expect(page.locator("main")).to_contain_text("上个月投诉的热水器问题")
        expect(page.locator("main")).to_contain_text("处理超时")
        expect(page.locator(".stat").first).to_contain_text("1投诉专席")  # zhang signed off
        page.screenshot(path=str(ARTIFACTS / "desk_supervisor.png"), full_page=True)
        browser.close()
    assert dialogs == []  # no injected script ran
