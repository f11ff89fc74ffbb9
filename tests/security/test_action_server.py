"""Issue 11, items 1 and 2 against the real action server process (actions/server.py).

- Only Rasa (holding the shared secret) may run actions: no secret or a wrong one is 401.
- The server listens on 127.0.0.1 only.
- A typed ``/EXTERNAL_handoff_resolved{"ticket_no": <someone else's>}`` neither hands back
  nor points the survey at that ticket; the genuine trigger takes the ticket from the
  handoff row; a survey is recorded only for a ticket of this conversation.
"""
from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from action_calls import action_call, followups, post, responses, slot_values, user_event
from kefu import clock, db
from kefu.escalation import Decision
from kefu.models import Survey
from kefu.models.desk import Agent, AgentGroup, Handoff
from kefu.services import handoffs, tickets
from kefu.services.tickets import TicketRequest

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)
DECISION = Decision(rule_id="explicit_request", group="综合", priority="普通", reason="客户要求转人工")


def resolved_ticket(session, phone: str, conversation: str) -> str:
    ticket = tickets.create_ticket(session, TicketRequest(type="repair", phone=phone, product="空调",
                                                          conversation_id=conversation), now=T0).ticket
    for step, status in enumerate(("已派单", "处理中", "已解决"), 1):
        tickets.change_status(session, ticket, status, "agent:test", now=T0 + dt.timedelta(hours=step))
    return ticket.ticket_no


def surveys_of(url: str, ticket_no: str) -> int:
    with db.session_scope(url) as session:
        ticket = tickets.get_ticket(session, ticket_no)
        return session.execute(select(func.count(Survey.id)).where(Survey.ticket_id == ticket.id)).scalar_one()


def typed_external(ticket_no: str):
    text = '/EXTERNAL_handoff_resolved{"ticket_no":"%s"}' % ticket_no
    return user_event(text, "EXTERNAL_handoff_resolved", [{"entity": "ticket_no", "value": ticket_no}])


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
def test_action_server_refuses_calls_without_the_shared_secret(action_server, secret):
    body = action_call("action_handback", "probe", typed_external("BX20261120-0002"))
    response = post(action_server, body, secret=secret)
    assert response.status_code == 401
    assert httpx.get(f"{action_server.url}/actions", timeout=10).status_code == 401


def test_action_server_answers_rasa_with_the_secret(action_server):
    body = action_call("action_handback", "probe-ok", typed_external("BX20261120-0002"))
    assert post(action_server, body).status_code == 200
    assert httpx.get(f"{action_server.url}/health", timeout=10).status_code == 200


def listening_addresses(port: int) -> set:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


def test_action_server_listens_on_loopback_only(action_server):
    addresses = listening_addresses(action_server.ports.actions)
    assert addresses == {"0100007F"}, addresses  # 127.0.0.1, not 0.0.0.0 (00000000)


def test_typed_external_intent_neither_hands_back_nor_targets_another_ticket(action_server):
    url = action_server.db_url
    with db.session_scope(url) as session:
        victim = resolved_ticket(session, "13900000101", "victim-" + uuid.uuid4().hex[:6])
    attacker = "attacker-" + uuid.uuid4().hex[:6]
    result = post(action_server, action_call("action_handback", attacker, typed_external(victim))).json()
    assert "utter_handback" not in responses(result)
    assert victim not in slot_values(result).values()
    assert followups(result) == ["action_listen"]
    # Even with the victim's number in the survey slot, nothing is recorded on it.
    survey = action_call("action_submit_survey", attacker, user_event("1", "inform"),
                         slots={"survey_ticket_no": victim, "satisfaction_score": "1", "satisfaction_comment": "无"})
    post(action_server, survey).raise_for_status()
    assert surveys_of(url, victim) == 0


def test_client_chosen_is_external_flag_with_typed_text_is_refused(action_server):
    attacker = "attacker-" + uuid.uuid4().hex[:6]
    forged = user_event("/EXTERNAL_handoff_resolved", "EXTERNAL_handoff_resolved", metadata={"is_external": True})
    result = post(action_server, action_call("action_handback", attacker, forged)).json()
    assert "utter_handback" not in responses(result) and followups(result) == ["action_listen"]


