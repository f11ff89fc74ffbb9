"""A policy that ends a bot turn that is running away.

Rasa keeps predicting actions until one of them is ``action_listen`` (or ten were
predicted). When the policies keep choosing the same action — e.g. the core fallback
again and again after a courtesy message — the customer gets a flood of messages and
then silence. This policy (highest priority, and marked as a "no user" prediction so it
overrules rules and form happy paths) predicts ``action_listen`` with certainty when, in
the current turn (events since the latest user message):

- an action has already run twice (the repeat is stopped at once),
- a fallback reverted the user's message (the fallback is the answer to this turn),
- the bot already sent ``max_bot_messages`` messages (config/dialogue.yml).

Otherwise it abstains (all-zero probabilities), so the other policies decide.
"""
from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered, UserUtteranceReverted
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from kefu.dialogue_config import dialogue_config

logger = logging.getLogger(__name__)


def current_turn(tracker: DialogueStateTracker) -> List[Any]:
    """Events after the latest user message (raw events: a revert stays visible)."""
    turn: List[Any] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        turn.append(event)
    turn.reverse()
    return turn


def stop_reason(tracker: DialogueStateTracker, max_bot_messages: int) -> Optional[str]:
    turn = current_turn(tracker)
    actions = [e.action_name for e in turn if isinstance(e, ActionExecuted) and e.action_name and e.action_name != ACTION_LISTEN_NAME]
    if not actions:
        return None
    if any(isinstance(e, UserUtteranceReverted) for e in turn):
        return "fallback"
    repeated = [name for name, count in Counter(actions).items() if count >= 2]
    if repeated:
        return f"repeated {repeated[0]}"
    if sum(1 for e in turn if isinstance(e, BotUttered)) >= max_bot_messages:
        return "message limit"
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class TurnGuardPolicy(Policy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 7}  # above RulePolicy (6)

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, **kwargs: Any) -> None:
        super().__init__(config, model_storage, resource, execution_context, **kwargs)

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource  # nothing to learn

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "TurnGuardPolicy":
        return cls(config, model_storage, resource, execution_context)

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain, **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        reason = stop_reason(tracker, dialogue_config().max_bot_messages_per_turn)
        if reason is None:
            return self._prediction(probabilities)
        logger.info("turn guard ends the turn of %s: %s", tracker.sender_id, reason)
        probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities, is_no_user_prediction=True)
