"""components/courtesy_guard.py: a courtesy-only message is never a request."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from components.courtesy_guard import BEFORE_KEY, CourtesyGuard, courtesy_intent


@pytest.mark.parametrize("text, predicted, expected", [
    ("好吧 那等你们电话", "urge_ticket", "affirm"),     # it urged the ticket (chat probe)
    ("好的 那就等着吧", "query_ticket", "affirm"),      # it asked for a ticket number
    ("好 我等着", "complain", "affirm"),                # it opened a complaint
    ("嗯嗯 知道了 谢啦", "query_ticket", "thank"),
    ("好好好 谢谢你啊姑娘 辛苦了", "faq", "thank"),
    ("好的，再见", "query_ticket", "goodbye"),
    ("在吗", "report_repair", "greet"),
])
def test_a_courtesy_only_message_gets_the_courtesy_intent(text, predicted, expected):
    assert courtesy_intent(text, predicted) == expected


@pytest.mark.parametrize("text, predicted", [
    ("算了", "query_ticket"),                 # may be a stop: left to the classifier
    ("不是", "complain"),                     # may be a no
    ("好的 麻烦快点 东西都要坏了", "urge_ticket"),  # a request is in it
    ("我等了三天了", "urge_ticket"),
    ("那空调呢", "faq"),
    ("好的", "stop_form"),                    # not a request intent: untouched
    ("谢谢", "thank"),
])
def test_a_message_with_a_request_or_a_negation_keeps_its_intent(text, predicted):
    assert courtesy_intent(text, predicted) is None


def test_the_component_relabels_and_keeps_the_guess():
    message = Message(data={"text": "好吧 那等你们电话", "intent": {"name": "urge_ticket", "confidence": 0.93},
                            "intent_ranking": [{"name": "urge_ticket", "confidence": 0.93}, {"name": "affirm", "confidence": 0.04}]})
    untouched = Message(data={"text": "帮我催一下", "intent": {"name": "urge_ticket", "confidence": 0.97}})
    CourtesyGuard().process([message, untouched])
    assert message.get("intent") == {"name": "affirm", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["affirm", "urge_ticket"]
    assert message.get(BEFORE_KEY) == {"name": "urge_ticket", "confidence": 0.93}
    assert untouched.get("intent") == {"name": "urge_ticket", "confidence": 0.97}
