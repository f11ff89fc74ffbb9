"""Every rule of config/escalation_rules.yml, through the public API."""

from __future__ import annotations

import pytest

from kefu.escalation import Decision, TurnContext


def decide(engine, **facts) -> Decision | None:
    return engine.evaluate(TurnContext(**facts))


def test_plain_turns_stay_with_the_bot(engine):
    assert decide(engine, intent="report_repair", text="我家空调不制冷了") is None
    assert decide(engine, intent="faq/warranty_period", text="空调保修几年？") is None
    assert decide(engine, intent="complain", text="师傅上门迟到了半小时") is None


@pytest.mark.parametrize(
    "text",
    ["家里燃气味很重", "热水器在冒烟", "插座打火花了", "冰箱漏电，手一碰就麻手", "洗衣机漏水，厨房水漫了一地"],
)
def test_safety_emergency_from_text(engine, text):
    decision = decide(engine, intent="report_repair", text=text)
    assert decision is not None
    assert (decision.rule_id, decision.group, decision.priority) == ("safety_emergency", "维修调度", "抢修")
    assert decision.terms  # the agent sees which words fired


def test_safety_emergency_from_caller_flag_wins_over_everything(engine):
    decision = decide(engine, intent="request_human", emergency=True, customer_tier="VIP", text="人工")
    assert decision.rule_id == "safety_emergency"


def test_washing_machine_drum_is_not_an_insult(engine):
    # 滚 (get lost) is an abuse term; token matching keeps it out of 滚筒.
    assert decide(engine, intent="complain", text="滚筒洗衣机不脱水") is None


@pytest.mark.parametrize("text", ["13812345678", "电话 13812315000", "型号KFR12315", "工单BX20261122-12345"])
def test_hotline_numbers_inside_longer_numbers_are_not_threats(engine, text):
    # 12345 and 12315 are hotlines customers threaten to call, but not inside a phone or model.
    assert engine.severity(text)[0] == "none"
    assert decide(engine, intent="report_repair", text=text) is None


@pytest.mark.parametrize(
    "text, term",
    [
        ("再不解决我就打12315", "12315"),
        ("我要去消协投诉你们", "消协"),
        ("我要找媒体曝光你们", "曝光"),
        ("我已经联系律师了", "律师"),
        ("那就法院见，我要起诉", "起诉"),
        ("你们就是一群骗子", "骗子"),
        ("真是气死我了", "气死我了"),
    ],
)
def test_severe_complaint_goes_to_complaint_desk(engine, text, term):
    decision = decide(engine, intent="complain", text=text)
    assert (decision.rule_id, decision.group, decision.priority) == ("complaint_severe", "投诉专席", "高")
    assert term in decision.terms


def test_threat_escalates_even_outside_a_complaint(engine):
    decision = decide(engine, intent="urge_ticket", text="还不来修，我就打12315")
    assert decision.rule_id == "complaint_severe"


def test_anger_escalates_only_in_complaint_context(engine):
    assert decide(engine, intent="inform", text="这也太过分了") is None
    decision = decide(engine, intent="complain", text="这也太过分了")
    assert (decision.rule_id, decision.group) == ("complaint_angry", "投诉专席")
    decision = decide(engine, intent="inform", active_form="complaint_form", text="你们太敷衍了")
    assert decision.rule_id == "complaint_angry"


def test_two_anger_words_count_as_high_severity(engine):
    assert engine.severity("太过分了")[0] == "medium"
    level, terms = engine.severity("太过分了，纯粹是糊弄人")
    assert level == "high" and set(terms) == {"太过分", "糊弄人"}
    assert decide(engine, intent="chitchat", text="太过分了，纯粹是糊弄人").rule_id == "complaint_severe"


def test_a_bare_form_answer_is_not_a_threat(engine):
    # "12345" is also a hotline people threaten to call, but typed as a phone it is an invalid answer.
    assert decide(engine, intent="inform", active_form="repair_form", text="12345") is None
    assert decide(engine, intent="inform", active_form="complaint_form", text="我要打12345").rule_id == "complaint_severe"
    assert decide(engine, intent="urge_ticket", text="再不来我打12345").rule_id == "complaint_severe"


