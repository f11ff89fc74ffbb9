"""Found chatting with the running bot as customers do (REST channel, fourth probe, 2026-12-07 evening)."""
from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import forms
from tests.actions.test_dialogue_actions import action, tracker_of, user

@pytest.fixture
def service_db(clean_db, monkeypatch):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    return clean_db


FIRST_ADDRESS = "北京市朝阳区望京街道花家地北里3号楼2单元501"


def second_request(text: str, requested: str) -> tuple:
    """A second request in one chat: the first one's address and phone were filled, then cleared."""
    events = [{"event": "slot", "name": "address", "value": FIRST_ADDRESS},
              {"event": "slot", "name": "phone", "value": "13812345678"},
              {"event": "slot", "name": "address", "value": None}, {"event": "slot", "name": "phone", "value": None},
              action("action_listen"), user(text)]
    return tracker_of(events, {"requested_slot": requested}, active_loop="repair_form"), CollectingDispatcher()


def test_the_phone_being_the_same_says_nothing_about_the_address():
    """"电话也一样" at the address question was taken for "地址一样" and answered "查不到您之前填写的地址"."""
    tracker, dispatcher = second_request("电话也一样", "address")
    result = forms.ValidateRepairForm().validate_address("电话也一样", dispatcher, tracker, {})
    assert result["address"] is None
    assert "utter_address_not_known" not in [m.get("response") for m in dispatcher.messages]


def test_address_and_phone_the_same_takes_the_earlier_address():
    for text in ("地址一样，电话也一样", "地址电话都一样"):
        tracker, dispatcher = second_request(text, "address")
        assert forms.ValidateRepairForm().validate_address(text, dispatcher, tracker, {})["address"] == FIRST_ADDRESS


def test_the_same_phone_as_before_is_taken_for_a_second_request():
    for text in ("电话也一样", "号码跟刚才一样", "同上"):
        tracker, dispatcher = second_request(text, "phone")
        assert forms.ValidateRepairForm().validate_phone(text, dispatcher, tracker, {}) == {"phone": "13812345678"}
        assert dispatcher.messages == []


def test_the_same_phone_without_an_earlier_one_is_asked_for():
    tracker = tracker_of([action("action_listen"), user("电话一样")], {"requested_slot": "phone"}, active_loop="repair_form")
    result = forms.ValidateRepairForm().validate_phone("电话一样", CollectingDispatcher(), tracker, {})
    assert result == {"phone": None}


def test_a_house_number_in_an_address_correction_books_no_day():
    """"等一下 地址说错了 是27号附1号 3栋2单元801" at the phone question booked the 27th."""
    text = "等一下 地址说错了 是27号附1号 3栋2单元801"
    tracker = tracker_of([action("action_listen"), user(text, "correct")], {"requested_slot": "phone"}, active_loop="repair_form")
    assert forms.time_heard_as_address(["27号", "1号", "3栋2单元801"], tracker) == {}
    assert forms.time_heard_as_address(["明天下午"], tracker)["appointment_time"]


def test_a_bought_machine_to_be_fitted_is_a_new_installation():
    form = forms.ValidateInstallationForm()
    assert form._kind("买了个油烟机和燃气灶 想约师傅来装") == "新装"
    assert form._kind("新买的 还没拆箱") == "新装"
    assert form._kind("买了新房子 空调要移过去 移机") == "移机"


def test_a_second_answer_without_a_kind_books_a_new_installation():
    """"老板的 一套", the address, the phone, the time: the kind question came five times."""
    form = forms.ValidateInstallationForm()
    tracker = tracker_of([action("action_listen"), user("老板的 一套")], {"requested_slot": "install_kind"}, active_loop="installation_form")
    dispatcher = CollectingDispatcher()
    assert form.validate_install_kind("老板的 一套", dispatcher, tracker, {}) == {"install_kind": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_invalid_install_kind"]
    hinted = {"event": "bot", "text": "抱歉，这一步需要先确认服务类型。", "metadata": {"utter_action": "utter_invalid_install_kind"}}
    tracker = tracker_of([{"event": "active_loop", "name": "installation_form"}, hinted, action("action_listen"), user("长沙市岳麓区麓谷大道658号")],
                         {"requested_slot": "install_kind"}, active_loop="installation_form")
    dispatcher = CollectingDispatcher()
    assert form.validate_install_kind("长沙市岳麓区麓谷大道658号", dispatcher, tracker, {}) == {"install_kind": "新装"}
    assert [m["response"] for m in dispatcher.messages] == ["utter_install_kind_assumed"]


def run_courtesy(text: str, intent: str, said_before: list, form: str = "ticket_lookup_form", asked: str = "ticket_no"):
    import asyncio

    from actions.courtesy import ActionCourtesy

    bot = [{"event": "bot", "text": "…", "metadata": {"utter_action": r}} for r in said_before]
    tracker = tracker_of([{"event": "active_loop", "name": form}, *bot, action("action_listen"), user(text, intent)],
                         {"requested_slot": asked}, active_loop=form)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionCourtesy().run(dispatcher, tracker, {}))
    return [m.get("response") for m in dispatcher.messages], events


