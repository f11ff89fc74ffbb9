"""Signed-in customers: the greeting starts from the archive -- for a verified token only."""
from __future__ import annotations

import datetime as dt

import pytest

from actions import archive as archive_actions
from actions import escalation
from kefu import db
from kefu.models import Order, RegisteredProduct
from kefu.services import customers, surveys, tickets
from kefu.services.tickets import TicketRequest
from kefu.tokens import sign_customer_token
from tests.actions.test_actions import make_tracker, responses, run
from tests.moments import MONDAY_10_BEIJING

NOW = MONDAY_10_BEIJING  # Monday 2026-12-07 10:00
DAY = dt.timedelta(days=1)
PHONE = "13900000701"


@pytest.fixture
def known(clean_db, monkeypatch, pinned_clock):
    """周明: a washing-machine repair with a visit tomorrow morning, an order on its way, a
    water purifier due for new filters, and a ticket resolved two days ago without a survey."""
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    with db.session_scope(clean_db) as session:
        owner, _ = customers.get_or_create_customer(session, PHONE, name="周明")
        owner.tier = "VIP"
        session.flush()
        repair = tickets.create_ticket(session, TicketRequest(
            type="repair", customer_id=owner.id, product="洗衣机", description="洗衣机不脱水",
            appointment_start=NOW.replace(hour=9) + DAY, appointment_end=NOW.replace(hour=11) + DAY),
            now=dt.datetime(2026, 12, 1, 9, tzinfo=NOW.tzinfo)).ticket
        done = tickets.create_ticket(session, TicketRequest(type="repair", customer_id=owner.id, product="空调"),
                                     now=NOW - 4 * DAY).ticket
        for step, status in enumerate(("已派单", "处理中", "已解决")):
            tickets.change_status(session, done, status, "agent:li", now=NOW - 2 * DAY + step * dt.timedelta(minutes=5))
        session.add(Order(order_no="DD202612050001", customer=owner, items=[{"product": "冰箱", "model": "BCD-520"}],
                          status="已付款", shipping_status="运输中", ordered_at=NOW - 2 * DAY,
                          expected_delivery=(NOW + 2 * DAY).date()))
        session.add(RegisteredProduct(customer=owner, category="净水器", model="RO-500",
                                      install_date=(NOW - 190 * DAY).date()))
        session.flush()
        facts = {"customer_id": owner.id, "repair": repair.ticket_no, "done": done.ticket_no}
    return facts


def signed(customer_id: int, text: str = "你好", intent: str = "greet"):
    token = sign_customer_token(customer_id, PHONE)
    return make_tracker({}, text=text, intent=intent, metadata={"customer_token": token})


def texts(messages):
    return [m.get("text") or "" for m in messages]


def test_verified_customer_is_greeted_by_name_with_their_ticket(known):
    messages, events = run(archive_actions.ActionGreet(), signed(known["customer_id"]))
    assert messages[0]["response"] == "utter_greet_known" and messages[0]["name"] == "周明"
    line = next(m for m in messages if known["repair"] in (m.get("text") or ""))
    assert line["text"] == f"您12月1日报修的洗衣机，师傅明天上午上门（工单号 {known['repair']}）。"
    assert [b["title"] for b in line["buttons"]] == ["查询进度", "催一下", "改约时间"]
    assert line["buttons"][1]["payload"] == f'/urge_ticket{{"ticket_no": "{known["repair"]}"}}'
    order = next(m for m in messages if "DD202612050001" in (m.get("text") or ""))
    assert order["text"] == "您的订单 DD202612050001（冰箱 BCD-520）正在运输途中，预计12月9日送达。"
    reminder = next(m for m in messages if "净水器" in (m.get("text") or ""))
    assert "更换滤芯" in reminder["text"]
    assert reminder["buttons"] == [{"title": "预约净水器保养", "payload": '/book_maintenance{"product": "净水器"}'}]
    # the 回访 survey of the ticket resolved two days ago (service.yml: after 24 h)
    assert "utter_followup_survey" in responses(messages)
    assert {"event": "slot", "name": "survey_ticket_no", "value": known["done"], "timestamp": None} in events
    assert {"event": "followup", "name": "survey_form", "timestamp": None} in events


def test_maintenance_is_mentioned_once_per_period(known):
    first, _ = run(archive_actions.ActionGreet(), signed(known["customer_id"]))
    again, _ = run(archive_actions.ActionGreet(), signed(known["customer_id"]))
    assert any("更换滤芯" in t for t in texts(first))
    assert not any("更换滤芯" in t for t in texts(again))
    assert any(known["repair"] in t for t in texts(again))  # tickets are shown every time


@pytest.mark.parametrize("tracker", [
    make_tracker({"phone": PHONE, "person_name": "周明"}, text=f"你好，我是周明，手机{PHONE}", intent="greet"),
    make_tracker({}, text="你好", intent="greet", metadata={"customer_token": "forged.token.value"}),
])
def test_a_typed_phone_or_name_or_forged_token_never_opens_the_archive(known, tracker):
    messages, events = run(archive_actions.ActionGreet(), tracker)
    assert responses(messages) == ["utter_greet"] and len(messages) == 1
    assert events == []
    assert not any(known["repair"] in t or "DD202612050001" in t for t in texts(messages))


