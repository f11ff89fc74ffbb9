"""Found chatting with the running bot as customers do (REST channel, 2026-12-07):

- the order look-up crashed on every answer to its order-number question (its validator was
  the return form's, which calls helpers only the return form has): "抱歉，系统刚才繁忙";
- "洗碗机报修" / "空调要报修" was taken as the fault description, so the fault was never asked;
- "就是装一下" / "新的" to "新机安装、移机，还是拆机？" was no answer: the question looped;
- "下周五" (DIET: "下" + "周五", Rasa keeps the last piece) was booked for this week's Friday;
- "查一下工单 BX202611220042" (no dash) was not a ticket number: asked for it again.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import forms
from tests.actions.test_dialogue_actions import action, tracker_of, user

MONDAY_8_BEIJING = dt.datetime(2026, 12, 7, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def service_db(clean_db, monkeypatch):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    return clean_db


def in_form(text: str, form: str, requested: str, intent: str = "inform", slots: Optional[Dict[str, Any]] = None,
            entities: Optional[List[Dict[str, Any]]] = None, metadata: Optional[Dict[str, Any]] = None) -> Tracker:
    event = user(text, intent, entities=entities or [])
    event["metadata"] = metadata or {}
    event["parse_data"]["metadata"] = metadata or {}
    return tracker_of([action("action_listen"), event], {"requested_slot": requested, **(slots or {})}, active_loop=form)


# --- order look-up ------------------------------------------------------------------------


def validate_lookup_order(text: str, metadata: Optional[Dict[str, Any]] = None):
    tracker = in_form(text, "order_lookup_form", "order_no", metadata=metadata)
    dispatcher = CollectingDispatcher()
    result = asyncio.run(forms.ValidateOrderLookupForm().validate_order_no(text, dispatcher, tracker, {}))
    return dispatcher.messages, result


def test_order_lookup_takes_the_order_number_without_the_return_forms_extras():
    messages, result = validate_lookup_order("DD202611180001")
    assert result == {"order_no": "DD202611180001"} and messages == []
    messages, result = validate_lookup_order("dd202611180001到哪了")
    assert result == {"order_no": "DD202611180001"} and messages == []


def test_order_lookup_rejects_a_wrong_number():
    messages, result = validate_lookup_order("13812345678")
    assert result == {"order_no": None}
    assert [m.get("response") for m in messages] == ["utter_invalid_order_no"]


def test_forgotten_order_number_in_the_lookup_says_where_it_is_and_offers_a_person():
    messages, result = validate_lookup_order("订单号忘了")
    assert result == {"order_no": None}  # a look-up cannot go on without it (no "未提供")
    assert messages[0]["response"] == "utter_order_no_unknown"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_human"]


def test_forgotten_order_number_in_the_lookup_offers_a_signed_in_customer_their_orders(service_db):
    from tests.actions.test_dialogue_actions import signed_in_customer_with_an_order

    token = signed_in_customer_with_an_order(service_db)
    messages, result = validate_lookup_order("不记得订单号", {"customer_token": token})
    assert result == {"order_no": None}
    assert messages[0]["response"] == "utter_pick_recent_order"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["DD202611150042"]  # no "不填订单号" here


def test_the_return_form_still_goes_on_without_an_order_number():
    tracker = in_form("订单号找不到", "return_form", "order_no")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(forms.ValidateReturnForm().validate_order_no("订单号找不到", dispatcher, tracker, {}))
    assert result == {"order_no": forms.NO_ORDER_NO}
    assert [m.get("response") for m in dispatcher.messages] == ["utter_no_order_no_ok"]


# --- fault description ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["洗碗机报修", "空调要报修", "冰箱坏了报修", "滚筒洗衣机报修一下", "我要报修"])
def test_a_product_name_is_not_a_fault_description(text):
    tracker = in_form(text, "repair_form", "product", intent="report_repair")
    assert forms.ValidateRepairForm().validate_fault_description(text, CollectingDispatcher(), tracker, {}) == {
        "fault_description": None}


@pytest.mark.parametrize("text", ["净水器出水很小 要报修", "热水器不加热", "油烟机吸力不行了要报修", "洗衣鸡漏水"])
def test_a_described_fault_is_kept_with_its_product(text):
    tracker = in_form(text, "repair_form", "product", intent="report_repair")
    result = forms.ValidateRepairForm().validate_fault_description(text, CollectingDispatcher(), tracker, {})
    assert result["fault_description"] == text


# --- installation kind ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["就是装一下", "新的", "帮我装个", "全新的还没拆箱"])
def test_plain_words_for_a_new_installation_answer_the_kind_question(text):
    tracker = in_form(text, "installation_form", "install_kind", intent="affirm", slots={"product": "油烟机"})
    validator = forms.ValidateInstallationForm()
    assert asyncio.run(validator.extract_install_kind(CollectingDispatcher(), tracker, {})) == {"install_kind": "新装"}


def test_moving_and_removing_are_still_told_apart():
    validator = forms.ValidateInstallationForm()
    assert validator._kind("搬家了要移机") == "移机"
    assert validator._kind("拆下来不要了") == "拆机"


# --- appointment time -----------------------------------------------------------------------


def validate_time(text: str, value: str, entities: List[Dict[str, Any]], monkeypatch) -> Dict[str, Any]:
    monkeypatch.setattr(forms, "now_local", lambda: MONDAY_8_BEIJING)
    tracker = in_form(text, "repair_form", "appointment_time", entities=entities)
    return forms.ValidateRepairForm().validate_appointment_time(value, CollectingDispatcher(), tracker, {})


def time_entity(text: str, piece: str, start: int) -> Dict[str, Any]:
    assert text[start:start + len(piece)] == piece
    return {"entity": "time", "value": piece, "start": start, "end": start + len(piece)}


def test_next_friday_cut_in_two_by_the_nlu_is_next_weeks_friday(monkeypatch):
    text = "下周五"
    result = validate_time(text, "周五", [time_entity(text, "下", 0), time_entity(text, "周五", 1)], monkeypatch)
    assert result["appointment_start"].startswith("2026-12-18")  # not this week's Friday, 12-11


def test_separate_time_expressions_keep_the_last_one(monkeypatch):
    text = "我后天有事 改到下周二下午吧"
    entities = [time_entity(text, "后天", 1), time_entity(text, "下周二下午", 8)]
    result = validate_time(text, "下周二下午", entities, monkeypatch)
    assert result["appointment_start"] == "2026-12-15T13:00:00+08:00"


def test_the_whole_answer_wins_when_it_says_the_time_more_exactly_than_the_span(monkeypatch):
    """"这周六下午吧 周末才在家": DIET's last time span "周末" booked Saturday 09:00–18:00
    (chat probe, 2026-12-08)."""
    text = "这周六下午吧 周末才在家"
    entities = [time_entity(text, "这周六下午", 0), time_entity(text, "周末", 7)]
    result = validate_time(text, "周末", entities, monkeypatch)
    assert (result["appointment_start"], result["appointment_end"]) == ("2026-12-12T13:00:00+08:00", "2026-12-12T18:00:00+08:00")


def test_a_negated_afternoon_is_not_booked(monkeypatch):
    text = "能改成明天上午吗 下午我不在家"
    result = validate_time(text, "下午", [time_entity(text, "明天上午", 3), time_entity(text, "下午", 9)], monkeypatch)
    assert result["appointment_start"] == "2026-12-08T09:00:00+08:00"
    # the same as a reschedule request right after the ticket (no question asked): it booked
    # today's afternoon (chat probe, 2026-12-08, second run)
    tracker = in_form(text, "ticket_lookup_form", None, intent="reschedule_ticket",
                      entities=[time_entity(text, "明天上午", 3), time_entity(text, "下午", 9)])
    result = forms.ValidateTicketLookupForm().validate_appointment_time("下午", CollectingDispatcher(), tracker, {})
    assert result["appointment_start"] == "2026-12-08T09:00:00+08:00"


@pytest.mark.parametrize("text, pieces", [
    ("明天下午2-5点", ["明天下午2-5点"]),
    ("明天下午2-5点", ["明天下午", "5点"]),     # the window's start tagged by no entity
    ("明天下午2-5点", ["明天下午2", "5点"]),    # the range sign tagged by none
    ("明天下午2-5点", ["明天", "5点"]),
    ("明天下午2-5点", []),
    ("明天下午2点到5点吧", ["明天下午2点"]),    # the window's end tagged by none
    ("那就明天下午两点到五点", ["明天下午", "五点"]),
])
def test_a_time_window_books_its_start_and_keeps_its_end(monkeypatch, text, pieces):
    """Chat probe: "明天下午2-5点" was booked for 17:00, the end of the window."""
    entities, pos = [], 0
    for piece in pieces:
        pos = text.index(piece, pos)
        entities.append(time_entity(text, piece, pos))
        pos += len(piece)
    result = validate_time(text, pieces[-1] if pieces else text, entities, monkeypatch)
    assert (result["appointment_start"], result["appointment_end"]) == (
        "2026-12-08T14:00:00+08:00", "2026-12-08T17:00:00+08:00")
    assert result["appointment_time"] == "12月8日（周二）下午 14:00–17:00"


def test_a_house_number_is_no_date_when_the_time_was_not_asked(monkeypatch):
    """"地址是沈阳市和平区南京南街126号 …你们师傅来之前先打电话" (DIET's time span: "之前先") was
    booked for the 26th when the whole message was parsed (chat probe, 2026-12-07)."""
    monkeypatch.setattr(forms, "now_local", lambda: MONDAY_8_BEIJING)
    text = "地址是沈阳市和平区南京南街126号 她一个人在家 你们师傅来之前先打电话"
    tracker = in_form(text, "repair_form", "address", entities=[time_entity(text, "之前先", text.index("之前先"))])
    dispatcher = CollectingDispatcher()
    result = forms.ValidateRepairForm().validate_appointment_time("之前先", dispatcher, tracker, {})
    assert result["appointment_time"] is None and dispatcher.messages == []


def test_a_whole_answer_without_entities_is_parsed_as_before(monkeypatch):
    result = validate_time("明天下午", "明天下午", [], monkeypatch)
    assert result["appointment_start"] == "2026-12-08T13:00:00+08:00"


# --- ticket number without its dash ---------------------------------------------------------


def test_a_ticket_number_typed_without_its_dash_is_taken_from_the_request():
    text = "查一下工单 BX202611220042"
    tracker = tracker_of([action("action_listen"), user(text, "query_ticket")], {}, active_loop="ticket_lookup_form")
    result = asyncio.run(forms.ValidateTicketLookupForm().extract_ticket_no(CollectingDispatcher(), tracker, {}))
    assert result == {"ticket_no": "BX20261122-0042"}


def test_the_ticket_just_told_is_still_used_when_none_is_typed():
    tracker = tracker_of([action("action_listen"), user("查一下刚才那个工单", "query_ticket")],
                         {"last_ticket_no": "BX20261207-0003"}, active_loop="ticket_lookup_form")
    result = asyncio.run(forms.ValidateTicketLookupForm().extract_ticket_no(CollectingDispatcher(), tracker, {}))
    assert result == {"ticket_no": "BX20261207-0003"}
    asked = tracker_of([action("action_listen"), user("BX202611220042")], {"requested_slot": "ticket_no"},
                       active_loop="ticket_lookup_form")
    assert asyncio.run(forms.ValidateTicketLookupForm().extract_ticket_no(CollectingDispatcher(), asked, {})) == {}


# --- another request that names a product / ticket / time is not the form's answer -------------

REPAIR_DOMAIN = {"forms": {"repair_form": {"required_slots": ["product", "product_model", "fault_description",
                                                                "address", "phone", "appointment_time"]}},
                 "slots": {}}
ASKED_ADDRESS = {"product": "空调", "product_model": "未知", "fault_description": "空调漏水", "requested_slot": "address"}


def repair_turn(text: str, intent: str, extracted: Dict[str, Any], slots: Dict[str, Any],
                entities: List[Dict[str, Any]]) -> Tracker:
    """The repair form's validation after action_extract_slots filled ``extracted`` from ``text``."""
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities}
    events: List[Dict[str, Any]] = [
        {"event": "active_loop", "name": "repair_form"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": parse, "metadata": {}},
        # what Rasa's FormAction sends to the validation action: the requested slot, its own
        # ActionExecuted, then the slot candidates extracted from the message
        {"event": "slot", "name": "requested_slot", "value": slots.get("requested_slot")},
        {"event": "action", "name": "repair_form"},
    ] + [{"event": "slot", "name": name, "value": value} for name, value in extracted.items()]
    return Tracker("probe-1", {**slots, **extracted}, parse, events, False, None, {"name": "repair_form"}, "action_listen")


def validate_repair(tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(forms.ValidateRepairForm().run(dispatcher, tracker, REPAIR_DOMAIN))
    return dispatcher.messages, events


def rejected(events: List[Dict[str, Any]]) -> bool:
    return events == [{"event": "action_execution_rejected", "name": "repair_form", "policy": None,
                       "confidence": None, "timestamp": None}]


@pytest.mark.parametrize("text, intent, extracted, entities", [
    ("你们空调质量太差了 我要投诉", "complain", {"product": "空调"}, [{"entity": "product", "value": "空调"}]),
    ("算了空调我不修了 我要退货", "request_return", {"product": "空调"}, [{"entity": "product", "value": "空调"}]),
    ("空调保修几年", "faq", {"product": "空调"}, [{"entity": "product", "value": "空调"}]),
    ("不对 我是想查一下之前报修的进度", "query_ticket", {"appointment_time": "之前"},
     [{"entity": "time", "value": "之前", "start": 8, "end": 10}]),
])
def test_another_request_naming_a_product_or_time_is_rejected_not_taken_as_the_answer(
        service_db, text, intent, extracted, entities):
    messages, events = validate_repair(repair_turn(text, intent, extracted, ASKED_ADDRESS, entities))
    assert rejected(events), events
    assert messages == []  # no "这个时间小暖没看懂" about a time that was no answer


def test_an_answer_to_the_question_with_another_intent_still_fills_it(service_db):
    text = "那算了 还是给你吧 13420975933"  # read as stop_form, but it is the phone asked for
    slots = {**ASKED_ADDRESS, "address": "厦门市思明区湖滨南路1号", "requested_slot": "phone"}
    _, events = validate_repair(repair_turn(text, "stop_form", {"phone": "13420975933"}, slots,
                                            [{"entity": "phone", "value": "13420975933"}]))
    assert {"event": "slot", "name": "phone", "value": "13420975933", "timestamp": None} in events
    assert not any(e["event"] == "action_execution_rejected" for e in events)


def test_a_plain_answer_is_not_rejected(service_db):
    text = "昆明市五华区东风西路1号"
    _, events = validate_repair(repair_turn(text, "inform", {"address": text}, ASKED_ADDRESS,
                                            [{"entity": "address", "value": text}]))
    assert {"event": "slot", "name": "address", "value": text, "timestamp": None} in events


def test_the_form_asks_again_after_the_rule_answered_the_other_request(service_db):
    """"冰箱保修几年啊" at the address question: the FAQ answer, then the form's question (the
    form runs a second time on the same message and must not reject it again)."""
    tracker = repair_turn("冰箱保修几年啊", "faq", {"product": "冰箱"}, ASKED_ADDRESS, [{"entity": "product", "value": "冰箱"}])
    first = validate_repair(tracker)[1]
    assert rejected(first)
    tracker.events.extend([first[0], {"event": "action", "name": "action_answer_faq"},
                           {"event": "slot", "name": "requested_slot", "value": "address"},
                           {"event": "action", "name": "repair_form"}])
    messages, again = validate_repair(tracker)
    assert not any(e["event"] == "action_execution_rejected" for e in again)


def test_a_time_outside_the_visit_hours_is_refused_with_the_hours(monkeypatch):
    monkeypatch.setattr(forms, "now_local", lambda: MONDAY_8_BEIJING)
    dispatcher = CollectingDispatcher()
    tracker = in_form("今晚八点以后吧", "repair_form", "appointment_time")
    result = forms.ValidateRepairForm().validate_appointment_time("今晚八点以后吧", dispatcher, tracker, {})
    assert result["appointment_time"] is None  # no ticket promises a visit at 20:00 or later
    assert [m["response"] for m in dispatcher.messages] == ["utter_time_outside_visit_hours"]
    assert (dispatcher.messages[0]["visit_open"], dispatcher.messages[0]["visit_close"]) == ("8:00", "20:00")


def test_a_time_not_understood_is_still_asked_again_as_before(monkeypatch):
    monkeypatch.setattr(forms, "now_local", lambda: MONDAY_8_BEIJING)
    dispatcher = CollectingDispatcher()
    tracker = in_form("等我想想", "repair_form", "appointment_time")
    forms.ValidateRepairForm().validate_appointment_time("等我想想", dispatcher, tracker, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_invalid_time"]


# --- partial address correction -------------------------------------------------------------


def correct_address(text: str, value: str, old: Optional[str]):
    events = ([{"event": "slot", "name": "address", "value": old}] if old else []) + [
        action("action_listen"), user(text, "correct")]
    asked = "phone" if old else "address"
    tracker = tracker_of(events, {"requested_slot": asked, "address": value}, active_loop="repair_form")
    dispatcher = CollectingDispatcher()
    result = forms.ValidateRepairForm().validate_address(value, dispatcher, tracker, {})
    return result, dispatcher.messages


def test_a_corrected_room_number_keeps_the_street():
    result, messages = correct_address("门牌号错了 是602室", "602室", "上海市浦东新区张江路100弄5号601室")
    assert result == {"address": "上海市浦东新区张江路100弄5号602室"}
    assert messages[0]["response"] == "utter_address_corrected" and messages[0]["address"] == result["address"]


def test_a_whole_new_address_replaces_the_old_one():
    result, messages = correct_address("地址错了 是杭州市西湖区文三路90号", "杭州市西湖区文三路90号", "上海市浦东新区张江路100弄5号601室")
    assert result == {"address": "杭州市西湖区文三路90号"} and messages == []


def test_a_first_answer_that_is_only_a_room_is_still_refused():
    result, messages = correct_address("602室", "602室", None)
    assert result == {"address": None} and messages[0]["response"] == "utter_invalid_address"


@pytest.mark.parametrize("asked, text, expected", [
    ("phone", "不好意思地址写错了 是盘龙区北京路985号 翠园小区3幢", "盘龙区北京路985号翠园小区3幢"),
    ("phone", "深圳市福田區華強北路1002號 不對 那是公司 家裡是福田區景田北路18號3棟1202", "福田区景田北路18号3栋1202"),
    ("appointment_time", "地址错了，是602室", "上海市浦东新区张江路100弄5号602室"),
])
def test_an_address_corrected_at_the_next_question_changes_the_address(asked, text, expected, monkeypatch):
    """It was answered "这个号码好像不是有效的手机号呢" (chat probe, 2026-12-07)."""
    monkeypatch.setattr(forms, "now_local", lambda: MONDAY_8_BEIJING)
    old = "上海市浦东新区张江路100弄5号601室"
    tracker = tracker_of([action("action_listen"), user(text, "inform")], {"requested_slot": asked, "address": old},
                         active_loop="repair_form")
    dispatcher = CollectingDispatcher()
    validate = getattr(forms.ValidateRepairForm(), f"validate_{asked}")
    result = validate(text, dispatcher, tracker, {})
    assert result["address"] == expected and result[asked] is None
    assert [m["response"] for m in dispatcher.messages] == ["utter_address_corrected"]


def test_an_address_corrected_at_the_phone_question_is_confirmed_when_the_nlu_already_took_it():
    """The NLU's address entity had already replaced the slot: no confirmation, only "没能识别出
    有效的手机号" (widget chat, 2026-12-07)."""
    old, new = "杭州市西湖区文三路200号3幢501", "拱墅区莫干山路100号7幢302"
    text = "不好意思地址写错了 是" + new
    events = [{"event": "slot", "name": "address", "value": old}, action("action_listen"), user(text, "correct"),
              {"event": "slot", "name": "address", "value": new}]
    tracker = tracker_of(events, {"requested_slot": "phone", "address": new}, active_loop="repair_form")
    dispatcher = CollectingDispatcher()
    result = forms.ValidateRepairForm().validate_phone(text, dispatcher, tracker, {})
    assert result == {"phone": None, "address": new}
    assert [(m["response"], m["address"]) for m in dispatcher.messages] == [("utter_address_corrected", new)]


@pytest.mark.parametrize("text", ["能不能今天就来", "那旧的谁来拉走", "我在公司 晚上才回家"])
def test_other_words_at_the_phone_question_are_no_address(text):
    tracker = tracker_of([action("action_listen"), user(text, "inform")],
                         {"requested_slot": "phone", "address": "上海市浦东新区张江路100弄5号601室"}, active_loop="repair_form")
    dispatcher = CollectingDispatcher()
    result = forms.ValidateRepairForm().validate_phone(text, dispatcher, tracker, {})
    assert result == {"phone": None} and [m["response"] for m in dispatcher.messages] == ["utter_invalid_phone"]


def test_an_address_given_twice_in_one_answer_keeps_the_corrected_one():
    text = "西湖区文三路478号华星时代广场 不对这是公司的 家里是 拱墅区莫干山路100号7幢302"
    result, messages = correct_address(text, text, None)
    assert result == {"address": "拱墅区莫干山路100号7幢302"} and messages == []


# --- the model question ---------------------------------------------------------------------


@pytest.mark.parametrize("text, intent, slots, expected", [
    ("洗衣机", "inform", {}, {"product_model": None, "product": "洗衣机"}),       # names the machine
    ("是洗衣机", "inform", {"product": "洗衣机"}, {"product_model": None}),
    ("还是报修吧", "report_repair", {"product": "空调"}, {"product_model": None}),  # back after an FAQ
    ("KFR-35GW", "inform", {"product": "空调"}, {"product_model": "KFR-35GW"}),
    ("云佳系列", "inform", {"product": "空调"}, {"product_model": "云佳系列"}),    # a series name is kept
])
def test_the_model_question_takes_only_a_model(text, intent, slots, expected):
    tracker = in_form(text, "repair_form", "product_model", intent=intent, slots=slots)
    result = forms.ValidateRepairForm().validate_product_model(text, CollectingDispatcher(), tracker, {})
    assert result == expected


# --- one message with everything ------------------------------------------------------------

EVERYTHING = "我是张三，电话13812345678，住上海市浦东新区张江路100弄5号601室，家里格力空调不制冷了，明天下午来修"


def test_the_address_and_time_are_taken_from_a_message_with_everything_in_it(monkeypatch):
    # DIET's spans for that message (model 20261207-031252): the address with ",家里", and the time
    monkeypatch.setattr(forms, "now_local", lambda: MONDAY_8_BEIJING)
    entities = [{"entity": "address", "value": "上海市浦东新区张江路100弄5号601室,家里"}, {"entity": "address", "value": "明天下午"}]
    tracker = in_form(EVERYTHING, "repair_form", "product_model", intent="report_repair", entities=entities)
    dispatcher = CollectingDispatcher()
    result = forms.ValidateRepairForm().validate_address("明天下午", dispatcher, tracker, {})  # Rasa's pick
    assert dispatcher.messages == []
    assert result["address"] == "上海市浦东新区张江路100弄5号601室"  # not the whole message
    assert result["appointment_start"] == "2026-12-08T13:00:00+08:00"  # 明天下午, heard as an address


def test_a_stray_address_piece_in_a_request_waits_for_the_address_question():
    tracker = in_form(EVERYTHING, "repair_form", "product_model", intent="report_repair")
    dispatcher = CollectingDispatcher()
    assert forms.ValidateRepairForm().validate_address("区1803", dispatcher, tracker, {}) == {"address": None}
    assert dispatcher.messages == []  # no "地址不完整" before the address was even asked


# --- answers typed at another question (chat probe 2026-12-07: model "13812345678", fault = address) --


@pytest.mark.parametrize("validator, asked, form, text, expected", [
    ("validate_product_model", "product_model", "repair_form", "13812345678", {"product_model": None, "phone": "13812345678"}),
    ("validate_product_model", "product_model", "repair_form", "我叫王大明", {"product_model": None, "person_name": "王大明"}),
    ("validate_product_model", "product_model", "repair_form", "我姓张", {"product_model": None, "person_name": "张"}),
    ("validate_fault_description", "fault_description", "repair_form", "免贵姓张", {"fault_description": None, "person_name": "张"}),
    ("validate_fault_description", "fault_description", "repair_form", "我姓欧阳", {"fault_description": None, "person_name": "欧阳"}),
    ("validate_product_model", "product_model", "repair_form", "不造", {"product_model": "未知"}),
    ("validate_fault_description", "fault_description", "repair_form", "北京市海淀区中关村大街1号1001",
     {"fault_description": None, "address": "北京市海淀区中关村大街1号1001"}),
    ("validate_fault_description", "fault_description", "repair_form", "外机在楼顶，一直响",   # a fault, not an address
     {"fault_description": "外机在楼顶，一直响"}),
    ("validate_complaint_demand", "complaint_demand", "complaint_form", "电话 139 1122 3344",
     {"complaint_demand": None, "phone": "13911223344"}),
    ("validate_return_reason", "return_reason", "return_form", "15012345678", {"return_reason": None, "phone": "15012345678"}),
])
def test_an_answer_to_another_question_fills_its_own_slot(validator, asked, form, text, expected):
    tracker = in_form(text, form, asked)
    form_validator = {"repair_form": forms.ValidateRepairForm, "complaint_form": forms.ValidateComplaintForm,
                      "return_form": forms.ValidateReturnForm}[form]()
    assert getattr(form_validator, validator)(text, CollectingDispatcher(), tracker, {}) == expected


def test_resuming_words_do_not_overwrite_the_fault_description():
    events = [{"event": "slot", "name": "fault_description", "value": "空调不制热"}, action("action_listen"),
              user("那继续吧", "report_repair")]
    tracker = tracker_of(events, {"requested_slot": "fault_description"}, active_loop="repair_form")
    result = forms.ValidateRepairForm().validate_fault_description("那继续吧", CollectingDispatcher(), tracker, {})
    assert result == {"fault_description": "空调不制热"}


def test_a_demand_read_as_a_complaint_does_not_replace_the_complaint():
    complaint = "师傅说好上午来，等了一上午都没人来"
    events = [{"event": "slot", "name": "complaint_detail", "value": complaint}, action("action_listen"),
              user("让他今天下午必须来，还要给个说法", "complain")]
    tracker = tracker_of(events, {"requested_slot": "complaint_demand"}, active_loop="complaint_form")
    result = forms.ValidateComplaintForm().validate_complaint_detail("让他今天下午必须来，还要给个说法",
                                                                     CollectingDispatcher(), tracker, {})
    assert result == {"complaint_detail": complaint}


# --- order numbers of other shops (chat probe: "JD123456789012" asked for the DD number forever) --


def validate_return_order(text: str, earlier: Optional[List[Dict[str, Any]]] = None):
    events = [{"event": "active_loop", "name": "return_form"}] + (earlier or []) + [action("action_listen"), user(text)]
    tracker = tracker_of(events, {"requested_slot": "order_no"}, active_loop="return_form")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(forms.ValidateReturnForm().validate_order_no(text, dispatcher, tracker, {}))
    return [m.get("response") for m in dispatcher.messages], result


def test_another_shops_order_number_goes_on_and_is_kept():
    said, result = validate_return_order("JD123456789012")
    assert said == ["utter_order_no_elsewhere"]
    assert result == {"order_no": forms.NO_ORDER_NO, "external_order_no": "JD123456789012"}


def test_a_second_wrong_number_goes_on_without_it():
    said, result = validate_return_order("DD2026")
    assert said == ["utter_invalid_order_no"] and result == {"order_no": None}
    refused = {"event": "bot", "text": "订单号格式好像不对", "metadata": {"utter_action": "utter_invalid_order_no"}}
    said, result = validate_return_order("DD2026111", [refused])
    assert said == ["utter_no_order_no_ok"] and result == {"order_no": forms.NO_ORDER_NO, "external_order_no": None}


def test_the_same_address_as_before_is_taken_for_a_second_request():
    first = "北京市朝阳区望京街道花家地北里3号楼2单元501"
    events = [{"event": "slot", "name": "address", "value": first}, {"event": "slot", "name": "address", "value": None},
              action("action_listen"), user("地址一样的")]
    tracker = tracker_of(events, {"requested_slot": "address"}, active_loop="installation_form")
    result = forms.ValidateInstallationForm().validate_address("地址一样的", CollectingDispatcher(), tracker, {})
    assert result == {"address": first}


def test_a_phone_number_typed_with_the_address_is_not_part_of_it():
    text = "杭州市西湖区文三路90号3栋501，电话15811112222"
    tracker = tracker_of([action("action_listen"), user(text)], {"requested_slot": "address"}, active_loop="repair_form")
    result = forms.ValidateRepairForm().validate_address(text, CollectingDispatcher(), tracker, {})
    assert result == {"address": "杭州市西湖区文三路90号3栋501"}


@pytest.mark.parametrize("text, intent, expected", [
    ("晚上十点", "faq", {"appointment_time": "晚上十点"}),     # heard as the service-hours FAQ
    ("明天下午", "inform", {}),                                # the slot mapping takes it already
    ("你们几点上班？", "faq", {}),                             # a real question stays an FAQ
    ("保修多久", "faq", {}),
])
def test_a_time_heard_as_an_faq_answers_the_time_question(text, intent, expected, monkeypatch):
    monkeypatch.setattr(forms, "now_local", lambda: MONDAY_8_BEIJING)
    tracker = in_form(text, "repair_form", "appointment_time", intent=intent)
    assert asyncio.run(forms.ValidateRepairForm().extract_appointment_time(CollectingDispatcher(), tracker, {})) == expected


def test_the_return_kind_again_is_no_reason():
    tracker = in_form("退货", "return_form", "return_reason", slots={"return_kind": "退货"})
    result = forms.ValidateReturnForm().validate_return_reason("退货", CollectingDispatcher(), tracker, {})
    assert result == {"return_reason": None, "return_kind": "退货"}
    tracker = in_form("门封条坏了", "return_form", "return_reason", slots={"return_kind": "换货"})
    assert forms.ValidateReturnForm().validate_return_reason("门封条坏了", CollectingDispatcher(), tracker, {}) == {
        "return_reason": "门封条坏了"}


@pytest.mark.parametrize("text", ["没有订单号，是在门店买的", "实体店买的", "别人送的没订单"])
def test_a_purchase_without_an_order_number_files_the_return_without_it(text):
    tracker = in_form(text, "return_form", "order_no")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(forms.ValidateReturnForm().validate_order_no(text, dispatcher, tracker, {}))
    assert result == {"order_no": forms.NO_ORDER_NO}
    assert [m.get("response") for m in dispatcher.messages] == ["utter_no_order_no_ok"]


@pytest.mark.parametrize("text", ["地址就是下单那个地址", "地址跟订单一样", "地址一样的", "老地址"])
def test_an_address_we_do_not_have_is_asked_for_with_that_said(text):
    """"地址就是下单那个地址" got "地址好像不太完整" (chat probe, 2026-12-07)."""
    tracker = tracker_of([action("action_listen"), user(text, "inform")], {"requested_slot": "address"},
                         active_loop="installation_form")
    dispatcher = CollectingDispatcher()
    result = forms.ValidateInstallationForm().validate_address(text, dispatcher, tracker, {})
    assert result["address"] is None and [m["response"] for m in dispatcher.messages] == ["utter_address_not_known"]


def test_an_order_number_at_the_address_question_is_no_reference_to_an_address():
    tracker = tracker_of([action("action_listen"), user("订单号DD202612070033", "inform")], {"requested_slot": "address"},
                         active_loop="installation_form")
    dispatcher = CollectingDispatcher()
    result = forms.ValidateInstallationForm().validate_address("订单号DD202612070033", dispatcher, tracker, {})
    assert result["address"] is None and [m["response"] for m in dispatcher.messages] == ["utter_invalid_address"]


def test_the_address_on_file_of_a_signed_in_customer_is_taken():
    tracker = tracker_of([action("action_listen"), user("地址跟订单一样", "inform")],
                         {"requested_slot": "address", "customer_address": "上海市浦东新区张江路100弄5号601室"},
                         active_loop="installation_form")
    result = forms.ValidateInstallationForm().validate_address("地址跟订单一样", CollectingDispatcher(), tracker, {})
    assert result["address"] == "上海市浦东新区张江路100弄5号601室"