def test_thanks_at_a_look_ups_number_question_ends_the_look_up():
    """"好的 谢谢" / "嗯嗯 知道了 谢啦" got "不用客气" and the number question again, turn after turn."""
    for text, before in [("好的 谢谢", []), ("嗯嗯 知道了 谢啦", ["utter_invalid_ticket_no"]), ("好吧 辛苦了", [])]:
        said, events = run_courtesy(text, "thank", before)
        assert said == ["utter_look_up_set_aside"], text
        assert {"event": "active_loop", "name": None, "timestamp": None} in events
        assert events[-1]["event"] == "followup" and events[-1]["name"] == "action_listen"
    said, _ = run_courtesy("好的", "affirm", ["utter_invalid_order_no"], form="order_lookup_form", asked="order_no")
    assert said == ["utter_look_up_set_aside"]


def test_a_bare_ok_to_the_first_number_question_keeps_the_look_up():
    said, events = run_courtesy("好的", "affirm", [])
    assert said == ["utter_ack_short"] and events == []
    said, events = run_courtesy("谢谢", "thank", [], form="repair_form", asked="address")
    assert said == ["utter_welcome_short"] and events == []


def test_a_ticket_number_in_a_complaint_is_noted_in_it():
    """"工单KF20261128045" at the complaint form's phone question opened the ticket look-up."""
    from tests.actions.test_switch_or_answer import run_switch

    said, events = run_switch("工单KF20261128045", "phone", form="complaint_form", intent="query_ticket")
    assert said == []
    assert events[0] == {"event": "active_loop", "name": "complaint_form", "timestamp": None}
    assert {"event": "slot", "name": "complaint_detail", "value": "（相关单号：KF20261128045）", "timestamp": None} in events
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "complaint_form"
    said, events = run_switch("帮我查一下工单BX20261203-0017的进度", "phone", form="complaint_form", intent="query_ticket")
    assert events[-1]["name"] == "ticket_lookup_form"  # a real question about a ticket still switches


def test_a_ticket_number_at_the_demand_question_is_no_demand():
    tracker = tracker_of([action("action_listen"), user("工单号KF20261203017")],
                         {"requested_slot": "complaint_demand", "complaint_detail": "师傅没来"}, active_loop="complaint_form")
    result = forms.ValidateComplaintForm().validate_complaint_demand("工单号KF20261203017", CollectingDispatcher(), tracker, {})
    assert result == {"complaint_demand": None, "complaint_detail": "师傅没来（相关单号：KF20261203017）"}
    tracker = tracker_of([action("action_listen"), user("13701862539")], {"requested_slot": "complaint_demand"}, active_loop="complaint_form")
    assert forms.ValidateComplaintForm().validate_complaint_demand("13701862539", CollectingDispatcher(), tracker, {}) == {
        "complaint_demand": None, "phone": "13701862539"}


def test_the_noted_reference_survives_the_detail_validation():
    events = [{"event": "slot", "name": "complaint_detail", "value": "师傅没来"}, action("action_listen"), user("工单KF20261128045")]
    tracker = tracker_of(events, {"requested_slot": "phone"}, active_loop="complaint_form")
    noted = "师傅没来（相关单号：KF20261128045）"
    assert forms.ValidateComplaintForm().validate_complaint_detail(noted, CollectingDispatcher(), tracker, {}) == {"complaint_detail": noted}
    assert forms.ValidateComplaintForm().validate_complaint_detail("我要投诉", CollectingDispatcher(), tracker, {}) == {
        "complaint_detail": "师傅没来"}


