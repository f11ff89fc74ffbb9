""""我有个建议" without the suggestion filed an empty suggestion (JY…), and the suggestion the
customer typed next became a repair request (chat probe, 2026-12-07): it is asked for first."""
from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import forms, requests
from kefu import db
from kefu.dialogue_config import says_only_it_has_a_suggestion
from kefu.models.service import Ticket
from tests.actions.test_actions import make_tracker, responses, run


@pytest.mark.parametrize("text, only_the_wish", [
    ("我有个建议", True), ("想给你们提点意见", True), ("你好，我想提个建议", True), ("反馈一下", True),
    ("建议你们周末也安排师傅上门", False), ("我有个建议：预约时间精确到小时", False), ("你们的洗衣机app太难用了", False),
])
def test_the_wish_to_suggest_is_told_from_a_suggestion(text, only_the_wish):
    assert says_only_it_has_a_suggestion(text) is only_the_wish


def test_the_wish_alone_asks_for_the_suggestion_and_files_nothing(service_db):
    messages, events = run(requests.ActionSubmitSuggestion(), make_tracker({}, text="我有个建议", intent="give_suggestion"))
    assert messages == [] and events == [{"event": "followup", "name": "suggestion_form", "timestamp": None}]
    with db.session_scope(service_db) as session:
        assert session.execute(select(Ticket)).first() is None


def test_the_suggestion_asked_for_is_filed_as_typed(service_db):
    suggestion = "预约时间能不能精确到小时，老让人等半天"
    tracker = make_tracker({"suggestion_text": suggestion}, text=suggestion, intent="inform")
    messages, events = run(requests.ActionSubmitSuggestion(), tracker)
    assert responses(messages)[0] == "utter_ticket_created_suggestion"
    with db.session_scope(service_db) as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert ticket.type == "suggestion" and ticket.description == suggestion
    assert {"event": "slot", "name": "suggestion_text", "value": None, "timestamp": None} in events


@pytest.mark.parametrize("text, kept", [("希望客服热线晚上也能接通", True), ("好的", False), ("我有个建议", False)])
def test_the_suggestion_form_keeps_a_suggestion_not_an_acknowledgement(text, kept):
    tracker = make_tracker({"requested_slot": "suggestion_text"}, text=text)
    result = forms.ValidateSuggestionForm().validate_suggestion_text(text, CollectingDispatcher(), tracker, {})
    assert result == {"suggestion_text": text if kept else None}


@pytest.mark.parametrize("text, repair", [
    ("对了 我家冰箱也不太制冷 能一起报吗", True), ("不是建议 我是说冰箱也坏了 要报修", True), ("洗衣机也坏了", True),
    ("空调噪音太大 建议改进", False), ("希望你们周末也能安排师傅", False), ("客服电话太难打通了", False),
])
def test_a_fault_to_repair_is_told_from_a_suggestion(text, repair):
    from kefu.dialogue_config import suggestion_misread_repair

    assert suggestion_misread_repair(text) is repair


def test_a_repair_request_heard_as_a_suggestion_starts_the_repair_and_files_nothing(service_db):
    """"对了 我家冰箱也不太制冷 能一起报吗" and "不是建议 我是说冰箱也坏了 要报修" were filed as
    suggestions JY…-0001 and -0002 (chat probe, 2026-12-08)."""
    tracker = make_tracker({}, text="对了 我家冰箱也不太制冷 能一起报吗", intent="give_suggestion")
    messages, events = run(requests.ActionSubmitSuggestion(), tracker)
    assert {"event": "followup", "name": "repair_form", "timestamp": None} in events
    assert {"event": "slot", "name": "product", "value": "冰箱", "timestamp": None} in events
    with db.session_scope(service_db) as session:
        assert session.execute(select(Ticket)).first() is None
