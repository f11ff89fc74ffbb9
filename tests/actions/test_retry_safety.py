"""Writing actions that config/reliability.yml lets Rasa retry are idempotent by key.

A retried call after a lost response runs the action a second time with the same
tracker: the customer must end up with one ticket (and no extra handoff), and be told
the number of the ticket that exists. Real SQLite and PostgreSQL.
"""
from __future__ import annotations

import fnmatch

import pytest
from sqlalchemy import func, select

from actions import requests
from kefu import db
from kefu.models.service import Ticket
from kefu.runtime.reliability import reliability_config

from test_actions import REPAIR_SLOTS, make_tracker, responses, run

TRACKERS = {
    "action_submit_repair": lambda: make_tracker(REPAIR_SLOTS),
    "action_submit_installation": lambda: make_tracker({
        "product": "空调", "install_kind": "新装", "address": "上海市浦东新区张江路100弄5号601室", "phone": "13812345678",
        "appointment_start": None, "appointment_end": None}),
    "action_submit_suggestion": lambda: make_tracker({"phone": "13812345678"}, text="希望你们的客服热线晚上也能接通"),
}
WRITING = [a for a in reliability_config().action_calls.safe_actions if fnmatch.fnmatchcase(a, "action_submit_*")]


def actions_by_name():
    return {cls().name(): cls for cls in vars(requests).values()
            if isinstance(cls, type) and issubclass(cls, requests.SubmitTicketAction) and cls is not requests.SubmitTicketAction}


def test_every_retried_writing_action_is_covered_here():
    assert WRITING and set(WRITING) <= set(TRACKERS)


def count(url, model) -> int:
    with db.session_scope(url) as session:
        return session.execute(select(func.count(model.id))).scalar_one()


@pytest.mark.parametrize("name", WRITING)
def test_running_a_retried_action_twice_writes_once(service_db, name):
    from kefu.models.desk import Handoff

    action = actions_by_name()[name]
    first, _ = run(action(), TRACKERS[name]())
    handoffs = count(service_db, Handoff)
    second, _ = run(action(), TRACKERS[name]())  # the retry: same conversation, same content
    assert count(service_db, Ticket) == 1
    assert count(service_db, Handoff) == handoffs
    assert "utter_ticket_existing" in responses(second)
    number = lambda messages: next(m["ticket_no"] for m in messages if m.get("ticket_no"))  # noqa: E731
    assert number(first) == number(second)
