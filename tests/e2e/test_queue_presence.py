"""Queue hygiene over the real channel (Rasa socket.io + action server + desk + DB).

The e2e stack runs with a 4-second grace period and a 1-second sweep (conftest.E2E_QUEUE).
Two customers ask for the complaint desk; the second reloads the page and keeps the place;
the first closes the tab and leaves the queue once the grace period is over; the second
customer's position and estimate move up; the first, coming back later, is told the place
was given up and talks to the bot again.
"""
from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from sqlalchemy import select

from desk.auth import create_agent
from e2e_support import E2E_QUEUE, Customer
from kefu import db
from kefu.models.desk import Handoff
from kefu.services import handoffs

PASSWORD = "e2e queue horse"
COMPLAINT = "我要去12315投诉你们，修了三次还没好"
GRACE = E2E_QUEUE["grace_seconds"]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def desk_agent(stack):
    """An agent of 投诉专席 online on the desk (so complaints are queued, not offered a call-back)."""
    with db.session_scope(stack.db_url) as session:
        create_agent(session, username="queue_li", display_name="李娜", password=PASSWORD, role="agent",
                     groups=["投诉专席"])
    client = httpx.Client(base_url=stack.web_url, timeout=30)
    page = client.get("/desk/login")
    r = client.post("/desk/login", data={"username": "queue_li", "password": PASSWORD,
                                         "csrf_token": csrf_of(page.text), "next": "/desk/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    client.csrf = csrf_of(client.get("/desk/").text)  # type: ignore[attr-defined]
    assert client.post("/desk/heartbeat", headers={"X-CSRF-Token": client.csrf}).status_code == 200
    yield client
    client.post("/desk/logout", data={"csrf_token": client.csrf})  # offline again for the other tests
    client.close()


def handoff_of(stack, conversation: str) -> Handoff:
    with db.session_scope(stack.db_url) as session:
        row = session.execute(select(Handoff).where(Handoff.conversation_id == conversation)
                              .order_by(Handoff.id.desc())).scalars().first()
        row.events  # noqa: B018  (load before the session closes)
        return row


async def queue_card(customer: Customer, timeout: float = 30) -> dict:
    return (await customer.wait_for(lambda m: (m.get("custom") or {}).get("type") == "queue", timeout))["custom"]


async def ask_for_the_complaint_desk(customer: Customer) -> dict:
    await customer.say(COMPLAINT)
    return await queue_card(customer, 120)  # the first turn warms the action server up (2 shared cores)


def test_closed_tab_leaves_the_queue_reload_keeps_the_place(stack, desk_agent):
    async def scenario():
        first = Customer(stack.rasa_url)
        await first.__aenter__()
        second = Customer(stack.rasa_url)
        await second.__aenter__()
        try:
            assert (await ask_for_the_complaint_desk(first))["position"] == 1
            before = await ask_for_the_complaint_desk(second)
            assert before["position"] == 2

            # The second customer reloads: a new socket, same chat; the place is kept.
            await second.client.disconnect()
            second = Customer(stack.rasa_url, session_id=second.session_id)
            await second.__aenter__()
            welcome = await second.wait_for(lambda m: "欢迎回来" in (m.get("text") or ""), 10)
            assert "前面还有 1 位" in welcome["text"]
            assert (await queue_card(second))["position"] == 2
            assert [e.kind for e in handoff_of(stack, second.session_id).events][-2:] == ["left", "returned"]

            # The first customer closes the tab: still queued during the grace period ...
            closed_at = time.monotonic()
            await first.client.disconnect()
            await asyncio.sleep(1)
            assert handoff_of(stack, first.session_id).status == "queued"
            # ... abandoned by the desk's sweeper once it is over.
            while handoff_of(stack, first.session_id).status == "queued" and time.monotonic() - closed_at < GRACE + 20:
                await asyncio.sleep(0.5)
            gone = handoff_of(stack, first.session_id)
            assert gone.status == "abandoned" and time.monotonic() - closed_at >= GRACE
            assert [e.kind for e in gone.events] == ["queued", "left", "abandoned"]

            # The second customer moved up: position and estimate change.
            await second.client.disconnect()
            second = Customer(stack.rasa_url, session_id=second.session_id)
            await second.__aenter__()
            welcome = await second.wait_for(lambda m: "欢迎回来" in (m.get("text") or ""), 10)
            assert "下一位就是您" in welcome["text"]
            after = await queue_card(second)
            assert after["position"] == 1 and after["wait_minutes"] < before["wait_minutes"]
            queue_page = desk_agent.get("/desk/").text
            assert f'data-id="{handoff_of(stack, second.session_id).id}"' in queue_page
            assert f'data-id="{gone.id}"' not in queue_page
            followups = desk_agent.get("/desk/followups").text
            assert f'data-id="{gone.id}"' in followups and "客户已离开" in followups

            # The first customer comes back later: told once, and the bot talks to them again.
            first = Customer(stack.rasa_url, session_id=first.session_id)
            await first.__aenter__()
            lost = await first.wait_for(lambda m: "排队已取消" in (m.get("text") or ""), 10)
            assert "转人工" in lost["text"]
            await first.say("你好")
            reply = await first.next(30)
            assert reply.get("text") and "排队已取消" not in reply["text"]
        finally:
            for customer in (first, second):
                if customer.client.connected:
                    await customer.client.disconnect()
            with db.session_scope(stack.db_url) as session:  # leave the complaint queue empty
                for conversation in (first.session_id, second.session_id):
                    open_one = handoffs.open_handoff(session, conversation)
                    if open_one is not None:
                        handoffs.cancel(session, open_one.id, actor="system", note="e2e clean-up")

    asyncio.run(scenario())
