"""The simulator's runner against a scripted bot (no stack needed): the two-stage fallback
question is answered once, and fallback turns are counted from the tracker's events."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import httpx
import pytest

from tests.simulator.generator import Plan
from tests.simulator.runner import (Prepared, Report, LookupTicket, Runner, TrackerTurn, is_fallback_turn,
                                    split_turns)

TICKET = "BX20261206-0001"
ASK_TICKET = "请提供您的工单号。"
AFFIRMATION = "小暖想确认一下，您是要{label}吗？"


def user(text: str, message_id: str) -> Dict[str, Any]:
    return {"event": "user", "text": text, "message_id": message_id}


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def loop(name: Optional[str]) -> Dict[str, Any]:
    return {"event": "active_loop", "name": name}


def bot(text: str, response: Optional[str] = None, buttons: Optional[List[Dict[str, str]]] = None) -> Dict[str, Any]:
    return {"event": "bot", "text": text, "data": {"buttons": buttons},
            "metadata": {"utter_action": response} if response else {}}


def affirmation(intent: str, label: str) -> Dict[str, Any]:
    return bot(AFFIRMATION.format(label=label), "utter_ask_affirmation",
               [{"title": label, "payload": f"/{intent}"}, {"title": "都不是", "payload": "/out_of_scope"}])


class ScriptedBot:
    """Rasa's REST webhook and tracker endpoints, answering the n-th message with the n-th step.

    A step is a function (text, message_id) -> (events after the user event, active loop,
    requested slot); the user event itself is logged here, as Rasa does."""

    def __init__(self, steps) -> None:
        self.steps = list(steps)
        self.received: List[Dict[str, Any]] = []
        self.events: List[Dict[str, Any]] = [action("action_session_start"), action("action_listen")]
        self.loop: Optional[str] = None
        self.requested: Optional[str] = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            self.received.append(body)
            message_id = f"m{len(self.received)}"
            self.events.append(user(body["message"], message_id))
            step = self.steps.pop(0) if self.steps else (lambda _t, _m: ([bot("好的。")], None, None))
            events, self.loop, self.requested = step(body["message"], message_id)
            self.events += events + [action("action_listen")]
            sent = [e for e in events if e["event"] == "bot"]
            return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": e["text"]} for e in sent])
        tracker = {"active_loop": {"name": self.loop} if self.loop else {}, "slots": {"requested_slot": self.requested},
                   "paused": False}
        if request.url.params.get("include_events") != "NONE":
            tracker["events"] = self.events
        return httpx.Response(200, json=tracker)

    def texts(self) -> List[str]:
        return [m["message"] for m in self.received]


def clarified(text: str, message_id: str, then: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Rasa's two-stage fallback taking a message as the clarification: the loop ends, the
    message is reverted and logged again (same message_id), then the dialogue goes on."""
    return [action("action_two_stage_fallback"), loop(None), {"event": "rewind"}, action("action_listen"),
            user(text, message_id)] + then


@pytest.fixture
def make_runner(migrated_sqlite, tmp_path):
    def make(scripted: ScriptedBot) -> Runner:
        runner = Runner("http://rasa.test", "rest-token", "rasa-token", migrated_sqlite(tmp_path / "kefu.db"),
                        Prepared([LookupTicket(TICKET, "13912340001")], []))
        runner._local.client = httpx.Client(transport=httpx.MockTransport(scripted))
        return runner

    return make


