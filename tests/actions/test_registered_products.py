"""Registered products (保养卡) beyond the repair form: installation, returns and FAQ answers
that depend on the model -- for the verified token owner only; a typed phone unlocks nothing."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Dict, Optional

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import archive as archive_actions
from actions import forms, requests
from kefu import db
from kefu.models import Order, RegisteredProduct, Ticket
from kefu.services import customers
from kefu.tokens import sign_customer_token
from tests.actions.test_actions import make_tracker, responses, run
from tests.moments import MONDAY_10_BEIJING

PHONE = "13900000802"
TODAY = MONDAY_10_BEIJING.date()  # 2026-12-07
INSTALL_ORDER = ["product", "install_kind", "address", "phone", "appointment_time"]


@pytest.fixture
def owner(clean_db, monkeypatch, pinned_clock):
    """吴芳: an air conditioner (KFR-35GW, installed 300 days ago, warranty to 2029-03-01), a
    water purifier (RO-500, card says next filters 2027-01-10), two washing machines, and an
    order of one fridge (BCD-520)."""
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    with db.session_scope(clean_db) as session:
        customer, _ = customers.get_or_create_customer(session, PHONE, name="吴芳")
        session.add_all([
            RegisteredProduct(customer=customer, category="空调", model="KFR-35GW",
                              install_date=TODAY - dt.timedelta(days=300), warranty_end=dt.date(2029, 3, 1)),
            RegisteredProduct(customer=customer, category="净水器", model="RO-500", next_maintenance=dt.date(2027, 1, 10)),
            RegisteredProduct(customer=customer, category="洗衣机", model="XQG100-B14"),
            RegisteredProduct(customer=customer, category="洗衣机", model="XQB80-21"),
        ])
        session.add(Order(order_no="DD202612010007", customer=customer, items=[{"product": "冰箱", "model": "BCD-520"}],
                          status="已完成", shipping_status="已签收", ordered_at=MONDAY_10_BEIJING - dt.timedelta(days=6)))
        session.flush()
        return {"customer_id": customer.id, "token": sign_customer_token(customer.id, PHONE)}


def signed(owner: Dict[str, Any], slots: Dict[str, Any], text: str = "", intent: str = "inform",
           selector: Optional[str] = None):
    tracker = make_tracker(slots, text=text, intent=intent, metadata={"customer_token": owner["token"]})
    if selector:
        tracker.latest_message["response_selector"] = {"faq": {"response": {"intent_response_key": f"faq/{selector}"}}}
    return tracker


def typed_phone(slots: Dict[str, Any], text: str = "", intent: str = "inform", selector: Optional[str] = None):
    """The same customer's phone and name typed in chat: no token, so no archive."""
    tracker = make_tracker({"phone": PHONE, "person_name": "吴芳", **slots}, text=text or f"我是吴芳，手机{PHONE}", intent=intent)
    if selector:
        tracker.latest_message["response_selector"] = {"faq": {"response": {"intent_response_key": f"faq/{selector}"}}}
    return tracker


def required(tracker) -> list:
    return asyncio.run(forms.ValidateInstallationForm().required_slots(INSTALL_ORDER, CollectingDispatcher(), tracker, {}))


# --- installation -------------------------------------------------------------------------


def test_moving_a_registered_machine_confirms_its_model(owner):
    tracker = signed(owner, {"product": "空调", "install_kind": "移机"})
    assert required(tracker) == ["product", "install_kind", "product_model", "address", "appointment_time"]
    messages, events = run(requests.ActionAskProductModel(), tracker)
    assert messages[0]["text"] == "是上次登记的 KFR-35GW 型号空调吗？"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["KFR-35GW", "不清楚"]
    assert {"event": "slot", "name": "registered_model", "value": "KFR-35GW", "timestamp": None} in events


def test_installation_model_question_only_for_an_owned_machine_of_the_verified_owner(owner):
    # a new machine is not the registered one; a product without a card asks nothing extra
    assert "product_model" not in required(signed(owner, {"product": "空调", "install_kind": "新装"}))
    assert "product_model" not in required(signed(owner, {"product": "油烟机", "install_kind": "移机"}))
    # the same customer typing their phone: nothing is looked up
    assert required(typed_phone({"product": "空调", "install_kind": "移机"})) == INSTALL_ORDER
    anonymous, events = run(requests.ActionAskProductModel(), typed_phone({"product": "空调", "install_kind": "移机"}))
    assert responses(anonymous) == ["utter_ask_product_model"] and events == []


