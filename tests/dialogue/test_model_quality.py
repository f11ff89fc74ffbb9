"""Quality gates on the trained model: held-out NLU set and end-to-end test stories.

Runs `./kefu.sh evaluate` machinery (Rasa's `rasa test nlu` / `rasa test core`) on
the latest model in models/ (./kefu.sh test trains it first). Slow (~3-4 min).
"""
from __future__ import annotations

import json

import pytest

from kefu.training import evaluate

# Measured figures are in README.md; the gates sit below them so that a real regression
# fails while training noise (fixed seeds, CPU non-determinism) does not.
# The holdout is the fresh, real-customer-style set of 2026-12-01 (measured 0.898 on its
# first model; the old holdout, now a development set, measured 0.952). The target is 0.95
# (issue 10): this gate guards against regressions, it does not say the target is met.
# The same data and seeds gave 0.883 in a local training and 0.875 in CI's clean-clone
# training (2026-12-07), so a gate at 0.88 failed on noise: 0.86 keeps a margin of about
# twice the spread seen between trainings of identical inputs.
MIN_HOLDOUT_MACRO_F1 = 0.86
MIN_FAQ_MACRO_F1 = 0.93
MIN_ENTITY_RECALL = 0.85


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    code = evaluate.main(["--out", str(out)])
    data = json.loads((out / "summary.json").read_text("utf-8"))
    data["exit_code"] = code
    data["out"] = out
    return data


def test_every_test_story_passes(summary):
    failed = (summary["out"] / "failed_test_stories.yml")
    assert summary["failed_stories"] == 0, failed.read_text("utf-8") if failed.exists() else summary
    assert summary["exit_code"] == 0


def test_holdout_intent_macro_f1(summary):
    assert summary["intent_macro_f1"] >= MIN_HOLDOUT_MACRO_F1, summary["per_intent_f1"]


def test_holdout_faq_selection(summary):
    assert summary["faq_macro_f1"] >= MIN_FAQ_MACRO_F1


def test_holdout_entities(summary):
    assert summary["entity_micro_recall"] >= MIN_ENTITY_RECALL, summary["entities"]
    assert summary["entity_micro_precision"] >= 0.8, summary["entities"]
