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

from benchmarks.widget_load import check_database, count_log, run_load, summarize
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


def test_widget_customers_lose_nothing_when_the_action_server_restarts(stack):
    offset = log_offset(stack)
    run = asyncio.run(run_load(stack.rasa_url, CUSTOMERS, think=1.0, turn_timeout=90, stack=stack, fault=True))
    time.sleep(1)
    summary = summarize(run, check_database(stack.db_url, run["results"]), count_log(rasa_log(stack), offset))
    print(summary)
    assert summary["fault"].get("action_server_down_s") is not None  # the fault really happened
    assert summary["turn_errors"] == 0 and summary["lost_answers"] == 0, summary["examples"]
    assert summary["finished_forms"] == CUSTOMERS
    assert summary["conversations_without_proper_ticket"] == 0, summary["examples"]
    assert summary["handler_exceptions"] == 0
