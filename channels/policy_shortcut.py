"""TEDPolicy runs only when its prediction could win (issue 13).

Rasa 3.6 runs every dialogue policy for every prediction and then lets its ensemble
(``DefaultPolicyPredictionEnsemble``) pick one: a "no user" prediction overrules all
others, otherwise the highest confidence wins and equal confidences go to the higher
priority. Most of Kefu's predictions are decided by a rule, a form's happy path or the turn
guard with confidence 1.0 at a priority above TED's; TED (a TensorFlow model: half of a
prediction's time, docs/performance.md) cannot beat that, since its confidences are at most
1.0, it makes no "no user" predictions, adds no events of its own, and makes end-to-end
predictions only when trained on story texts.

``install()`` (channels/socketio.py) replaces ``MessageProcessor._predict_next_with_tracker``:
the other policies run first; when the ensemble's choice among them is certain to stand
(``decisive``), it is combined by the same ensemble without TED; otherwise TED runs as well
and the ensemble sees every prediction, as before. tests/dialogue/test_policy_shortcut_on_model.py
replays Kefu's stories and rules and checks that every prediction is the same both ways.
Any other graph shape (another ensemble, no TED, an end-to-end TED) keeps Rasa's own path.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Text, Tuple

from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.core.processor import MessageProcessor
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, TEXT

from kefu.runtime.reliability import reliability_config

logger = logging.getLogger(__name__)

_rasa_predict_next = MessageProcessor._predict_next_with_tracker


@dataclass(frozen=True)
class Plan:
    """Where the policies sit in a loaded model's prediction graph."""

    ensemble_node: Text
    domain_node: Text
    policy_inputs: Tuple[Tuple[Text, Text], ...]  # (ensemble input name, node), in the ensemble's order
    ted_nodes: Tuple[Text, ...]
    ted_priority: int

    @property
    def other_nodes(self) -> List[Text]:
        return [node for _, node in self.policy_inputs if node not in self.ted_nodes]


def decisive(predictions: List[PolicyPrediction], ted_priority: int) -> bool:
    """Can no TED prediction change the ensemble's choice among these predictions?

    Call after the ensemble's own handling of a rejected action (``_best_policy_prediction``
    zeroes it in place), so that the confidences are the ones it compares."""
    if any(prediction.is_end_to_end_prediction for prediction in predictions):
        return False  # an end-to-end prediction of ours: let Rasa's full path judge it
    if any(prediction.is_no_user_prediction for prediction in predictions):
        return True  # overrules every prediction based on user input, TED's included
    best = DefaultPolicyPredictionEnsemble._pick_best_policy(predictions)
    return best.max_confidence >= 1.0 and best.policy_priority > ted_priority


def plan_for(processor: MessageProcessor) -> Optional[Plan]:
    """The plan for this model, or None when its graph is not the shape this shortcut knows."""
    cached = getattr(processor, "_kefu_policy_plan", False)
    if cached is not False:
        return cached
    plan = _make_plan(processor)
    processor._kefu_policy_plan = plan  # type: ignore[attr-defined]
    return plan


def _make_plan(processor: MessageProcessor) -> Optional[Plan]:
    metadata = processor.model_metadata
    target = metadata.core_target
    nodes = metadata.predict_schema.nodes
    if not target or target not in nodes or nodes[target].uses is not DefaultPolicyPredictionEnsemble:
        return None
    needs = nodes[target].needs
    policy_inputs = tuple((name, node) for name, node in needs.items() if name not in ("domain", "tracker"))
    ted_nodes = tuple(node for _, node in policy_inputs if issubclass(nodes[node].uses, TEDPolicy))
    if not ted_nodes or len(ted_nodes) == len(policy_inputs) or "domain" not in needs:
        return None
    priorities = []
    for node in ted_nodes:
        ted = processor.graph_runner._instantiated_nodes[node]._component  # type: ignore[attr-defined]
        if ted.only_e2e or TEXT in ted.fake_features or INTENT not in ted.fake_features:
            return None  # trained on story texts: it can make end-to-end predictions
        priorities.append(ted.priority)
    return Plan(target, needs["domain"], policy_inputs, ted_nodes, max(priorities))


def predict_next_with_tracker(self: MessageProcessor, tracker: DialogueStateTracker) -> PolicyPrediction:
    """Rasa 3.6's ``MessageProcessor._predict_next_with_tracker``, TED run only when it matters."""
    plan = plan_for(self)
    if plan is None or tracker.followup_action:
        return _rasa_predict_next(self, tracker)
    results = self.graph_runner.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=[plan.domain_node, *plan.other_nodes])
    domain: Domain = results[plan.domain_node]
    others = [results[node] for node in plan.other_nodes]
    DefaultPolicyPredictionEnsemble._best_policy_prediction(others, tracker, domain)  # a rejected action's zeroing
    if not decisive(others, plan.ted_priority):
        results.update(self.graph_runner.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=list(plan.ted_nodes)))
    kwargs: Dict[Text, PolicyPrediction] = {name: results[node] for name, node in plan.policy_inputs if node in results}
    return DefaultPolicyPredictionEnsemble().combine_predictions_from_kwargs(tracker=tracker, domain=domain, **kwargs)


def install() -> bool:
    """Patch Rasa's processor (idempotent). False when configured off."""
    if not reliability_config().inference.policy_shortcut:
        return False
    MessageProcessor._predict_next_with_tracker = predict_next_with_tracker  # type: ignore[method-assign]
    return True


def uninstall() -> None:
    MessageProcessor._predict_next_with_tracker = _rasa_predict_next  # type: ignore[method-assign]
