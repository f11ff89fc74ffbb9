"""Desk fixtures: a fake Rasa HTTP server, the desk app on the shared test databases, users."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterator

import pytest
from starlette.testclient import TestClient

from desk.app import create_app
from desk.auth import create_agent
from kefu.rasa_http import RasaClient
from desk_support import COMPLAINT, PASSWORD, RASA_TOKEN, Clock, FakeRasa, csrf_of, login, start_fake_rasa
from kefu import clock as product_clock
from kefu import db
from kefu.escalation import Decision
from kefu.services import handoffs

@pytest.fixture(autouse=True)
def _agent_hours(pinned_clock):
    """Desk tests run at Monday 10:00 Beijing (agent hours): queueing depends on the hour."""
    yield pinned_clock


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    fake, server = start_fake_rasa()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clock(pinned_clock) -> Clock:
    """The desk app's clock, on the product clock pinned to Monday 10:00 Beijing time."""
    return Clock()


@pytest.fixture
def app(clean_db, fake_rasa, clock):
    rasa = RasaClient(base_url=fake_rasa.url, token=RASA_TOKEN, timeout=3)
    application = create_app(db_url=clean_db, rasa=rasa, clock=clock, session_secret="desk-test-secret")
    yield application
    rasa.close()


@pytest.fixture
def users(clean_db) -> dict:
    """zhang/li: agents; boss: supervisor; tina: trainer -- all with PASSWORD."""
    specs = {
        "zhang": ("张敏", "agent", ["投诉专席", "综合"]),
        "li": ("李娜", "agent", ["投诉专席"]),
        "wang": ("王强", "agent", ["维修调度"]),
        "boss": ("赵主管", "supervisor", ["投诉专席", "维修调度", "VIP专席", "综合"]),
        "tina": ("陈训练", "trainer", []),
    }
    with db.session_scope(clean_db) as session:
        for username, (name, role, groups) in specs.items():
            create_agent(session, username=username, display_name=name, password=PASSWORD, role=role, groups=groups)
    return specs


@pytest.fixture
def client_for(app, users) -> Callable[[str], TestClient]:
    """A logged-in TestClient per user; ``client.csrf`` holds the session's token."""
    clients = []

    def make(username: str) -> TestClient:
        client = TestClient(app)
        clients.append(client)
        response = login(client, username)
        assert response.status_code == 303, response.text
        # The login page carries the session's (rotated) token too, and renders without the
        # queue queries of /desk/ (or the domain load of the review page a trainer lands on).
        client.csrf = csrf_of(client.get("/desk/login").text)
        return client

    yield make
    for client in clients:
        client.close()




def on_duty(session, group: str) -> None:
    """Someone of ``group`` is online now (the "duty" supervisor, created on first use)."""
    from kefu.models.desk import Agent

    if handoffs.agents_online(session, group, now=product_clock.now()) == 0:
        duty = session.query(Agent).filter_by(username="duty").one_or_none() or create_agent(
            session, username="duty", display_name="值班主管", password=PASSWORD, role="supervisor",
            groups=["投诉专席", "维修调度", "VIP专席", "综合"])
        handoffs.heartbeat(session, duty, now=product_clock.now())


@pytest.fixture
def queue_handoff(clean_db, fake_rasa):
    """Queue a handoff (committed) and give the fake Rasa its conversation; returns the id."""

    def make(conversation: str = "conv-1", decision: Decision = COMPLAINT, minutes_ago: int = 0,
             **kwargs: Any) -> int:
        kwargs.setdefault("messages", [{"role": "customer", "text": "我要打12315投诉你们"}])
        staffed = kwargs.pop("staffed", True)
        with db.session_scope(clean_db) as session:
            if staffed:  # a handoff queued with nobody online is only offered a call-back
                on_duty(session, decision.group)
            result = handoffs.queue_handoff(
                session, conversation_id=conversation, decision=decision,
                now=product_clock.now() - dt.timedelta(minutes=minutes_ago), **kwargs,
            )
            handoff_id = result.handoff.id
            if minutes_ago:  # the customer is still there: they wrote since they were queued
                handoffs.customer_back(session, conversation, via="message")
        fake_rasa.add_user(conversation, kwargs["messages"][-1]["text"])
        fake_rasa.events[conversation].append({"event": "pause", "timestamp": product_clock.now().timestamp()})
        return handoff_id

    return make
