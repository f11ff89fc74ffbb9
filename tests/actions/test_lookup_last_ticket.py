""""我想查一下刚才那个工单" after a ticket was created in this chat: the lookup uses that ticket
instead of asking for its number (found chatting through the widget, 2026-12-06)."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateTicketLookupForm

DOMAIN = {"forms": {"ticket_lookup_form": {"required_slots": ["ticket_no", "phone"]}},
          "slots": {"ticket_no": {}, "phone": {}, "last_ticket_no": {}, "requested_slot": {}}}


def lookup_start(text: str, last_ticket_no: Optional[str], requested: Optional[str] = None) -> Dict[str, Any]:
    latest = {"text": text, "intent": {"name": "query_ticket", "confidence": 0.93}, "entities": []}
    slots = {"ticket_no": None, "phone": None, "last_ticket_no": last_ticket_no, "requested_slot": requested}
    events: List[Dict[str, Any]] = [{"event": "user", "text": text, "parse_data": latest},
                                    {"event": "active_loop", "name": "ticket_lookup_form"}]
    tracker = Tracker("lookup-1", slots, latest, events, False, None, {"name": "ticket_lookup_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateTicketLookupForm().run(dispatcher, tracker, DOMAIN))
    return {e["name"]: e["value"] for e in result if e.get("event") == "slot"}


def test_the_ticket_just_created_in_this_chat_needs_no_number():
    assert lookup_start("我想查一下刚才那个工单", "BX20261206-0001").get("ticket_no") == "BX20261206-0001"


def test_a_number_typed_by_the_customer_wins():
    slots = lookup_start("查一下 BX20261122-0042", "BX20261206-0001")
    assert slots.get("ticket_no") != "BX20261206-0001"


def test_without_a_ticket_in_this_chat_the_number_is_asked():
    assert lookup_start("我想查一下我的工单", None).get("ticket_no") is None


def test_an_answer_to_the_number_question_is_not_replaced():
    assert lookup_start("我记不得了", "BX20261206-0001", requested="ticket_no").get("ticket_no") is None


def test_the_ticket_for_the_product_named_is_the_one_looked_up(clean_db, monkeypatch):
    """"刚才修油烟机那个单子师傅几点来" with an installation filed after the repair showed the
    installation, and "热水器修好了没" a cleaning ticket (chat probe, 2026-12-08)."""
    from kefu import db
    from kefu.services import tickets
    from kefu.services.tickets import TicketRequest

    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    with db.session_scope(clean_db) as session:
        def filed(kind, product, conversation="lookup-1"):
            return tickets.create_ticket(session, TicketRequest(type=kind, phone="13812345678", product=product, description="…",
                                                                conversation_id=conversation)).ticket.ticket_no
        hood = filed("repair", "油烟机")
        ac = filed("installation", "空调")
        elsewhere = filed("repair", "热水器", conversation="another-chat")
    assert lookup_start("刚才修油烟机那个单子师傅几点来", ac).get("ticket_no") == hood
    assert lookup_start("空调那个单子呢", ac).get("ticket_no") == ac
    # a product no ticket of this chat is for: the number is asked, no other ticket shown
    assert lookup_start("我上次报的那个热水器修好了没", ac).get("ticket_no") is None
    assert lookup_start("热水器那个单子", elsewhere).get("ticket_no") == elsewhere  # the one looked up by number before