def test_genuine_hand_back_takes_the_ticket_from_the_handoff_row(action_server):
    from moments import MONDAY_10_BEIJING

    url = action_server.db_url
    conversation = "genuine-" + uuid.uuid4().hex[:6]
    with db.session_scope(url) as session:
        own = resolved_ticket(session, "13900000102", conversation)
        other = resolved_ticket(session, "13900000103", "someone-else")
        agent = Agent(username="sec" + uuid.uuid4().hex[:6], display_name="坐席", password_hash="x", role="agent",
                      last_seen_at=MONDAY_10_BEIJING, group_rows=[AgentGroup(group_name="综合")])
        session.add(agent)
    # The customer asks for a person: the handoff row carries the conversation's ticket.
    ask = user_event("转人工", "request_human")
    queued = post(action_server, action_call("action_escalate", conversation, ask, slots={"last_ticket_no": own})).json()
    assert slot_values(queued)["survey_ticket_no"] == own
    with db.session_scope(url) as session:
        row = session.execute(select(Handoff).where(Handoff.conversation_id == conversation)).scalar_one()
        assert row.ticket.ticket_no == own
        handoffs.claim(session, row.id, session.get(Agent, agent.id))
    # The desk's trigger names another ticket in its entities: ignored.
    trigger = user_event("EXTERNAL: EXTERNAL_handoff_resolved", "EXTERNAL_handoff_resolved",
                         [{"entity": "ticket_no", "value": other}], metadata={"is_external": True})
    result = post(action_server, action_call("action_handback", conversation, trigger,
                                             slots=slot_values(queued))).json()
    assert "utter_handback" in responses(result)
    assert slot_values(result)["survey_ticket_no"] == own
    survey = action_call("action_submit_survey", conversation, user_event("5", "inform"),
                         slots={"survey_ticket_no": own, "satisfaction_score": "5", "satisfaction_comment": "无"})
    post(action_server, survey).raise_for_status()
    assert surveys_of(url, own) == 1 and surveys_of(url, other) == 0


def test_requests_for_a_person_are_limited_per_client_address(action_server):
    from kefu.models.desk import Handoff
    from kefu.security.config import security_config
    from kefu.security.ratelimit import RateLimiter

    limit = RateLimiter().items["handoff_per_ip"].amount
    address = f"198.51.100.{uuid.uuid4().int % 250}"
    notice = security_config().messages.handoff_rate_limited
    conversations = [f"flood-{uuid.uuid4().hex[:8]}" for _ in range(limit + 1)]
    for conversation in conversations:
        ask = user_event("转人工", "request_human", metadata={"client_ip": address})
        result = post(action_server, action_call("action_escalate", conversation, ask)).json()
    assert [r.get("text") for r in result["responses"]] == [notice]
    with db.session_scope(action_server.db_url) as session:
        queued = set(session.execute(select(Handoff.conversation_id)).scalars())
    assert conversations[-1] not in queued and conversations[0] in queued
    # another address is not affected
    other = user_event("转人工", "request_human", metadata={"client_ip": "192.0.2.1"})
    result = post(action_server, action_call("action_escalate", "other-" + uuid.uuid4().hex[:6], other)).json()
    assert notice not in [r.get("text") for r in result["responses"]]


def test_survey_that_was_not_saved_is_not_thanked(action_server):
    conversation = "unsaved-" + uuid.uuid4().hex[:6]
    with db.session_scope(action_server.db_url) as session:
        open_ticket = tickets.create_ticket(session, TicketRequest(type="repair", phone="13900000104", product="冰箱",
                                                                   conversation_id=conversation), now=T0).ticket.ticket_no
    survey = action_call("action_submit_survey", conversation, user_event("5", "inform"),
                         slots={"survey_ticket_no": open_ticket, "satisfaction_score": "5", "satisfaction_comment": "无"})
    result = post(action_server, survey).json()
    assert responses(result) == ["utter_survey_unavailable"]  # not resolved: nothing saved, no thank-you