def test_a_lookup_answer_taken_for_a_fallback_is_not_sent_again(make_runner):
    """The bot asks "您是要查询工单吗？" about the ticket number, with the form's requested_slot
    still set: the customer presses the button once (the runner used to send the number again)."""
    scripted = ScriptedBot([
        lambda t, m: ([action("ticket_lookup_form"), loop("ticket_lookup_form"), bot(ASK_TICKET, "utter_ask_ticket_no")],
                      "ticket_lookup_form", "ticket_no"),
        lambda t, m: ([action("action_two_stage_fallback"), loop("action_two_stage_fallback"),
                       affirmation("query_ticket", "查询工单")], "action_two_stage_fallback", "ticket_no"),
        lambda t, m: (clarified(t, m, [action("ticket_lookup_form"), loop("ticket_lookup_form"),
                                       bot(ASK_TICKET, "utter_ask_ticket_no")]), "ticket_lookup_form", "ticket_no"),
        lambda t, m: ([action("ticket_lookup_form"), loop(None), action("action_lookup_ticket"),
                       bot(f"工单 {TICKET} 正在处理中。")], None, None),
    ])
    plan = Plan(seed=1, index=0, scenario="query_ticket", opener="帮我查下工单进度", answers={})
    result = make_runner(scripted).play(plan)

    assert scripted.texts() == ["帮我查下工单进度", TICKET, "/query_ticket", TICKET]
    assert scripted.received[2]["metadata"] == {"display_text": "查询工单"}  # a button press, as the widget sends it
    assert [t.kind for t in result.turns] == ["opener", "lookup", "confirm", "lookup"]
    assert [t.fallback for t in result.turns] == [False, True, False, False]
    assert result.violations == []
    report = Report([result])
    assert report.fallback_rate() == pytest.approx(1 / 3)  # opener and two answers; the press is not content


def test_a_form_answer_taken_for_a_fallback_is_neither_resent_nor_a_derailed_form(make_runner):
    """The offered button is not the customer's request: they leave the script (the courtesy
    tail still plays); the two-stage loop is a fallback, not another form."""
    scripted = ScriptedBot([
        lambda t, m: ([action("return_form"), loop("return_form"), bot("请提供订单号。", "utter_ask_order_no")],
                      "return_form", "order_no"),
        lambda t, m: ([action("action_two_stage_fallback"), loop("action_two_stage_fallback"),
                       affirmation("query_order", "查询订单")], "action_two_stage_fallback", "order_no"),
    ])
    plan = Plan(seed=1, index=1, scenario="return", opener="我想退货", answers={"order_no": "订单号忘了"},
                tail=[("courtesy", "谢谢")])
    result = make_runner(scripted).play(plan)

    assert scripted.texts() == ["我想退货", "订单号忘了", "谢谢"]
    assert [v.kind for v in result.violations] == []
    assert [t.fallback for t in result.turns] == [False, True, False]


def test_a_clarified_message_logged_twice_is_one_turn():
    events = [user("空调那个", "a"), action("action_two_stage_fallback"), loop("action_two_stage_fallback"),
              affirmation("report_repair", "报修"), action("action_listen"),
              user("/report_repair", "b")] + clarified("/report_repair", "b", [
                  action("action_triage_repair"), action("repair_form"), loop("repair_form"),
                  bot("请问是什么型号？", "utter_ask_product_model")]) + [
              action("action_listen"),
              user("随便说说", "c"), action("action_default_fallback"), bot("抱歉没能理解", "utter_ask_rephrase"),
              {"event": "rewind"}, action("action_listen"),
              user("KFR-35GW", "d"), action("repair_form"), bot("请问地址？")]
    turns = split_turns(events)
    assert len(turns) == 4
    assert turns[1].clarified and turns[1].actions[:3] == ["action_two_stage_fallback", "action_triage_repair", "repair_form"]
    assert "activate:action_two_stage_fallback" in turns[0].actions and "utter:utter_ask_affirmation" in turns[0].actions
    assert [is_fallback_turn(t) for t in turns] == [True, False, True, False]
    assert turns[3].bot_messages == 1 and not turns[3].clarified


def test_a_courtesy_turn_asked_to_affirm_is_a_courtesy_fallback(make_runner):
    """"好的" answered with "您是要…吗？" is a fallback on a courtesy turn (read from the bot
    event's response name: the ask-affirmation action never shows in the tracker itself)."""
    scripted = ScriptedBot([
        lambda t, m: ([action("action_two_stage_fallback"), loop("action_two_stage_fallback"),
                       affirmation("query_ticket", "查询工单")], "action_two_stage_fallback", None),
    ])
    plan = Plan(seed=1, index=2, scenario="courtesy_only", opener="好的", answers={})
    result = make_runner(scripted).play(plan)
    assert [v.kind for v in result.violations] == ["courtesy_fallback"]
    assert TrackerTurn().actions == [] and not is_fallback_turn(TrackerTurn())
