"""The ResponseSelector runs only for a message whose FAQ topic can be used (issue 13).

Kefu's ResponseSelector picks the FAQ topic of the retrieval intent ``faq`` — a second
TensorFlow model run per message, 27 % of the NLU's time (docs/performance.md). Its output
is read only when the message's intent is ``faq`` (action_answer_faq, the "FAQ during a form"
rules), when the two-stage fallback offers an FAQ button for an intent of the ranking
(actions/conversation.py), or when a "complaint" after a ticket is a question it can answer
(actions/requests.py not_a_complaint: ``ALSO_READ_FOR``). DIETClassifier runs before it in the pipeline and leaves its
intent ranking (its ``ranking_length`` best intents) on the message; a message whose ranking
does not name the retrieval intent can use no topic, and the selector skips it. Every other
message — and any message without a ranking (another pipeline) — gets Rasa's own selector run,
so what the selector says about a message that can use it is unchanged
(tests/channels/test_selector_shortcut.py, and on the trained model
tests/dialogue/test_selector_shortcut_on_model.py).

Serving only: ``rasa test`` / ``./kefu.sh evaluate`` run in their own processes with Rasa's path.
"""
from __future__ import annotations

from typing import List

from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from kefu.runtime.reliability import reliability_config

_rasa_process = ResponseSelector.process
# Intents whose messages may be answered with an FAQ topic although the ranking names no FAQ
ALSO_READ_FOR = frozenset({"complain"})


def topic_usable(message: Message, retrieval_intent: str) -> bool:
    """Whether the message's intent or intent ranking names ``retrieval_intent`` (or there is
    no ranking to tell)."""
    ranking = message.get(INTENT_RANKING_KEY) or []
    intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
    if not ranking and intent is None:
        return True  # no intent classifier before the selector: Rasa's path
    if intent == retrieval_intent or intent in ALSO_READ_FOR:
        return True
    return any(entry.get(INTENT_NAME_KEY) == retrieval_intent for entry in ranking)


def process_usable(self: ResponseSelector, messages: List[Message]) -> List[Message]:
    """``ResponseSelector.process`` for the messages that can use its answer (same arguments)."""
    if not self.retrieval_intent:  # a selector over every retrieval intent: always needed
        return _rasa_process(self, messages)
    usable = [message for message in messages if topic_usable(message, self.retrieval_intent)]
    if usable:
        _rasa_process(self, usable)
    return messages


def install() -> bool:
    """Make the ResponseSelector skip messages that cannot use it (idempotent). False when off."""
    if not reliability_config().inference.selector_shortcut:
        return False
    ResponseSelector.process = process_usable  # type: ignore[method-assign]
    return True


def uninstall() -> None:
    """Rasa's own selector run again (tests)."""
    ResponseSelector.process = _rasa_process  # type: ignore[method-assign]
