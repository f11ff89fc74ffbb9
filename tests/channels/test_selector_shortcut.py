"""channels/selector_shortcut.py: the ResponseSelector runs for the messages whose intent
ranking names its retrieval intent (or that have no ranking), and for no other."""
from __future__ import annotations

from types import SimpleNamespace
from typing import List

import pytest
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.training_data.message import Message

from channels import selector_shortcut


def message(text: str, intent=None, ranking=None) -> Message:
    data = {"text": text}
    if intent is not None:
        data["intent"] = {"name": intent, "confidence": 0.9}
    if ranking is not None:
        data["intent_ranking"] = [{"name": name, "confidence": 0.1} for name in ranking]
    return Message(data=data)


@pytest.fixture
def selected(monkeypatch) -> List[str]:
    """The texts Rasa's own selector run was given."""
    seen: List[str] = []

    def rasa_process(self, messages):
        seen.extend(m.get("text") for m in messages)
        for m in messages:
            m.set("response_selector", {"faq": {"response": {"intent_response_key": "faq/warranty_period"}}})
        return messages

    monkeypatch.setattr(selector_shortcut, "_rasa_process", rasa_process)
    return seen


def test_only_messages_that_can_use_a_topic_are_selected(selected):
    faq_first = message("空调保修几年", "faq", ["faq", "report_repair"])
    faq_ranked = message("保修", "nlu_fallback", ["nlu_fallback", "report_repair", "faq"])
    no_faq = message("我要报修", "report_repair", ["report_repair", "complain"])
    no_ranking = message("你好")
    complaint = message("我不是投诉啊 我问安装收不收费", "complain", ["complain", "stop_form"])  # not_a_complaint may answer it
    out = selector_shortcut.process_usable(SimpleNamespace(retrieval_intent="faq"), [faq_first, faq_ranked, no_faq, no_ranking, complaint])
    assert out == [faq_first, faq_ranked, no_faq, no_ranking, complaint]  # every message goes on, in order
    assert selected == ["空调保修几年", "保修", "你好", "我不是投诉啊 我问安装收不收费"]
    assert no_faq.get("response_selector") is None
    assert faq_first.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/warranty_period"


def test_a_selector_over_all_retrieval_intents_always_runs(selected):
    selector_shortcut.process_usable(SimpleNamespace(retrieval_intent=None), [message("我要报修", "report_repair", ["report_repair"])])
    assert selected == ["我要报修"]


def test_nothing_to_select_runs_nothing(selected):
    selector_shortcut.process_usable(SimpleNamespace(retrieval_intent="faq"), [message("好的", "affirm", ["affirm", "thank"])])
    assert selected == []


def test_install_follows_the_configuration(monkeypatch):
    from kefu.runtime import reliability

    config = reliability.reliability_config()
    before = ResponseSelector.process  # installed already when channels.socketio was imported
    selector_shortcut.uninstall()
    try:
        monkeypatch.setattr(selector_shortcut, "reliability_config",
                            lambda: config.copy(update={"inference": config.inference.copy(update={"selector_shortcut": False})}))
        assert selector_shortcut.install() is False
        assert ResponseSelector.process is selector_shortcut._rasa_process
        monkeypatch.setattr(selector_shortcut, "reliability_config", lambda: config)
        assert config.inference.selector_shortcut, "on in config/reliability.yml"
        assert selector_shortcut.install() is True
        assert ResponseSelector.process is selector_shortcut.process_usable
    finally:
        ResponseSelector.process = before
