"""Issue 17 on the real stack: no lost turns under load, through an action-server restart.

Widget customers (python-socketio, WebSocket transport, 1 s think time) go through the
whole repair flow while the action server is killed and started again; then every
finished conversation must have exactly one ticket with its address, phone and time
(benchmarks/widget_load.py does the same with more customers and prints figures).
"""
from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid

import httpx

from benchmarks.widget_load import LOG_PATTERNS, check_database, count_log, log_excerpt, run_load, summarize
from e2e_support import Customer

CUSTOMERS = 20


def rasa_log(stack):
    return stack.log_dir / "rasa.log"


def log_offset(stack) -> int:
    path = rasa_log(stack)
    return path.stat().st_size if path.exists() else 0


def test_a_fresh_connection_written_late_is_still_served(stack):
    """Rasa opens a new connection per action call and, when busy, writes it seconds later.

    Sanic's default closed such a connection after 5 s ("Cannot write to closing transport")."""
    body = json.dumps({"next_action": "no_such_action", "sender_id": "probe", "tracker": {}, "domain": {}}).encode()
    with socket.create_connection(("127.0.0.1", stack.ports.actions), timeout=30) as conn:
        time.sleep(6)
        conn.sendall(b"POST /webhook HTTP/1.1\r\nHost: actions\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status_line = conn.recv(100).split(b"\r\n")[0]
    assert status_line.startswith(b"HTTP/1.1 "), "the action server closed the connection"


def test_websocket_disconnects_leave_no_handler_exception(stack):
    offset = log_offset(stack)

    async def scenario():
        for _ in range(3):
            async with Customer(stack.rasa_url, "websocket") as customer:
                await customer.say("你好")
                await customer.next()

    asyncio.run(scenario())
    time.sleep(1)
    assert count_log(rasa_log(stack), offset)["handler_exceptions"] == 0


def test_a_customer_whose_socket_dropped_gets_the_reply_when_delivering_again(stack):
    """The widget delivers a message again (same client_message_id) when its socket dropped
    before the acknowledgement: handled once, and the reply missed meanwhile is sent again."""
    session = uuid.uuid4().hex
    message = {"message": "你好", "session_id": session, "customData": {"client_message_id": "m-1"}}

    async def scenario():
        async with Customer(stack.rasa_url, "websocket", session_id=session) as first:
            await first.client.emit("user_uttered", message)
        # gone before any reply; the reply is sent to nobody
        await asyncio.sleep(10)
        async with Customer(stack.rasa_url, "websocket", session_id=session) as again:
            await again.client.emit("user_uttered", message)
            reply = await again.next(timeout=60)
            await asyncio.sleep(3)  # a second handling would answer again
            assert again.inbox.empty(), await again.next()
        return reply

    reply = asyncio.run(scenario())
    assert reply.get("text")
    events = httpx.get(f"{stack.rasa_url}/conversations/{session}/tracker", params={"token": stack.env["KEFU_RASA_TOKEN"]},
                       timeout=30).json()["events"]
    assert [e["text"] for e in events if e["event"] == "user"] == ["你好"]  # handled once


def test_widget_customers_lose_nothing_when_the_action_server_restarts(stack):
    offset = log_offset(stack)
    run = asyncio.run(run_load(stack.rasa_url, CUSTOMERS, think=1.0, turn_timeout=90, stack=stack, fault=True))
    time.sleep(12)  # what the customers' disconnects log (channels/compat.py: frame tasks, 10 s grace)
    summary = summarize(run, check_database(stack.db_url, run["results"]), count_log(rasa_log(stack), offset))
    print(summary)
    assert summary["fault"].get("action_server_down_s") is not None  # the fault really happened
    assert summary["turn_errors"] == 0 and summary["lost_answers"] == 0, summary["examples"]
    assert summary["finished_forms"] == CUSTOMERS
    assert summary["conversations_without_proper_ticket"] == 0, summary["examples"]
    assert summary["handler_exceptions"] == 0
    for kind in ("tracebacks", "asyncio_errors"):
        assert summary[kind] == 0, log_excerpt(rasa_log(stack), offset, LOG_PATTERNS[kind])
