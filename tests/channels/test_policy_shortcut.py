"""channels/policy_shortcut.py: when is the ensemble's choice certain without TED?"""
from __future__ import annotations

import numpy as np
from rasa.core.policies.policy import PolicyPrediction

from channels.policy_shortcut import decisive

TED_PRIORITY = 1


def prediction(confidence: float, priority: int, policy: str = "RulePolicy", **flags) -> PolicyPrediction:
    probabilities = [0.0] * 5
    probabilities[2] = confidence
    return PolicyPrediction(probabilities, policy, priority, **flags)


def test_a_certain_rule_above_teds_priority_is_decisive():
    assert decisive([prediction(0.0, 7, "TurnGuard"), prediction(0.0, 3, "Memo"), prediction(1.0, 6)], TED_PRIORITY)


def test_a_rule_policy_core_fallback_is_not_decisive_ted_could_be_more_confident():
    assert not decisive([prediction(0.0, 7, "TurnGuard"), prediction(0.0, 3, "Memo"), prediction(0.3, 6)], TED_PRIORITY)


def test_certainty_at_or_below_teds_priority_is_not_decisive():
    # equal confidences go to the higher priority: a policy below TED would lose a tie
    assert not decisive([prediction(1.0, 1, "Other")], TED_PRIORITY)
    assert not decisive([prediction(1.0, 0, "Other")], TED_PRIORITY)


def test_a_no_user_prediction_overrules_everything():
    assert decisive([prediction(0.2, 7, "TurnGuard", is_no_user_prediction=True), prediction(0.3, 6)], TED_PRIORITY)


def test_an_end_to_end_prediction_is_left_to_rasas_full_path():
    assert not decisive([prediction(1.0, 6, is_end_to_end_prediction=True)], TED_PRIORITY)


def test_a_zeroed_rejected_action_is_what_counts():
    zeroed = prediction(1.0, 6)
    zeroed.probabilities = list(np.array(zeroed.probabilities) * 0)  # the ensemble zeroes a rejected action
    assert not decisive([zeroed], TED_PRIORITY)
