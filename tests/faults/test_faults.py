"""Fault injection against the real production-like stack (tests/faults/conftest.py).

Each test holds a repair-form conversation over socket.io, injects one fault mid-form and
checks: the process / server came back, every customer message got an answer (a notice
"not handled yet" makes the customer send the same text again; silence is a lost message),
and exactly the promised ticket exists. The fault table is printed at the end of the run.
"""
from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from typing import Callable, List, Tuple

import httpx
import pytest
from sqlalchemy import select

from kefu import db
from kefu.models.service import Ticket

from fault_support import (OUTCOMES, TICKET_NO, Customer, HealthWatch, Outcome, PostgresOutage, RedisOutage, Turn,
                           answer_for)

FAULT_AT_TURN = 3  # greeting, opening, first form answer ... then the fault
OUTAGE_SECONDS = 10
MAX_TURNS = 14
# Bounded: the stack's start (two model loads) and a Rasa reload on a busy 2-core machine.
pytestmark = pytest.mark.timeout(1800)


def converse(inject: Callable[[], None], url_for_turn: Callable[[int], str], turn_deadline: float
             ) -> Tuple[Customer, List[str]]:
    """Greeting, then the repair form answered question by question; ``inject`` before turn FAULT_AT_TURN."""

    async def main() -> Tuple[Customer, List[str]]:
        customer = Customer()
        promised: List[str] = []
        text = "你好"
        try:
            for i in range(MAX_TURNS):
                if i == FAULT_AT_TURN:
                    await asyncio.to_thread(inject)
                turn: Turn = await customer.say(text, url_for_turn(i), turn_deadline)
                if not turn.answered:
                    break
                promised = sorted(set(TICKET_NO.findall(turn.reply_text)))
                if promised:
                    break
                texts = [r.get("text") for r in turn.replies if r.get("text")]
                text = answer_for(texts[-1] if texts else "")
        finally:
            await customer.close()
        return customer, promised

    return asyncio.run(main())


def tickets_of(stack, conversation_id: str) -> List[str]:
    with db.session_scope(stack.db_url) as session:
        return list(session.execute(select(Ticket.ticket_no).where(Ticket.conversation_id == conversation_id)).scalars())


def unrecorded(stack, customer: Customer) -> int:
    """Answered messages missing from the conversation's record (the tracker store, via Rasa)."""
    r = httpx.get(f"{stack.rasa_url}/conversations/{customer.session_id}/tracker",
                  params={"token": stack.token, "include_events": "ALL"}, timeout=60)
    r.raise_for_status()
    persisted = Counter(e.get("text") for e in r.json()["events"] if e["event"] == "user")
    answered = Counter(t.text for t in customer.turns if t.answered)
    return sum(max(0, n - persisted[text]) for text, n in answered.items())


def record(outcome: Outcome, stack, customer: Customer, promised: List[str], watch: HealthWatch) -> Outcome:
    outcome.recovered_s = watch.wait_healthy(timeout=900)
    outcome.degraded_seen = ", ".join(sorted(watch.down_seen))
    outcome.down_counts, outcome.samples = dict(watch.down_seen), watch.samples
    outcome.add_turns(customer.turns)
    outcome.unrecorded = unrecorded(stack, customer)
    outcome.promised = promised
    outcome.in_db = tickets_of(stack, customer.session_id)
    outcome.transcript = [{"said": t.text, "attempts": t.attempts, "notices": t.notices, "silent": t.silent,
                           "dropped": t.dropped, "bot": t.reply_text} for t in customer.turns]
    OUTCOMES.append(outcome)
    return outcome