def test_a_corrected_order_number_at_the_reason_question_is_no_reason():
    """"不对 少打了一位 JD293847561024" became the return's reason."""
    text = "不对 少打了一位 JD293847561024"
    tracker = tracker_of([action("action_listen"), user(text)], {"requested_slot": "return_reason"}, active_loop="return_form")
    result = forms.ValidateReturnForm().validate_return_reason(text, CollectingDispatcher(), tracker, {})
    assert result == {"return_reason": None, "order_no": forms.NO_ORDER_NO, "external_order_no": "JD293847561024"}
    text = "订单DD202611150042"
    tracker = tracker_of([action("action_listen"), user(text)], {"requested_slot": "return_reason"}, active_loop="return_form")
    assert forms.ValidateReturnForm().validate_return_reason(text, CollectingDispatcher(), tracker, {}) == {
        "return_reason": None, "order_no": "DD202611150042"}
    text = "JD293847561024这单的热水器外壳裂了"  # a reason naming its order: still the reason
    tracker = tracker_of([action("action_listen"), user(text)], {"requested_slot": "return_reason"}, active_loop="return_form")
    assert forms.ValidateReturnForm().validate_return_reason(text, CollectingDispatcher(), tracker, {}) == {"return_reason": text}


def test_a_look_up_read_into_the_return_forms_order_answer_is_the_answer():
    """"订单号我不知道在哪里看…" opened the ticket look-up, "油烟机 订单 JD310294857362" the order
    look-up, from the return form's order question (chat probe, second run). The answer is
    judged here as the validator would: the raw text once reached the slot unvalidated and the
    return failed at submission ("系统暂时无法保存")."""
    from tests.actions.test_switch_or_answer import run_switch

    said, events = run_switch("订单号我不知道在哪里看 是我儿子帮我下单的", "order_no", form="return_form", intent="query_ticket")
    assert said == ["utter_no_order_no_ok"]
    assert {"event": "slot", "name": "order_no", "value": forms.NO_ORDER_NO, "timestamp": None} in events
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "return_form"
    said, events = run_switch("油烟机 订单 JD310294857362", "order_no", form="return_form", intent="query_order")
    assert said == ["utter_order_no_elsewhere"]
    assert {"event": "slot", "name": "external_order_no", "value": "JD310294857362", "timestamp": None} in events
    assert {"event": "slot", "name": "order_no", "value": forms.NO_ORDER_NO, "timestamp": None} in events
    said, events = run_switch("订单 DD202611150042", "order_no", form="return_form", intent="query_order")
    assert said == [] and {"event": "slot", "name": "order_no", "value": "DD202611150042", "timestamp": None} in events
    said, events = run_switch("订单号等一下", "order_no", form="return_form", intent="query_order")
    assert said == ["utter_invalid_order_no"] and not any(e.get("name") == "order_no" for e in events)
    assert events[-1]["name"] == "return_form"


def test_a_return_whose_order_number_never_was_one_is_filed_without_it(service_db):
    """Whatever reached the order slot unvalidated, the return is filed (not "系统暂时无法保存")."""
    import asyncio

    from actions.requests import ActionSubmitReturn

    slots = {"order_no": "订单号我不知道在哪里看", "return_kind": "退货", "return_reason": "漏水", "phone": "13905128376"}
    tracker = tracker_of([action("action_listen"), user("13905128376")], slots)
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSubmitReturn().run(dispatcher, tracker, {}))
    assert dispatcher.messages[0]["response"].startswith("utter_ticket_created_return"), dispatcher.messages
    assert dispatcher.messages[0]["ticket_no"].startswith("TH")


def test_a_grievance_read_as_an_order_question_answers_a_free_text_question():
    from tests.actions.test_switch_or_answer import run_switch

    said, events = run_switch("送货的把我的冰箱门磕了一块", "complaint_demand", form="complaint_form", intent="query_order")
    assert said == [] and events[-1]["name"] == "complaint_form"
    assert {"event": "slot", "name": "complaint_demand", "value": "送货的把我的冰箱门磕了一块", "timestamp": None} in events
    said, events = run_switch("我的订单DD202611150042到哪了", "complaint_demand", form="complaint_form", intent="query_order")
    assert events[-1]["name"] == "order_lookup_form"  # a real order question still switches


def test_an_appliance_the_brand_does_not_make_ends_the_repair_form():
    """"电视机开机没画面有声音" was asked for the product, fell back, then became a complaint."""
    import asyncio

    tracker = tracker_of([action("action_listen"), user("电视机开机没画面有声音", "report_repair")], {"requested_slot": None},
                         active_loop="repair_form")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(forms.ValidateRepairForm().run(dispatcher, tracker, {}))
    assert [m["response"] for m in dispatcher.messages] == ["utter_product_not_serviced"]
    assert dispatcher.messages[0]["product"] == "电视机" and "空调" in dispatcher.messages[0]["products"]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events