def test_an_expired_token_is_anonymous(known, pinned_clock):
    tracker = signed(known["customer_id"])
    pinned_clock.advance(days=2)  # tokens live one day (service.yml)
    messages, _ = run(archive_actions.ActionGreet(), tracker)
    assert responses(messages) == ["utter_greet"]


def test_survey_is_not_asked_twice(known, clean_db):
    with db.session_scope(clean_db) as session:
        surveys.record_survey(session, tickets.get_ticket(session, known["done"]), 5)
    messages, events = run(archive_actions.ActionGreet(), signed(known["customer_id"]))
    assert "utter_followup_survey" not in responses(messages)
    assert not any(e.get("event") == "followup" for e in events)


def test_ticket_lines_read_naturally():
    now = NOW
    base = {"ticket_no": "TS20261201-0001", "type": "complaint", "type_label": "投诉", "status": "受理",
            "product": None, "created_at": "2026-12-01T09:00+08:00", "appointment_start": None}
    assert archive_actions.ticket_line(base, now) == "您12月1日提交的投诉工单，已受理，正在为您处理（工单号 TS20261201-0001）。"
    repair = {**base, "ticket_no": "BX20261201-0002", "type": "repair", "type_label": "报修", "product": "空调",
              "status": "已派单", "appointment_start": "2026-12-05T14:00+08:00"}  # the visit was before today
    assert archive_actions.ticket_line(repair, now) == \
        "您12月1日报修的空调，已派单，师傅会尽快联系您确认上门时间（工单号 BX20261201-0002）。"
    later = {**repair, "appointment_start": "2026-12-11T14:00+08:00"}
    assert archive_actions.ticket_line(later, now) == "您12月1日报修的空调，师傅12月11日（周五）下午上门（工单号 BX20261201-0002）。"
    assert [b["title"] for b in archive_actions.ticket_buttons(base)] == ["查询进度", "催一下"]  # nothing to reschedule


def test_book_maintenance_fills_the_repair_visit(known):
    tracker = make_tracker({"product": "净水器"}, text='/book_maintenance{"product": "净水器"}', intent="book_maintenance")
    messages, events = run(archive_actions.ActionBookMaintenance(), tracker)
    assert messages[0]["response"] == "utter_book_maintenance" and messages[0]["item"] == "更换滤芯"
    assert {"event": "slot", "name": "fault_description", "value": "定期保养：更换滤芯", "timestamp": None} in events


def test_vip_routing_needs_the_token(known, clean_db):
    with db.session_scope(clean_db) as session:
        typed = escalation._customer_facts(session, None, PHONE)
        verified = escalation._customer_facts(session, known["customer_id"], None)
    assert typed == {"customer_id": known["customer_id"], "tier": None}
    assert verified == {"customer_id": known["customer_id"], "tier": "VIP"}


def test_a_greeting_that_reports_a_fault_starts_the_repair(clean_db, monkeypatch):
    """"喂 你好 我是帮我妈问的 她家的燃气灶左边那个灶眼打不着" (NLU: greet) got the general
    greeting and the customer's details were then lost (chat probe, 2026-12-07)."""
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    text = "喂 你好 我是帮我妈问的 她家的燃气灶左边那个灶眼打不着"
    messages, events = run(archive_actions.ActionGreet(), make_tracker({}, text=text, intent="greet"))
    assert "utter_greet" not in responses(messages)
    assert {"event": "slot", "name": "product", "value": "燃气灶", "timestamp": None} in events
    assert events[-1] == {"event": "followup", "name": "repair_form", "timestamp": None}
    plain, _ = run(archive_actions.ActionGreet(), make_tracker({}, text="你好，在吗", intent="greet"))
    assert responses(plain) == ["utter_greet"]


def _faq_turn(text: str, topic: str, slots: dict, events: list | None = None):
    tracker = make_tracker(slots, text=text, intent="faq", events=events)
    tracker.latest_message["response_selector"] = {"faq": {"response": {"intent_response_key": f"faq/{topic}"}}}
    tracker.active_loop = {"name": "repair_form"}
    return tracker


def test_an_unreadable_nameplate_at_the_model_question_is_an_unknown_model():
    """"铭牌看不清" (heard as "where is the model?") got the answer and the question again, three
    times in a row in the simulator."""
    messages, events = run(archive_actions.ActionAnswerFaq(), _faq_turn("铭牌看不清", "model_location", {"requested_slot": "product_model"}))
    assert messages == [] and events == [{"event": "slot", "name": "product_model", "value": "未知", "timestamp": None}]


def test_where_the_model_is_is_answered_once_at_the_model_question():
    first, events = run(archive_actions.ActionAnswerFaq(), _faq_turn("型号在哪看啊", "model_location", {"requested_slot": "product_model"}))
    assert responses(first) == ["utter_faq/model_location"] and events == []
    said = [{"event": "active_loop", "name": "repair_form"},
            {"event": "bot", "text": "……", "metadata": {"utter_action": "utter_faq/model_location"}}]
    again, events = run(archive_actions.ActionAnswerFaq(), _faq_turn("型号在哪看啊", "model_location", {"requested_slot": "product_model"}, said))
    assert again == [] and events[0]["value"] == "未知"