def test_installation_answer_to_the_model_question_is_extracted_and_confirmed(owner):
    validator = forms.ValidateInstallationForm()
    slots = {"product": "空调", "install_kind": "移机", "requested_slot": "product_model", "registered_model": "KFR-35GW"}
    tracker = signed(owner, slots, text="是的", intent="affirm")
    assert asyncio.run(validator.extract_product_model(CollectingDispatcher(), tracker, {})) == {"product_model": "是的"}
    assert validator.validate_product_model("是的", CollectingDispatcher(), tracker, {}) == {"product_model": "KFR-35GW"}
    # the button's payload, or the model typed in any case, keeps the card's spelling
    for answer in ("KFR-35GW/BpR3", "kfr-35gw/bpr3", "是，KFR-35GW/BpR3"):
        typed = signed(owner, {**slots, "registered_model": "KFR-35GW/BpR3"}, text=answer, intent="inform")
        assert validator.validate_product_model(answer, CollectingDispatcher(), typed, {}) == {"product_model": "KFR-35GW/BpR3"}
    other = signed(owner, {**slots, "registered_model": "KFR-35GW/BpR3"}, text="KFR-26GW", intent="inform")
    assert validator.validate_product_model("KFR-26GW", CollectingDispatcher(), other, {}) == {"product_model": "KFR-26GW"}
    denied = signed(owner, slots, text="不清楚", intent="deny")
    assert validator.validate_product_model("不清楚", CollectingDispatcher(), denied, {}) == {"product_model": forms.UNKNOWN_MODEL}
    # an interruption (domain.yml's not_intent for the slot's free-text mapping) is not an answer
    domain = {"slots": {"product_model": {"mappings": [{"type": "from_text", "not_intent": ["faq"]}]}}}
    faq = signed(owner, slots, text="空调怎么清洗", intent="faq")
    assert asyncio.run(validator.extract_product_model(CollectingDispatcher(), faq, domain)) == {}
    # not asked: nothing extracted
    asked_address = signed(owner, {**slots, "requested_slot": "address"}, text="上海市浦东新区张江路1号")
    assert asyncio.run(validator.extract_product_model(CollectingDispatcher(), asked_address, {})) == {}


def test_installation_ticket_records_the_confirmed_model(owner, clean_db):
    slots = {"product": "空调", "install_kind": "移机", "product_model": "KFR-35GW", "address": "上海市浦东新区张江路100弄5号601室",
             "appointment_start": None, "appointment_end": None}
    messages, events = run(requests.ActionSubmitInstallation(), signed(owner, slots))
    assert "utter_ticket_created_installation" in responses(messages)
    with db.session_scope(clean_db) as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.product, ticket.product_model, ticket.customer_id) == ("空调", "KFR-35GW", owner["customer_id"])
    assert {"event": "slot", "name": "product_model", "value": None, "timestamp": None} in events


def test_several_cards_of_one_product_are_offered_to_pick(owner):
    messages, events = run(requests.ActionAskProductModel(), signed(owner, {"product": "洗衣机"}))
    assert messages[0]["text"] == "您登记过 2 台洗衣机，请问是哪一台？"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["XQG100-B14", "XQB80-21", "不清楚"]
    assert {"event": "slot", "name": "registered_model", "value": None, "timestamp": None} in events


# --- returns ------------------------------------------------------------------------------


def _order(tracker, text: str):
    dispatcher = CollectingDispatcher()
    result = asyncio.run(forms.ValidateReturnForm().validate_order_no(text, dispatcher, tracker, {}))
    return dispatcher.messages, result


def test_return_of_the_owners_order_confirms_product_and_model(owner, clean_db):
    messages, result = _order(signed(owner, {}, text="DD202612010007"), "DD202612010007")
    assert result == {"order_no": "DD202612010007", "product": "冰箱", "product_model": "BCD-520"}
    assert messages[0]["text"] == "好的，为您办理订单 DD202612010007 里的冰箱 BCD-520。"
    slots = {**result, "return_kind": "换货", "return_reason": "冷藏室不制冷"}
    created, events = run(requests.ActionSubmitReturn(), signed(owner, slots))
    assert "utter_ticket_created_return" in responses(created)
    with db.session_scope(clean_db) as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.type, ticket.product, ticket.product_model) == ("return", "冰箱", "BCD-520")
    assert {"event": "slot", "name": "product_model", "value": None, "timestamp": None} in events