def check(outcome: Outcome, customer: Customer) -> None:
    detail = [(t.text, t.attempts, t.notices, t.silent, t.dropped, t.reply_text[:60]) for t in customer.turns]
    assert outcome.recovered_s is not None, f"{outcome.fault}: not healthy again; {detail}"
    assert outcome.lost == 0, f"{outcome.fault}: {outcome.lost} message(s) lost: {detail}"
    assert outcome.unrecorded == 0, f"{outcome.fault}: {outcome.unrecorded} answered message(s) not in the record"
    assert outcome.tickets_lost == 0, f"{outcome.fault}: promised {outcome.promised}, in DB {outcome.in_db}; {detail}"
    assert outcome.tickets_duplicated == 0, f"{outcome.fault}: tickets {outcome.in_db}"


def kill(stack, name: str, state: dict, web_url: str) -> None:
    state["pid"] = stack.pid(name)
    state["watch"] = HealthWatch(web_url)
    os.kill(state["pid"], signal.SIGKILL)


def came_back(stack, name: str, old_pid: int) -> str:
    info = stack.info(name)
    assert info["statename"] == "RUNNING" and info["pid"] != old_pid, info
    return f"{name} pid {old_pid} → {info['pid']}"


def test_action_server_killed_mid_form(prod_stack):
    state: dict = {}
    customer, promised = converse(lambda: kill(prod_stack, "actions", state, prod_stack.web_url),
                                  lambda i: prod_stack.rasa_url, turn_deadline=120)
    outcome = Outcome("action server killed (SIGKILL) mid-form")
    record(outcome, prod_stack, customer, promised, state["watch"])
    outcome.came_back = came_back(prod_stack, "actions", state["pid"])
    assert "actions" in outcome.down_counts and outcome.mostly_up("desk")  # honest; the desk kept serving
    check(outcome, customer)


def test_postgresql_stopped_10s_mid_form(prod_stack):
    outage = PostgresOutage(OUTAGE_SECONDS)
    state: dict = {}

    def inject() -> None:
        state["watch"] = HealthWatch(prod_stack.web_url)
        outage.__enter__()

    try:
        customer, promised = converse(inject, lambda i: prod_stack.rasa_url, turn_deadline=120)
    finally:
        outage.__exit__(None, None, None)  # PostgreSQL is running again whatever happened
    outcome = Outcome(f"PostgreSQL stopped {OUTAGE_SECONDS} s (service DB + tracker store)")
    record(outcome, prod_stack, customer, promised, state["watch"])
    outcome.came_back = "PostgreSQL restarted"
    assert "service_db" in outcome.down_counts and "tracker_store" in outcome.down_counts
    check(outcome, customer)


def test_redis_stopped_10s_with_two_rasa_instances(prod_stack):
    assert len(prod_stack.rasa_urls) == 2
    outage = RedisOutage(OUTAGE_SECONDS)
    state: dict = {}

    def inject() -> None:
        state["watch"] = HealthWatch(prod_stack.web_url)
        outage.__enter__()

    try:  # each turn goes to the other instance, as behind a load balancer without stickiness
        customer, promised = converse(inject, lambda i: prod_stack.rasa_urls[i % 2], turn_deadline=120)
    finally:
        outage.__exit__(None, None, None)  # Redis is running again whatever happened
    outcome = Outcome(f"Redis stopped {OUTAGE_SECONDS} s (lock store, 2 Rasa instances)")
    record(outcome, prod_stack, customer, promised, state["watch"])
    outcome.came_back = "Redis restarted"
    assert "redis" in outcome.down_counts
    check(outcome, customer)


def test_rasa_killed_mid_conversation(prod_stack):
    state: dict = {}
    customer, promised = converse(lambda: kill(prod_stack, "rasa", state, prod_stack.web_url),
                                  lambda i: prod_stack.rasa_url, turn_deadline=900)
    outcome = Outcome("Rasa killed (SIGKILL) mid-conversation")
    record(outcome, prod_stack, customer, promised, state["watch"])
    outcome.came_back = came_back(prod_stack, "rasa", state["pid"])
    assert "rasa" in outcome.down_counts
    assert outcome.mostly_up("rasa2") and outcome.mostly_up("desk")  # the others kept serving
    check(outcome, customer)
