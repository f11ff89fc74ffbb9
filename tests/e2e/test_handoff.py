"""Escalation and human handoff through the real Rasa server, action server, desk and DB.

A customer threatens to go to 12315 → the rules hand the chat to 投诉专席 → an agent
logged in to the desk claims it, replies (the reply reaches the customer's socket),
reads the customer's answer on the desk, and resolves → the bot takes over again and
asks for satisfaction.
"""
from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from sqlalchemy import select

from desk.auth import create_agent
from e2e_support import Customer
from kefu import db
from kefu.models import Ticket
from kefu.models.desk import Handoff
from moments import MONDAY_03_BEIJING, MONDAY_10_BEIJING, NEW_YEARS_EVE_10_BEIJING

PASSWORD = "e2e correct horse"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def agent_desk(stack):
    with db.session_scope(stack.db_url) as session:
        create_agent(session, username="zhangmin", display_name="张敏", password=PASSWORD, role="agent",
                     groups=["投诉专席"])  # nobody serves 综合: see the call-back test
    client = httpx.Client(base_url=stack.web_url, timeout=30)
    page = client.get("/desk/login")
    r = client.post("/desk/login", data={"username": "zhangmin", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                         "next": "/desk/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    client.csrf = csrf_of(client.get("/desk/").text)  # type: ignore[attr-defined]
    assert client.post("/desk/heartbeat", headers={"X-CSRF-Token": client.csrf}).status_code == 200  # online
    yield client
    client.close()


def test_complaint_threat_is_handed_to_the_complaint_desk_and_back(stack, agent_desk):
    desk = agent_desk

    async def scenario():
        async with Customer(stack.rasa_url) as customer:
            await customer.say("我要去12315投诉你们，修了三次还没好")
            empathy = await customer.next()
            assert "抱歉" in empathy["text"]  # feelings first
            queued = await customer.wait_for(lambda m: "人工客服" in (m.get("text") or ""))
            text = queued["text"]
            assert "投诉专席" in text and ("下一位" in text or "接通" in text), text  # nobody ahead
            queue_card = await customer.wait_for(lambda m: "custom" in m, 10)
            assert queue_card["custom"]["type"] == "queue" and queue_card["custom"]["position"] == 1

            with db.session_scope(stack.db_url) as session:
                handoff = session.execute(select(Handoff).where(Handoff.conversation_id == customer.session_id)).scalar_one()
                handoff_id, group, status = handoff.id, handoff.group_name, handoff.status
                assert "12315" in handoff.summary["terms"]
            assert (group, status) == ("投诉专席", "queued")

            # While paused, the customer's messages are logged, the bot stays silent.
            await customer.say("你们到底管不管")
            with pytest.raises(asyncio.TimeoutError):
                await customer.next(3)

            claim = desk.post(f"/desk/handoffs/{handoff_id}/claim", headers={"X-CSRF-Token": desk.csrf})
            assert claim.status_code in (200, 303), claim.text
            joined = await customer.wait_for(lambda m: "custom" in m, 10)
            assert joined["custom"] == {"type": "agent_joined", "agent_name": "张敏"}

            sent_at = time.monotonic()
            reply = desk.post(f"/desk/handoffs/{handoff_id}/reply", json={"text": "您好，我是投诉专员张敏，非常抱歉"},
                              headers={"X-CSRF-Token": desk.csrf})
            assert reply.status_code == 200, reply.text
            message = await customer.wait_for(lambda m: m.get("agent"), 5)
            latency = time.monotonic() - sent_at
            assert message["text"] == "您好，我是投诉专员张敏，非常抱歉" and message["agent"]["name"] == "张敏"
            assert latency < 1.0, f"agent reply took {latency:.2f}s"

            await customer.say("好的，希望尽快给我换一台")
            texts = []
            for _ in range(20):  # the desk polls the transcript about once a second
                transcript = desk.get(f"/desk/handoffs/{handoff_id}/transcript").json()
                texts = [m.get("text") for m in transcript.get("messages", [])]
                if "好的，希望尽快给我换一台" in texts:
                    break
                await asyncio.sleep(0.5)
            assert "好的，希望尽快给我换一台" in texts and "你们到底管不管" in texts

            resolve = desk.post(f"/desk/handoffs/{handoff_id}/resolve", data={"csrf_token": desk.csrf, "note": "已安排换机"},
                                follow_redirects=False)
            assert resolve.status_code in (200, 303), resolve.text
            left = await customer.wait_for(lambda m: (m.get("custom") or {}).get("type") == "agent_left", 10)
            assert left["custom"]["agent_name"] == "张敏"
            survey = await customer.wait_for(lambda m: (m.get("custom") or {}).get("type") == "survey", 30)
            assert survey
            await customer.say("5分")
            await customer.wait_for(lambda m: "意见或建议" in (m.get("text") or "") or "建议" in (m.get("text") or ""), 30)
            await customer.say("没有了")
            thanks = await customer.wait_for(lambda m: "评价" in (m.get("text") or ""), 30)
            assert "5" in thanks["text"]

        with db.session_scope(stack.db_url) as session:
            assert session.get(Handoff, handoff_id).status == "resolved"

    asyncio.run(scenario())


@pytest.mark.parametrize("moment, wording, window", [
    (MONDAY_10_BEIJING, "都在忙|其他客户", "12月7日（周一）"),          # agent hours, nobody of 综合 online
    (MONDAY_03_BEIJING, "人工服务时间", "12月7日（周一）08:00"),   # night: the next opening
    (NEW_YEARS_EVE_10_BEIJING, "人工服务时间", "2月7日（周日）08:00"),  # closed date: the day after
], ids=["agent-hours", "night", "holiday"])
def test_no_agent_online_books_a_call_back(stack, stack_clock, moment, wording, window):
    """A request for a human that nobody can take ends in a call-back ticket; the words and
    the call-back window depend on the (pinned) time of day and the closed dates."""
    stack_clock.set(moment)

    async def scenario():
        async with Customer(stack.rasa_url) as customer:
            await customer.say("转人工")
            offer = await customer.wait_for(lambda m: "回电" in (m.get("text") or ""), 30)
            assert re.search(wording, offer["text"]), offer["text"]
            ask = await customer.wait_for(lambda m: "手机" in (m.get("text") or ""), 30)
            assert ask
            await customer.say("13812345678")
            booked = await customer.wait_for(lambda m: "工单号" in (m.get("text") or ""), 30)
            ticket_no = re.search(r"[A-Z]{2}\d{8}-\d{4}", booked["text"]).group(0)
            assert window in booked["text"], booked["text"]
            return ticket_no

    ticket_no = asyncio.run(scenario())
    assert ticket_no[2:10] == moment.strftime("%Y%m%d")  # numbered on the product's day, not the machine's
    with db.session_scope(stack.db_url) as session:
        assert session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