def test_return_order_model_falls_back_to_the_single_card(owner, clean_db):
    with db.session_scope(clean_db) as session:
        customer = customers.get_customer(session, owner["customer_id"])
        session.add(Order(order_no="DD202611200003", customer=customer, items=[{"product": "净水器"}],
                          status="已完成", shipping_status="已签收", ordered_at=MONDAY_10_BEIJING - dt.timedelta(days=17)))
    _, result = _order(signed(owner, {}, text="DD202611200003"), "DD202611200003")
    assert result == {"order_no": "DD202611200003", "product": "净水器", "product_model": "RO-500"}


def test_return_order_number_with_a_typed_phone_reveals_nothing(owner):
    messages, result = _order(typed_phone({}, text="DD202612010007"), "DD202612010007")
    assert result == {"order_no": "DD202612010007"} and messages == []
    # someone else's token does not open this customer's order either
    with db.session_scope() as session:
        other, _ = customers.get_or_create_customer(session, "13900000999")
        session.flush()
        other_token = sign_customer_token(other.id, "13900000999")
    stranger = make_tracker({}, text="DD202612010007", metadata={"customer_token": other_token})
    messages, result = _order(stranger, "DD202612010007")
    assert result == {"order_no": "DD202612010007"} and messages == []


# --- FAQ answers that depend on the model ---------------------------------------------------


def faq(tracker):
    messages, events = run(archive_actions.ActionAnswerFaq(), tracker)
    assert events == []
    return messages


def test_filter_faq_adds_the_owners_purifier_card(owner):
    messages = faq(signed(owner, {}, text="滤芯多久换一次", intent="faq", selector="filter_replacement"))
    assert responses(messages) == ["utter_faq/filter_replacement"]
    assert messages[1]["text"] == "您保养卡上登记的净水器（RO-500），下次更换滤芯在2027年1月10日，需要的话可以直接预约师傅上门。"
    assert messages[1]["buttons"] == [{"title": "预约净水器保养", "payload": '/book_maintenance{"product": "净水器"}'}]


def test_ac_cleaning_faq_counts_from_the_installation_date(owner):
    messages = faq(signed(owner, {}, text="空调怎么清洗", intent="faq", selector="ac_cleaning"))
    due = TODAY - dt.timedelta(days=300) + dt.timedelta(days=365)  # catalogue: every 365 days
    assert messages[1]["text"] == f"您保养卡上登记的空调（KFR-35GW），下次深度清洗保养在{due.year}年{due.month}月{due.day}日，需要的话可以直接预约师傅上门。"


def test_warranty_faq_uses_the_named_product_or_the_only_card(owner, clean_db):
    messages = faq(signed(owner, {}, text="我家空调保修期到什么时候", intent="faq", selector="warranty_period"))
    assert messages[1]["text"] == "您保养卡上登记的空调（KFR-35GW）保修期至2029年3月1日，目前在保修期内。"
    assert "buttons" not in messages[1] or not messages[1]["buttons"]
    # no product named and four cards: which one is meant is unknown -> the general answer only
    general = faq(signed(owner, {}, text="保修期是多久", intent="faq", selector="warranty_period"))
    assert responses(general) == ["utter_faq/warranty_period"] and len(general) == 1


def test_model_faq_needs_exactly_one_card_and_the_token(owner):
    two_washers = faq(signed(owner, {}, text="洗衣机怎么清洗", intent="faq", selector="washer_cleaning"))
    assert responses(two_washers) == ["utter_faq/washer_cleaning"] and len(two_washers) == 1
    typed = faq(typed_phone({}, text="滤芯多久换一次", intent="faq", selector="filter_replacement"))
    assert responses(typed) == ["utter_faq/filter_replacement"] and len(typed) == 1
    forged = make_tracker({}, text="滤芯多久换一次", intent="faq", metadata={"customer_token": owner["token"][:-2] + "xx"})
    forged.latest_message["response_selector"] = {"faq": {"response": {"intent_response_key": "faq/filter_replacement"}}}
    assert len(faq(forged)) == 1
    # a topic that does not depend on the model: no card even for the owner
    fee = faq(signed(owner, {}, text="上门费怎么收", intent="faq", selector="home_visit_fee"))
    assert responses(fee) == ["utter_faq/home_visit_fee"] and len(fee) == 1


def test_faq_without_a_selected_topic_asks_to_rephrase(owner):
    assert responses(faq(signed(owner, {}, text="嗯", intent="faq"))) == ["utter_ask_rephrase"]
