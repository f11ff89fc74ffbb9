"""The cancel confirmation takes every way of saying yes (chat probe 2026-12-07: "确认取消" asked
"确定要取消工单吗？" again and again; "是的，取消" fell back to "您是要取消工单吗？")."""
from __future__ import annotations

from sqlalchemy import select

from actions import conversation, lookups
from kefu import db
from kefu.models.service import Ticket
from kefu.services import tickets
from kefu.services.tickets import TicketRequest
from tests.actions.test_actions import make_tracker, responses, run

PHONE = "13812345678"


def new_ticket(service_db) -> str:
    with db.session_scope(service_db) as session:
        return tickets.create_ticket(session, TicketRequest(type="repair", phone=PHONE, product="空调", fault="不制冷",
                                                            address="上海市浦东新区张江路100号", description="空调不制冷")).ticket.ticket_no


def status(service_db, ticket_no):
    with db.session_scope(service_db) as session:
        return session.execute(select(Ticket.status).where(Ticket.ticket_no == ticket_no)).scalar_one()


def test_yes_and_cancel_close_together_cancels_instead_of_guessing(service_db):
    ticket_no = new_ticket(service_db)
    tracker = make_tracker({"last_ticket_no": ticket_no, "phone": PHONE, "pending_cancel": True},
                           text="是的，取消", intent="nlu_fallback")
    # model 20261207-031252: nlu_fallback 0.45, cancel_ticket 0.45, deny 0.18
    tracker.latest_message["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.45},
                                                {"name": "cancel_ticket", "confidence": 0.45}, {"name": "deny", "confidence": 0.18}]
    messages, events = run(conversation.ActionDefaultAskAffirmation(), tracker)
    assert responses(messages) == ["utter_ticket_cancelled"]
    assert status(service_db, ticket_no) == "已取消"


def test_without_a_pending_cancellation_the_usual_guess_is_made(service_db):
    tracker = make_tracker({"phone": PHONE}, text="是的，取消", intent="nlu_fallback")
    tracker.latest_message["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.6},
                                                {"name": "cancel_ticket", "confidence": 0.45}, {"name": "affirm", "confidence": 0.4}]
    messages, _ = run(conversation.ActionDefaultAskAffirmation(), tracker)
    assert responses(messages) == ["utter_ask_affirmation"]


def test_naming_another_ticket_while_one_waits_looks_that_one_up(service_db):
    first, second = new_ticket(service_db), new_ticket(service_db)
    tracker = make_tracker({"last_ticket_no": first, "phone": PHONE, "pending_cancel": True},
                           text=f"不是这个，取消{second}", intent="cancel_ticket")
    messages, events = run(lookups.ActionConfirmCancel(), tracker)
    assert messages == [] and events[-1] == {"event": "followup", "timestamp": None, "name": "ticket_lookup_form"}
    assert {"event": "slot", "timestamp": None, "name": "ticket_no", "value": second} in events
    assert status(service_db, first) == status(service_db, second) == "受理"