def test_our_product_named_with_another_is_served():
    from kefu.nlp.catalogue import load_catalogue

    catalogue = load_catalogue()
    assert catalogue.not_serviced_product("电视机开机没画面") == "电视机"
    assert catalogue.not_serviced_product("微波炉坏了") == "微波炉"
    assert catalogue.not_serviced_product("空调和电视都坏了") is None      # ours first
    assert catalogue.not_serviced_product("手机号13812345678") is None     # not an appliance word
    assert catalogue.not_serviced_product("电脑板坏了") is None            # a part of our machines


def test_an_address_heard_in_another_answer_keeps_the_one_given():
    """"上午都行 下午我要去接孙子" at the time question (DIET: an address) threw the valid address away."""
    given = "北京市朝阳区劲松三区102号楼4单元501"
    events = [{"event": "slot", "name": "address", "value": given}, action("action_listen"), user("上午都行 下午我要去接孙子")]
    tracker = tracker_of(events, {"requested_slot": "appointment_time", "address": "上午都行 下午我要去接孙子"}, active_loop="repair_form")
    dispatcher = CollectingDispatcher()
    result = forms.ValidateRepairForm().validate_address("上午都行 下午我要去接孙子", dispatcher, tracker, {})
    assert result["address"] == given and dispatcher.messages == []
    # a correction of part of it still changes it
    events = [{"event": "slot", "name": "address", "value": given}, action("action_listen"), user("门牌号错了，是602")]
    tracker = tracker_of(events, {"requested_slot": "appointment_time", "address": "602"}, active_loop="repair_form")
    result = forms.ValidateRepairForm().validate_address("602", CollectingDispatcher(), tracker, {})
    assert result["address"] != given


def test_an_urge_right_after_the_ticket_is_about_that_ticket():
    """"好的 麻烦快点 东西都要坏了😭" after the repair ticket started a second repair ("坏了")."""
    text = "好的 麻烦快点 东西都要坏了😭"
    after = tracker_of([action("action_listen"), user(text, "urge_ticket")], {"last_ticket_no": "BX20261208-0018"})
    assert not forms.misread_repair_opening(after)
    before = tracker_of([action("action_listen"), user("冰箱坏了 麻烦快点来修", "urge_ticket")], {})
    assert forms.misread_repair_opening(before)  # no ticket yet: a new repair request


def test_a_fault_heard_as_an_acknowledgement_starts_the_repair():
    """"就是水温忽冷忽热" (affirm 0.57) got "嗯嗯，收到"."""
    import asyncio

    from actions.courtesy import ActionCourtesy

    tracker = tracker_of([action("action_listen"), user("就是水温忽冷忽热", "affirm")], {"last_ticket_no": "TS20261208-0015"})
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionCourtesy().run(dispatcher, tracker, {}))
    assert events[-1] == {"event": "followup", "name": "repair_form", "timestamp": None}
    assert "utter_repair_start" in [m.get("response") for m in dispatcher.messages]
    after_repair = tracker_of([action("action_listen"), user("就是水温忽冷忽热", "affirm")], {"last_ticket_no": "BX20261208-0015"})
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionCourtesy().run(dispatcher, after_repair, {})) == []  # about that repair
    plain = tracker_of([action("action_listen"), user("好的", "affirm")], {})
    assert asyncio.run(ActionCourtesy().run(CollectingDispatcher(), plain, {})) == []


def test_a_phone_at_the_return_forms_order_question_is_the_phone():
    """"13508762291" at the order question was filed as another shop's order number."""
    import asyncio

    tracker = tracker_of([action("action_listen"), user("13508762291")], {"requested_slot": "order_no"}, active_loop="return_form")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(forms.ValidateReturnForm().validate_order_no("13508762291", dispatcher, tracker, {}))
    assert result == {"order_no": None, "phone": "13508762291"}
    assert [m["response"] for m in dispatcher.messages] == ["utter_phone_is_no_order_no"]
    tracker = tracker_of([action("action_listen"), user("JD301928374655")], {"requested_slot": "order_no"}, active_loop="return_form")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(forms.ValidateReturnForm().validate_order_no("JD301928374655", dispatcher, tracker, {}))
    assert result["external_order_no"] == "JD301928374655"  # another shop's number is still one