@pytest.mark.parametrize(
    "text, level",
    [("谢谢你", "none"), ("有点失望", "low"), ("太坑人了", "medium"), ("我要曝光你们", "high")],
)
def test_severity_levels(engine, text, level):
    assert engine.severity(text)[0] == level


def test_mild_dissatisfaction_does_not_escalate(engine):
    assert decide(engine, intent="complain", text="有点失望") is None


def test_vip_complaint_goes_to_vip_desk(engine):
    decision = decide(engine, intent="complain", text="安装师傅态度不好", customer_tier="VIP")
    assert (decision.rule_id, decision.group, decision.priority) == ("vip_complaint", "VIP专席", "高")
    # A VIP who is angry outside a complaint is served by the VIP desk too.
    assert decide(engine, intent="inform", text="太坑人了", customer_tier="VIP").rule_id == "vip_complaint"
    # Other tiers complaining calmly stay with the bot.
    assert decide(engine, intent="complain", text="安装师傅态度不好", customer_tier="金卡") is None


def test_repeat_complaint_within_30_days(engine):
    decision = decide(engine, intent="complain", text="上次的问题还是没解决", repeat_complaint=True)
    assert (decision.rule_id, decision.group) == ("repeat_complaint", "投诉专席")
    assert decide(engine, intent="query_ticket", repeat_complaint=True) is None


def test_urging_an_overdue_ticket(engine):
    decision = decide(engine, intent="urge_ticket", ticket_overdue=True, urge_count=1)
    assert (decision.rule_id, decision.group, decision.priority) == ("urge_overdue", "维修调度", "高")


def test_urging_the_same_ticket_twice(engine):
    assert decide(engine, intent="urge_ticket", urge_count=1) is None
    decision = decide(engine, intent="urge_ticket", urge_count=2)
    assert (decision.rule_id, decision.group) == ("urge_repeated", "维修调度")


def test_request_human_intent(engine):
    decision = decide(engine, intent="request_human", confidence=0.92, text="帮我转人工")
    assert (decision.rule_id, decision.group, decision.priority) == ("human_request", "综合", "普通")
    # An unsure classification alone is not enough ...
    assert decide(engine, intent="request_human", confidence=0.3, text="人") is None


def test_human_typed_twice(engine):
    assert engine.mentions("人工", "human_request") == ["人工"]
    assert engine.mentions("我要人工客服", "human_request") == ["人工客服"]
    # ... but 人工 typed a second time is, whatever the NLU thought.
    decision = decide(engine, intent="out_of_scope", confidence=0.4, text="人工", human_request_count=2)
    assert decision.rule_id == "human_request"


def test_vip_asking_for_a_human_goes_to_vip_desk(engine):
    decision = decide(engine, intent="request_human", confidence=0.9, customer_tier="VIP")
    assert (decision.rule_id, decision.group) == ("vip_human_request", "VIP专席")


def test_two_consecutive_fallbacks(engine):
    assert decide(engine, intent="nlu_fallback", consecutive_fallbacks=1) is None
    decision = decide(engine, intent="nlu_fallback", consecutive_fallbacks=2)
    assert (decision.rule_id, decision.group, decision.priority) == ("fallback_twice", "综合", "普通")


def test_form_without_progress(engine):
    assert decide(engine, intent="inform", active_form="repair_form", form_stall_turns=2) is None
    decision = decide(engine, intent="inform", active_form="repair_form", form_stall_turns=3)
    assert decision.rule_id == "form_stalled"
    # Stall counters without an active form mean nothing.
    assert decide(engine, intent="inform", active_form=None, form_stall_turns=5) is None


def test_first_matching_rule_wins(engine):
    # Emergency and a threat in one message: safety first.
    decision = decide(engine, intent="complain", text="燃气味这么重还不来，我要打12315")
    assert decision.rule_id == "safety_emergency"
    assert {"燃气味"} <= set(decision.terms)


def test_module_level_severity_uses_the_shipped_rules():
    from kefu.escalation import severity

    assert severity("我要去法院起诉你们") == ("high", ["法院", "起诉"])
    assert severity("空调不制冷了") == ("none", [])