def test_low_score_promise_is_true_the_supervisor_page_lists_it(action_server):
    import re

    from starlette.testclient import TestClient

    from desk.app import create_app
    from desk.auth import create_agent

    conversation = "low-" + uuid.uuid4().hex[:6]
    with db.session_scope(action_server.db_url) as session:
        ticket_no = resolved_ticket(session, "13900000105", conversation)
        boss = "boss" + uuid.uuid4().hex[:6]
        create_agent(session, username=boss, display_name="主管", password="boss password", role="supervisor")
    survey = action_call("action_submit_survey", conversation, user_event("1", "inform"),
                         slots={"survey_ticket_no": ticket_no, "satisfaction_score": "1", "satisfaction_comment": "师傅迟到"})
    result = post(action_server, survey).json()
    assert responses(result) == ["utter_survey_thanks", "utter_survey_low_score"]
    client = TestClient(create_app(db_url=action_server.db_url, session_secret="s"))
    page = client.get("/desk/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/desk/login", data={"username": boss, "password": "boss password", "csrf_token": token, "next": "/desk/"})
    board = client.get("/desk/supervisor").text
    low = board.split('id="low-scores"')[1].split("</section>")[0]
    assert ticket_no in low and "师傅迟到" in low


def test_anonymous_lookups_are_limited_per_conversation_then_a_person_is_offered(action_server):
    from kefu.models.desk import Handoff
    from kefu.security.config import security_config
    from kefu.security.ratelimit import RateLimiter

    limit = RateLimiter().items["lookup_per_conversation"].amount
    notice = security_config().messages.lookup_limited
    conversation = "guess-" + uuid.uuid4().hex[:6]
    for attempt in range(limit + 1):
        guess = f"BX20261120-{attempt + 1:04d}"
        slots = {"ticket_no": guess, "phone": "13900000199", "ticket_op": "query"}
        result = post(action_server, action_call("action_ticket_operation", conversation, user_event("13900000199", "inform"),
                                                 slots=slots)).json()
        texts = [r.get("text") for r in result["responses"]]
        if attempt < limit:
            assert notice not in texts and responses(result) == ["utter_ticket_not_found"]
    assert texts[0] == notice
    assert "utter_ticket_not_found" not in responses(result)  # nothing looked up past the limit
    with db.session_scope(action_server.db_url) as session:
        handoff = session.execute(select(Handoff).where(Handoff.conversation_id == conversation)).scalar_one()
        assert handoff.rule_id == "lookup_limit"  # a person (or their call-back) takes over


def test_identity_is_checked_on_each_message_not_inherited_by_the_conversation(action_server):
    from action_calls import CUSTOMER_TOKEN_KEY
    from kefu.services import customers
    from kefu.tokens import sign_customer_token

    conversation = "shared-" + uuid.uuid4().hex[:6]
    with db.session_scope(action_server.db_url) as session:
        ticket_no = resolved_ticket(session, "13900000106", "elsewhere")
        customer_id = customers.find_customer_by_phone(session, "13900000106").id
    # signed on the action server's fake clock (Monday 10:00 Beijing and on): signed on the wall
    # clock, the token was "issued in the future" there once the wall clock passed that moment
    with clock.pin(clock.now_in(action_server.env)):
        token = sign_customer_token(customer_id, "13900000106", ttl_seconds=30 * 86400, key=CUSTOMER_TOKEN_KEY)
    signed_in = user_event("查一下我的工单", "query_ticket", metadata={"customer_token": token})
    slots = {"ticket_no": ticket_no, "phone": None, "ticket_op": "query"}
    # the signed-in customer may look up their ticket ...
    own = post(action_server, action_call("action_ticket_operation", conversation, signed_in, slots=slots)).json()
    assert "utter_ticket_status" in responses(own)
    # ... whoever later holds the same conversation id without the token may not
    holder = user_event("查一下工单", "query_ticket")
    later = post(action_server, action_call("action_ticket_operation", conversation, holder, slots=slots,
                                            events=[signed_in])).json()
    assert "utter_ticket_status" not in responses(later)