def test_a_second_answer_without_an_order_number_after_a_phone_goes_on_without_one():
    import asyncio

    told = {"event": "bot", "text": "这是您的手机号吧", "metadata": {"utter_action": "utter_phone_is_no_order_no"}}
    tracker = tracker_of([{"event": "active_loop", "name": "return_form"}, told, action("action_listen"), user("快点处理!!!!")],
                         {"requested_slot": "order_no"}, active_loop="return_form")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(forms.ValidateReturnForm().validate_order_no("快点处理!!!!", dispatcher, tracker, {}))
    assert result["order_no"] == forms.NO_ORDER_NO
    assert [m["response"] for m in dispatcher.messages] == ["utter_no_order_no_ok"]


def test_a_model_at_the_address_question_is_noted():
    """"找到了 BCD-516WK" at the address question got "地址好像不太完整"."""
    for text, model in [("找到了 BCD-516WK", "BCD-516WK"), ("型号W60-D3", "W60-D3")]:
        tracker = tracker_of([action("action_listen"), user(text)], {"requested_slot": "address"}, active_loop="repair_form")
        dispatcher = CollectingDispatcher()
        result = forms.ValidateRepairForm().validate_address(text, dispatcher, tracker, {})
        assert result == {"address": None, "product_model": model}, text
        assert [m["response"] for m in dispatcher.messages] == ["utter_model_noted_ask_address"]
    tracker = tracker_of([action("action_listen"), user("杭州市西湖区文三路259号5幢301")], {"requested_slot": "address"},
                         active_loop="repair_form")
    result = forms.ValidateRepairForm().validate_address("杭州市西湖区文三路259号5幢301", CollectingDispatcher(), tracker, {})
    assert result["address"] == "杭州市西湖区文三路259号5幢301"  # an address with numbers stays an address


def test_a_part_of_the_machine_at_the_model_question_is_no_model():
    """"冷藏室" / "内机" at the model question were stored as the model (chat probe, second set)."""
    for text in ("冷藏室", "内机", "是外机的"):
        tracker = tracker_of([action("action_listen"), user(text)], {"requested_slot": "product_model", "fault_description": "冰箱不冷了"},
                             active_loop="repair_form")
        result = forms.ValidateRepairForm().validate_product_model(text, CollectingDispatcher(), tracker, {})
        assert result == {"product_model": forms.UNKNOWN_MODEL, "fault_description": f"冰箱不冷了（{text}）"}, text
    tracker = tracker_of([action("action_listen"), user("BCD-516WK")], {"requested_slot": "product_model"}, active_loop="repair_form")
    assert forms.ValidateRepairForm().validate_product_model("BCD-516WK", CollectingDispatcher(), tracker, {})["product_model"] == "BCD-516WK"


def test_a_model_at_the_address_question_is_found_in_the_whole_message():
    """DIET's address span held only "找到了": the model is looked for in the whole message."""
    tracker = tracker_of([action("action_listen"), user("找到了 BCD-516WK")], {"requested_slot": "address", "product_model": "未知"},
                         active_loop="repair_form")
    dispatcher = CollectingDispatcher()
    result = forms.ValidateRepairForm().validate_address("找到了", dispatcher, tracker, {})
    assert result == {"address": None, "product_model": "BCD-516WK"}


def test_a_model_the_nlu_already_put_in_its_slot_is_still_acknowledged():
    tracker = tracker_of([action("action_listen"), user("找到了 BCD-516WK")], {"requested_slot": "address", "product_model": "BCD-516WK"},
                         active_loop="repair_form")
    dispatcher = CollectingDispatcher()
    assert forms.ValidateRepairForm().validate_address("找到了 BCD-516WK", dispatcher, tracker, {}) == {
        "address": None, "product_model": "BCD-516WK"}
    assert [m["response"] for m in dispatcher.messages] == ["utter_model_noted_ask_address"]
    tracker = tracker_of([action("action_listen"), user("XQG100-B14")], {"requested_slot": "address", "product_model": "BCD-516WK"},
                         active_loop="repair_form")
    dispatcher = CollectingDispatcher()
    assert forms.ValidateRepairForm().validate_address("XQG100-B14", dispatcher, tracker, {})["address"] is None
    assert [m["response"] for m in dispatcher.messages] == ["utter_invalid_address"]  # another model: not taken
