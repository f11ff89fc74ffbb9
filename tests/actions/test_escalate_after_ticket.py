"""转人工 right after a ticket, with nobody online: the ticket's call-back covers it, and the
customer still gets an answer (found by the conversation simulator: the bot said nothing)."""
from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.escalation import ActionEscalate
from kefu import db
from kefu.models.service import Ticket
from kefu.services import tickets
from moments import MONDAY_03_BEIJING

MONDAY_10 = dt.datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Asia/Shanghai"))  # within agent hours


def ask_for_a_person(clean_db, sender: str) -> list:
    with db.session_scope(clean_db) as session:
        ticket = tickets.create_ticket(session, tickets.TicketRequest(
            type="repair", phone="13812345678", product="空调", fault="不制冷", description="空调不制冷",
            address="上海市浦东新区张江路100号", conversation_id=sender)).ticket
        number = ticket.ticket_no
    latest = {"text": "转人工", "intent": {"name": "request_human", "confidence": 0.99}, "entities": []}
    tracker = Tracker(sender, {"last_ticket_no": number, "phone": "13812345678"}, latest,
                      [{"event": "user", "text": "转人工", "parse_data": latest}], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEscalate().run(dispatcher, tracker, {}))
    return [m.get("response") for m in dispatcher.messages]


def test_asking_for_a_person_after_a_ticket_is_answered_without_a_second_ticket(clean_db, monkeypatch, pinned_clock):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    pinned_clock.set(MONDAY_10)
    said = ask_for_a_person(clean_db, "after-ticket-1")
    assert said == ["utter_handoff_no_agent"]
    with db.session_scope(clean_db) as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1  # no call-back ticket


def test_at_night_the_answer_says_it_is_outside_agent_hours(clean_db, monkeypatch, pinned_clock):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    pinned_clock.set(MONDAY_03_BEIJING)
    assert ask_for_a_person(clean_db, "after-ticket-2") == ["utter_handoff_closed"]


def test_an_automatic_hand_over_covered_by_a_ticket_says_nothing_about_busy_agents(clean_db, monkeypatch, pinned_clock):
    """An emergency ticket hands the conversation over by rule; with nobody online the ticket's
    own 30-minute call covers it: no "人工客服此刻都在忙" after the emergency confirmation."""
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    pinned_clock.set(MONDAY_10)
    with db.session_scope(clean_db) as session:
        number = tickets.create_ticket(session, tickets.TicketRequest(
            type="repair", phone="13812345678", product="燃气灶", fault="燃气泄漏", description="燃气灶有燃气味",
            address="上海市浦东新区张江路100号", conversation_id="emergency-1")).ticket.ticket_no
    latest = {"text": "燃气灶有燃气味", "intent": {"name": "report_repair", "confidence": 0.99}, "entities": []}
    tracker = Tracker("emergency-1", {"last_ticket_no": number, "phone": "13812345678", "emergency": True}, latest,
                      [{"event": "user", "text": "燃气灶有燃气味", "parse_data": latest}], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEscalate().run(dispatcher, tracker, {}))
    assert [m.get("response") for m in dispatcher.messages] == []
