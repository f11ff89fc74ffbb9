"""The customer's name on tickets and hand-overs (chat probe 2026-12-07): "我姓张" lost its
"张" (jieba makes one token of 姓张, so DIET tags "姓张" or nothing), "我姓刘不姓王" kept
the last name tagged (王). A surname alone stays a surname: no 先生/女士 is guessed."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from actions.common import contact_name
from actions.escalation import summary_slots
from actions.requests import ActionSubmitComplaint, ActionSubmitInstallation, ActionSubmitRepair
from tests.actions.test_dialogue_actions import action, tracker_of, user


def name_slot(value: Optional[str]) -> Dict[str, Any]:
    return {"event": "slot", "name": "person_name", "value": value}


def conversation(*turns: tuple, slots: Optional[Dict[str, Any]] = None):
    """``turns``: (text, person_name the NLU set in that turn or None)."""
    events: List[Dict[str, Any]] = []
    for text, tagged in turns:
        events += [action("action_listen"), user(text, "inform")]
        if tagged is not None:
            events.append(name_slot(tagged))
    last = next((t for _, t in reversed(turns) if t is not None), None)
    return tracker_of(events, {"person_name": last, **(slots or {})})


@pytest.mark.parametrize("turns, name", [
    ([("我姓张", None)], "张"),                        # DIET found no name
    ([("我姓张", "姓张")], "张"),                      # DIET tagged jieba's token
    ([("免贵姓张", "张")], "张"),
    ([("张", "张")], "张"),
    ([("我姓欧阳", "欧阳")], "欧阳"),
    ([("我叫张三", "张三")], "张三"),
    ([("张三", "张三")], "张三"),
    ([("我姓张 叫张三", "张三")], "张三"),             # the full name beats its surname
    ([("我姓刘不姓王", "王")], "刘"),
    ([("我姓何 电话13922223333 洗衣机不进水", None), ("明天下午", None)], "何"),
    ([("我姓张", None), ("名字错了 我叫王建国", "王建国")], "王建国"),  # the latest name wins
    ([("我是王女士", "王女士")], "王女士"),            # the customer's own words
    ([("那个姓赵的师傅说话太冲了", None)], None),      # not the customer's name
    ([("空调坏了", None)], None),
])
def test_contact_name(turns, name):
    assert contact_name(conversation(*turns)) == name


def test_a_slot_set_without_events_is_read_as_a_name():
    assert contact_name(tracker_of([user("好的")], {"person_name": "姓张"})) == "张"


@pytest.mark.parametrize("submit", [ActionSubmitRepair, ActionSubmitInstallation, ActionSubmitComplaint])
def test_requests_carry_the_surname_the_customer_gave(submit):
    tracker = conversation(("我姓张 空调坏了", "姓张"), slots={"phone": "13812345678", "product": "空调"})
    assert submit().request(tracker).contact_name == "张"


def test_the_hand_over_summary_names_the_customer_as_the_ticket_does():
    assert summary_slots(conversation(("免贵姓张", None)))["person_name"] == "张"
