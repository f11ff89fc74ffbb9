"""Right after tickets, the NLU read "安装要收费吗 还要买什么管子吗", "照片怎么发给你们", "唉 又商量了
一下 还是装吧" and "我不是投诉啊" as complaints (confidence 1.0) and complaint tickets nobody asked
for were filed (chat probe, 2026-12-08). After a ticket, a "complaint" that names nothing a
complaint is about is asked about or answered; before any ticket the NLU is trusted."""
from __future__ import annotations

import pytest

from actions import requests
from tests.actions.test_actions import make_tracker, responses, run


@pytest.mark.parametrize("text, after_a_ticket, why", [
    ("我不是投诉啊 我问安装收不收费", False, "denied"),
    ("安装要收费吗 还要买什么管子吗", True, "question"),
    ("照片怎么发给你们", True, "question"),
    ("唉 又商量了一下 还是装吧 还是明天上午 地址电话都一样", True, "no_signal"),
    ("唉 又商量了一下 还是装吧 还是明天上午 地址电话都一样", False, None),  # no ticket yet: the NLU decides
    ("师傅上门态度很差还多收钱", True, None),
    ("送货的把我冰箱门磕了一块", True, None),
    ("你们那个师傅太过分了", True, None),
    ("我要投诉", True, None),
])
def test_what_is_no_complaint(text, after_a_ticket, why):
    assert requests.unlike_a_complaint(text, after_a_ticket) == why


def complaint_turn(text: str, faq_confidence: float = 0.0):
    tracker = make_tracker({"last_ticket_no": "AZ20261208-0003"}, text=text, intent="complain")
    if faq_confidence:
        tracker.latest_message["response_selector"] = {"faq": {"response": {
            "intent_response_key": "faq/install_fee", "confidence": faq_confidence}}}
    return run(requests.ActionAcknowledgeComplaint(), tracker)


def test_a_question_with_a_sure_faq_topic_is_answered_not_filed():
    messages, events = complaint_turn("安装要收费吗 还要买什么管子吗", faq_confidence=0.92)
    assert responses(messages) == ["utter_faq/install_fee"]
    assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}


def test_a_statement_without_a_complaint_in_it_is_asked_about():
    messages, events = complaint_turn("唉 又商量了一下 还是装吧 还是明天上午")
    assert messages == [] and events == [{"event": "followup", "name": "action_default_ask_affirmation", "timestamp": None}]


def test_no_complaint_said_outright_gets_a_rephrase():
    messages, _ = complaint_turn("我不是投诉啊")
    assert responses(messages) == ["utter_ask_rephrase"]


def test_a_real_complaint_after_a_ticket_is_still_one(monkeypatch):
    async def no_escalation(dispatcher, tracker, intent_hint=None):
        return []

    monkeypatch.setattr(requests, "escalate", no_escalation)
    messages, _ = complaint_turn("师傅上门态度很差还多收钱")
    assert responses(messages) == ["utter_complaint_empathy"]
