"""The turn guard policy (components/turn_guard.py): no runaway turns, whatever the other policies say."""
from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered, UserUtteranceReverted
from rasa.shared.core.trackers import DialogueStateTracker

from components.turn_guard import TurnGuardPolicy
from kefu import settings
from kefu.dialogue_config import dialogue_config, load_dialogue_config


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(settings.repo_root() / "domain.yml"))


@pytest.fixture
def guard(tmp_path) -> TurnGuardPolicy:
    return TurnGuardPolicy.create({**TurnGuardPolicy.get_default_config()}, LocalModelStorage(tmp_path),
                                  Resource("guard"), ExecutionContext(GraphSchema({}), "test"))


def tracker(domain: Domain, *turn) -> DialogueStateTracker:
    events = [ActionExecuted(ACTION_LISTEN_NAME), UserUttered("好的", {"name": "affirm", "confidence": 0.9}), *turn]
    return DialogueStateTracker.from_events("guard-test", events, domain.slots)


def predicted(guard, domain, t):
    prediction = guard.predict_action_probabilities(t, domain)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return (domain.action_names_or_texts[best] if prediction.max_confidence > 0 else None), prediction


def test_abstains_at_the_start_of_a_turn_and_after_one_action(guard, domain):
    assert predicted(guard, domain, tracker(domain))[0] is None
    t = tracker(domain, ActionExecuted("action_courtesy"), BotUttered("好的，还有什么可以帮您？"))
    assert predicted(guard, domain, t)[0] is None


def test_the_fallback_loop_of_issue_10_is_stopped_after_its_first_repeat(guard, domain):
    # what the bot did: action_default_fallback predicted again and again in one turn
    t = tracker(domain, ActionExecuted("action_default_fallback"), BotUttered("非常抱歉，我没能弄明白您的需求"),
                ActionExecuted("action_default_fallback"))
    action, prediction = predicted(guard, domain, t)
    assert action == ACTION_LISTEN_NAME and prediction.is_no_user_prediction
    assert prediction.policy_priority > 6  # above RulePolicy


def test_a_reverted_message_ends_the_turn(guard, domain):
    t = tracker(domain, ActionExecuted("action_default_fallback"), BotUttered("好的，还有什么可以帮您？"),
                UserUtteranceReverted())
    assert predicted(guard, domain, t)[0] == ACTION_LISTEN_NAME


def test_message_limit_per_turn(guard, domain):
    limit = dialogue_config().max_bot_messages_per_turn
    messages = [BotUttered(f"第{i}条") for i in range(limit)]
    t = tracker(domain, ActionExecuted("action_submit_repair"), *messages)
    assert predicted(guard, domain, t)[0] == ACTION_LISTEN_NAME
    t = tracker(domain, ActionExecuted("action_submit_repair"), *messages[:limit - 1])
    assert predicted(guard, domain, t)[0] is None


def test_config_refuses_internal_intents_as_button_payloads(tmp_path):
    bad = tmp_path / "dialogue.yml"
    text = (settings.config_dir() / "dialogue.yml").read_text(encoding="utf-8")
    bad.write_text(text.replace("  - greet\n", "  - greet\n  - restart\n", 1), encoding="utf-8")
    with pytest.raises(Exception, match="restart"):
        load_dialogue_config(bad)
