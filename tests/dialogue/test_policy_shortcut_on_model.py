"""channels/policy_shortcut.py: with TED run only when it could win, every prediction of
Kefu's model is the same as Rasa's full ensemble gives (model tier: the trained model).

The conversations: every prediction point of the trackers Rasa builds from data/ (stories
and rules) and tests/test_stories.yml, where rules decide; random walks of intents in any
order, with and without entities; and every action of the domain after a greeting, where
mostly no rule applies and TED has to run. (In all of these Kefu's TED never wins: its
confidences stay below the rule policy's core fallback, 0.3; tests/channels/
test_policy_shortcut.py checks the cases where TED would.)"""
from __future__ import annotations

import random
from typing import List, Tuple

from rasa.core.policies.policy import PolicyPrediction
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels import policy_shortcut
from kefu import settings

MAX_POINTS = 1500  # prediction points compared (every one when there are fewer)


def prediction_points(domain) -> List[DialogueStateTracker]:
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    root = settings.repo_root()
    importer = TrainingDataImporter.load_from_config(
        str(root / "config.yml"), str(root / "domain.yml"), [str(root / "data"), str(root / "tests" / "test_stories.yml")])
    trackers = TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()
    points = []
    for number, tracker in enumerate(trackers):
        events = list(tracker.events)
        for index, event in enumerate(events):
            if index and isinstance(event, ActionExecuted) and event.action_name:
                points.append(DialogueStateTracker.from_events(f"t{number}", events[:index], domain.slots))
    step = max(1, len(points) // MAX_POINTS)
    return points[::step]


def random_walks(processor, conversations: int = 60, turns: int = 6) -> List[Tuple[DialogueStateTracker, PolicyPrediction]]:
    """Customers saying intents in random order; the bot's next actions as the full ensemble
    predicts them (run as executed, without side effects). Each point with its full prediction."""
    domain = processor.domain
    rng = random.Random(13)
    intents = [intent for intent in domain.intents if not intent.startswith(("nlu_", "session_", "restart", "back"))]
    entities = {"product": "空调", "fault": "不制冷", "phone": "13900001111"}
    points = []
    for number in range(conversations):
        tracker = DialogueStateTracker.from_events(f"walk{number}", [ActionExecuted("action_listen")], domain.slots)
        for _ in range(turns):
            intent = rng.choice(intents)
            found = [{"entity": name, "value": value} for name, value in entities.items() if rng.random() < 0.2]
            tracker.update(UserUttered("…", {"name": intent, "confidence": 1.0}, found))
            for _ in range(4):
                full = policy_shortcut._rasa_predict_next(processor, tracker.copy())
                points.append((tracker.copy(), full))
                action = domain.action_names_or_texts[full.max_confidence_index]
                tracker.update(ActionExecuted(action, policy=full.policy_name, confidence=full.max_confidence))
                if action == "action_listen":
                    break
            else:
                tracker.update(ActionExecuted("action_listen"))
    return points


def same(a: PolicyPrediction, b: PolicyPrediction) -> bool:
    return (a.policy_name, a.max_confidence_index, a.max_confidence, a.events, a.is_no_user_prediction,
            a.hide_rule_turn) == (b.policy_name, b.max_confidence_index, b.max_confidence, b.events,
                                  b.is_no_user_prediction, b.hide_rule_turn)


def test_every_prediction_is_the_same_as_the_full_ensembles(processor):
    plan = policy_shortcut.plan_for(processor)
    assert plan is not None, "Kefu's graph (turn guard, memoization, rules, TED) is one the shortcut knows"
    points = prediction_points(processor.domain)
    assert len(points) > 300
    skipped = 0
    for tracker in points:
        full = policy_shortcut._rasa_predict_next(processor, tracker.copy())
        short = policy_shortcut.predict_next_with_tracker(processor, tracker.copy())
        assert same(short, full), (tracker.sender_id, [e.as_dict() for e in tracker.events[-6:]], full.policy_name, short.policy_name)
        skipped += full.policy_name is not None and "TEDPolicy" not in full.policy_name
    # the point of it: most predictions do not need TED
    assert skipped / len(points) > 0.5


def unexpected_followers(processor) -> List[Tuple[DialogueStateTracker, PolicyPrediction]]:
    """A greeting followed by any action of the domain: mostly states no rule knows."""
    domain = processor.domain
    points = []
    for action in domain.action_names_or_texts:
        tracker = DialogueStateTracker.from_events("follower", [
            ActionExecuted("action_listen"), UserUttered("…", {"name": "greet", "confidence": 1.0}), ActionExecuted(action)],
            domain.slots)
        points.append((tracker, policy_shortcut._rasa_predict_next(processor, tracker.copy())))
    return points


def test_predictions_off_the_rules_are_the_same_too(processor, monkeypatch):
    verdicts: List[bool] = []
    judge = policy_shortcut.decisive
    monkeypatch.setattr(policy_shortcut, "decisive", lambda predictions, priority: verdicts.append(judge(predictions, priority)) or verdicts[-1])
    for tracker, full in random_walks(processor) + unexpected_followers(processor):
        short = policy_shortcut.predict_next_with_tracker(processor, tracker.copy())
        assert same(short, full), (tracker.sender_id, [e.as_dict() for e in tracker.events[-6:]], full.policy_name, short.policy_name)
    assert verdicts.count(False) > 20, "states where TED had to run as well"
    assert verdicts.count(True) > 20
