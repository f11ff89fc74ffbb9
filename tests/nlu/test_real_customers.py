"""The real-customer test split stays out of the training data, and is big enough to mean something."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from rasa.shared.nlu.training_data.loading import load_data

from kefu.training.project import nlu_files, normalise

ROOT = Path(__file__).resolve().parents[2]
SPLIT = ROOT / "tests/nlu/real_customers_test.yml"
SIMILAR = 0.85  # normalised edit-distance similarity that counts as a near-duplicate


def texts(path: Path) -> list:
    return [e.get("text") for e in load_data(str(path)).training_examples if e.get("text")]


def near_duplicates(test: list, training: list) -> list:
    """Test texts with a training text at similarity >= SIMILAR (normalised as for the holdout)."""
    test_norm = [normalise(t) for t in test]
    train_norm = [normalise(t) for t in training]
    scores = process.cdist(test_norm, train_norm, scorer=Levenshtein.normalized_similarity,
                           score_cutoff=SIMILAR, workers=1)
    return [(test[i], training[int(scores[i].argmax())]) for i in range(len(test)) if scores[i].max() > 0]


@pytest.fixture(scope="module")
def split() -> list:
    return texts(SPLIT)


def test_no_real_customer_test_text_or_near_duplicate_is_in_the_training_data(split):
    training = [t for path in nlu_files(ROOT / "data") for t in texts(path)]  # every NLU file under data/
    exact = sorted({normalise(t) for t in split} & {normalise(t) for t in training})
    assert not exact, f"{len(exact)} test-split texts found in data/ (texts not printed)"
    near = near_duplicates(split, training)
    assert not near, f"{len(near)} test-split texts have a near-duplicate in data/ (texts not printed)"


def test_the_leak_check_sees_near_duplicates():
    # one character changed in a 12-character text: similarity 0.92 -> caught
    assert near_duplicates(["买了两个月就开不了机了"], ["买了三个月就开不了机了"])
    assert not near_duplicates(["买了两个月就开不了机了"], ["物流很快，包装很好"])


def test_split_is_big_enough_and_labels_the_service_intents(split):
    assert len(split) >= 500
    counts = Counter(e.get("intent") for e in load_data(str(SPLIT)).training_examples)
    for intent in ("report_repair", "complain", "out_of_scope", "thank", "request_return"):
        assert counts[intent] >= 10, counts
