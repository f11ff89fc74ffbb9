"""A courtesy-only message is never a request, whatever the classifier guessed.

"好吧 那等你们电话" was classified urge_ticket (the ticket was urged), "好的 那就等着吧" query_ticket
(a ticket number was asked for) and "好 我等着" complain (a complaint form opened) — right
after the customer had been told what happens next (chat probe, 2026-12-07). A message made
only of config/dialogue.yml's courtesy, thanks, closing and greeting phrases (plus particles
and punctuation: ``kefu.dialogue_config.courtesy_kind``) carries no request, so when the
classifier's intent is one of ``courtesy_guard_intents`` the intent becomes the courtesy one
(thanks -> thank, closing -> goodbye, greeting -> greet, an acknowledgement -> affirm; one
that negates — "算了", "不是" — is left alone: it may be a stop or a no). The classifier's
guess stays in the parse result as ``intent_before_courtesy_guard``.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from kefu.dialogue_config import courtesy_kind, dialogue_config

COURTESY_INTENTS = {"thanks": "thank", "closing": "goodbye", "greeting": "greet", "ack": "affirm"}
NEGATION = re.compile(r"[不没别算]")
BEFORE_KEY = "intent_before_courtesy_guard"


def courtesy_intent(text: str, predicted: Optional[str]) -> Optional[str]:
    """The courtesy intent a message predicted as ``predicted`` really has, or None to keep it."""
    if predicted not in dialogue_config().courtesy_guard_intents:
        return None
    kind = courtesy_kind(text)
    if kind is None or (kind == "ack" and NEGATION.search(text)):
        return None
    return COURTESY_INTENTS[kind]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CourtesyGuard(GraphComponent):
    """After the classifiers (and before KefuTextRestorer): see the module docstring."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CourtesyGuard":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            corrected = courtesy_intent(message.get(TEXT) or "", intent.get(INTENT_NAME_KEY))
            if corrected is None:
                continue
            message.set(BEFORE_KEY, dict(intent), add_to_output=True)
            message.set(INTENT, {INTENT_NAME_KEY: corrected, "confidence": 1.0}, add_to_output=True)
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != corrected]
            message.set(INTENT_RANKING_KEY, [{INTENT_NAME_KEY: corrected, "confidence": 1.0}, *ranking], add_to_output=True)
        return messages
