"""Issue 11, item 1 (service side, SQLite and PostgreSQL): which ticket a chat may survey."""
import datetime as dt

import pytest

from kefu.errors import NotFound
from kefu.escalation import Decision
from kefu.services import handoffs, surveys, tickets
from kefu.services.tickets import TicketRequest

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)
DECISION = Decision(rule_id="explicit_request", group="综合", priority="普通", reason="客户要求转人工")


def ticket(session, phone, conversation):
    return tickets.create_ticket(session, TicketRequest(type="repair", phone=phone, product="空调",
                                                        conversation_id=conversation), now=T0).ticket


def test_a_chat_surveys_only_tickets_of_its_conversation_or_that_it_proved_it_owns(session):
    created_here = ticket(session, "13900000401", "chat-a")
    carried = ticket(session, "13900000402", "elsewhere-1")
    handoffs.queue_handoff(session, conversation_id="chat-a", decision=DECISION, ticket_no=carried.ticket_no, now=T0)
    by_phone = ticket(session, "13900000403", "elsewhere-2")
    someone_else = ticket(session, "13900000404", "elsewhere-3")
    session.flush()

    def allowed(t, **owner):
        return surveys.ticket_for_conversation_survey(session, t.ticket_no, "chat-a", **owner).id == t.id

    assert allowed(created_here) and allowed(carried)
    assert allowed(by_phone, phone="13900000403")
    with pytest.raises(NotFound):
        surveys.ticket_for_conversation_survey(session, someone_else.ticket_no, "chat-a")
    with pytest.raises(NotFound):
        surveys.ticket_for_conversation_survey(session, someone_else.ticket_no, "chat-a", phone="13900000403")
