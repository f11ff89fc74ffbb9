"""Issue 13: two Rasa servers, two action servers and two desks behind nginx, sharing
PostgreSQL and Redis. 200 conversations, alternately over socket.io and REST, go through the
public port while one Rasa instance is killed in the middle; then the tracker store and the
service DB are checked. Also: an agent's message posted to either instance reaches a customer
connected to the other, and any desk instance serves a logged-in agent."""
from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import uuid

import httpx
import pytest
import socketio
import sqlalchemy as sa

from benchmarks.widget_load import Progress, Result, check_database, customer
from desk.auth import create_agent
from kefu import db

from tests.scaleout.conftest import RASA_LOAD_SECONDS

pytestmark = pytest.mark.timeout(2400)

CONVERSATIONS = int(os.environ.get("KEFU_SCALE_CONVERSATIONS", 200))
TURNS = 7  # benchmarks/widget_load.py script: greeting, repair request, model, address, phone, time, thanks
TICKET_NO = re.compile(r"\b[A-Z]{2}\d{8}-\d{4}\b")


def _kill(stack, name: str) -> int:
    pid = stack.pid(name)
    os.killpg(pid, signal.SIGKILL)  # supervisord starts it again; nginx sends its traffic elsewhere
    return pid


def _tracker_rows(db_url: str):
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT sender_id, type_name, data FROM events ORDER BY sender_id, id")).all()
    engine.dispose()
    return rows


def test_200_conversations_across_two_instances_survive_killing_one(scaled_stack):
    stack = scaled_stack
    progress = Progress(CONVERSATIONS * TURNS)
    killed: dict = {}

    async def kill_second_rasa_midway() -> None:
        await progress.reached.wait()  # a third of all turns answered
        killed["at_turn"] = progress.done
        killed["pid"] = _kill(stack, "rasa2")

    async def scenario():
        killer = asyncio.create_task(kill_second_rasa_midway())

        async def one(n: int) -> Result:
            await asyncio.sleep(0.05 * n)  # customers arrive over ~10 s
            transport = "socketio" if n % 2 == 0 else "rest"
            return await customer(n, stack.web_url, think=1.5, turn_timeout=300, progress=progress,
                                  transport=transport, rest_token=stack.env["KEFU_REST_TOKEN"])

        results = await asyncio.gather(*(one(n) for n in range(CONVERSATIONS)))
        if not killer.done():
            killer.cancel()
        return results

    try:
        results = asyncio.run(scenario())
    finally:
        # supervisord restarts rasa2, which reloads the model for a minute or more: leave the
        # module's stack whole for the tests after this one, which talk to each instance directly
        stack.wait_rasa(RASA_LOAD_SECONDS)
    assert killed, f"the load ended before a third of the turns were answered ({progress.done})"
    transport = ["socketio" if n % 2 == 0 else "rest" for n in range(CONVERSATIONS)]
    errors = [f"{r.session_id} ({transport[n]}): {e}" for n, r in enumerate(results) for e in r.errors]
    assert errors == [], f"{len(errors)} turns without their proper reply, e.g. {errors[:5]}"
    assert all(r.finished_form for r in results)

    # Service DB: one ticket per conversation, with that customer's data.
    assert check_database(stack.db_url, results) == []

    # Tracker store: each conversation's customer messages exactly once and in order.
    rows = _tracker_rows(stack.db_url)
    user_texts = collections.defaultdict(list)
    told = set()
    import json
    for sender, type_name, data in rows:
        event = json.loads(data)
        if type_name == "user":
            user_texts[sender].append(event.get("text"))
        elif type_name == "bot":
            told.update(TICKET_NO.findall(event.get("text") or ""))
    from benchmarks.widget_load import script
    for n, r in enumerate(results):
        expected = [turn.text for turn in script(n)[0]]
        # the address and phone are random per run: compare their positions by the recorded result
        expected[3], expected[4] = r.expected["address"], r.expected["phone"]
        assert user_texts[r.session_id] == expected, f"{r.session_id}: {user_texts[r.session_id]}"

    # Every ticket number the customers were told exists.
    engine = sa.create_engine(stack.db_url)
    with engine.connect() as conn:
        existing = {row[0] for row in conn.execute(sa.text("SELECT ticket_no FROM tickets"))}
    engine.dispose()
    assert told and told <= existing, sorted(told - existing)[:5]
    print(f"\nscale-out: {CONVERSATIONS} conversations, rasa2 killed at turn {killed['at_turn']}, "
          f"{sum(r.replies for r in results)} replies, {sum(r.redeliveries for r in results)} redeliveries, "
          f"{sum(r.socket_drops for r in results)} socket drops, {len(told)} tickets told, all exist")


def test_an_agent_message_posted_to_either_instance_reaches_the_customer(scaled_stack):
    stack = scaled_stack
    session_id = "scale-" + uuid.uuid4().hex

    async def scenario():
        client = socketio.AsyncClient(reconnection=False)
        inbox: asyncio.Queue = asyncio.Queue()
        confirmed = asyncio.get_running_loop().create_future()
        client.on("bot_uttered", inbox.put_nowait)
        client.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
        await client.connect(f"{stack.web_url}?kefu_session={session_id}", transports=["websocket"],
                             socketio_path="/socket.io", wait_timeout=15)
        await client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(confirmed, 15)
        received = []
        async with httpx.AsyncClient(timeout=30) as http:
            for i, url in enumerate(stack.rasa_urls):  # each instance directly: one of them is not the customer's
                r = await http.post(f"{url}/webhooks/socketio/agent", headers={"Authorization": f"Bearer {stack.token}"},
                                    json={"sender_id": session_id, "text": f"您好，我是客服小王（{i}）",
                                          "agent": {"id": "7", "name": "小王"}})
                assert r.status_code == 200, r.text
                received.append(await asyncio.wait_for(inbox.get(), 15))
        await client.disconnect()
        return received

    received = asyncio.run(scenario())
    assert [m["text"] for m in received] == ["您好，我是客服小王（0）", "您好，我是客服小王（1）"]


def test_any_desk_instance_serves_a_logged_in_agent(scaled_stack):
    stack = scaled_stack
    password = "scale correct horse"
    with db.session_scope(stack.db_url) as session:
        create_agent(session, username="scale.agent", display_name="李华", password=password, role="agent")
    csrf = re.compile(r'name="csrf-token" content="([^"]+)"')
    with httpx.Client(base_url=stack.web_url, timeout=30) as public:
        page = public.get("/desk/login")
        r = public.post("/desk/login", data={"username": "scale.agent", "password": password,
                                             "csrf_token": csrf.search(page.text).group(1), "next": "/desk/"})
        assert r.status_code == 303, r.text
        cookies = public.cookies
    for port in stack.layout.web_ports:  # each desk instance directly, with the one session cookie
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", cookies=cookies, timeout=30) as desk:
            page = desk.get("/desk/", follow_redirects=False)
            assert page.status_code == 200 and "李华" in page.text, (port, page.status_code)
