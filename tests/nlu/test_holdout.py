"""The held-out NLU set stays held out, and is big enough to mean something.

Leakage is checked two ways against every training text under data/ (and the
development sets, which may be tuned against): an exact match after normalisation
(no spaces/punctuation/emoji, lower case) and a near-duplicate, i.e. a normalised
Levenshtein similarity (1 - distance / longer length, rapidfuzz) of at least
NEAR_DUPLICATE_SIMILARITY. Failures report counts only, never the texts, so that
nobody who writes training data reads held-out text in a test log.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Iterable, List, Sequence

import numpy as np
import yaml
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from rasa.shared.nlu.training_data.loading import load_data

from kefu.training.project import EVALUATION_SETS, nlu_files

ROOT = Path(__file__).resolve().parents[2]
HOLDOUT = ROOT / "tests/nlu/holdout.yml"
DEV_SETS = [ROOT / "tests/nlu" / EVALUATION_SETS[name] for name in EVALUATION_SETS if name != "holdout"]
NEAR_DUPLICATE_SIMILARITY = 0.85
MIN_EXAMPLES = 600
MIN_PER_INTENT = 25
MIN_PER_FAQ_TOPIC = 3
# Every intent a customer can type (EXTERNAL_handoff_resolved is sent by the desk, not typed).
CORE_INTENTS = ["greet", "goodbye", "thank", "affirm", "deny", "request_human", "report_repair",
                "request_installation", "request_return", "complain", "query_ticket", "urge_ticket",
                "cancel_ticket", "reschedule_ticket", "query_order", "give_suggestion", "bot_challenge",
                "out_of_scope", "inform", "chitchat", "stop_form", "correct"]


def normalise(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text).lower()


def texts_of(paths: Iterable[Path]) -> List[str]:
    return [e.get("text") for p in paths for e in load_data(str(p)).training_examples if e.get("text")]


def holdout():
    return load_data(str(HOLDOUT))


def training_texts() -> List[str]:
    return texts_of(nlu_files(ROOT / "data"))


def near_duplicates(candidates: Sequence[str], reference: Sequence[str],
                    threshold: float = NEAR_DUPLICATE_SIMILARITY) -> List[str]:
    """The candidates (as given) with a reference text whose normalised forms are at least
    ``threshold`` similar (normalised Levenshtein similarity; 1.0 = identical)."""
    cands = [normalise(t) for t in candidates]
    refs = sorted({normalise(t) for t in reference} - {""})
    if not cands or not refs:
        return []
    scores = process.cdist(cands, refs, scorer=Levenshtein.normalized_similarity,
                           score_cutoff=threshold, dtype=np.float32, workers=1)
    hit = scores.max(axis=1) >= threshold
    return [text for text, h in zip(candidates, hit) if h]


def exact_duplicates(candidates: Sequence[str], reference: Sequence[str]) -> List[str]:
    refs = {normalise(t) for t in reference}
    return [t for t in candidates if normalise(t) in refs]


def test_near_duplicate_detection_works():
    reference = ["空调不制冷了怎么办", "我要报修"]
    assert near_duplicates(["空调不制冷了怎么办呢", "冰箱门关不上"], reference) == ["空调不制冷了怎么办呢"]
    assert near_duplicates(["空調不製冷了怎麼辦"], reference) == []  # 4 of 9 characters differ
    assert exact_duplicates(["我要 报修！"], reference) == ["我要 报修！"]


def test_no_holdout_text_is_in_the_training_data():
    leaked = exact_duplicates(texts_of([HOLDOUT]), training_texts())
    assert len(leaked) == 0, f"{len(leaked)} holdout texts are (normalised) in data/"


def test_no_holdout_text_is_a_near_duplicate_of_a_training_text():
    near = near_duplicates(texts_of([HOLDOUT]), training_texts())
    assert len(near) == 0, (f"{len(near)} holdout texts have a training text in data/ with normalised "
                      f"edit-distance similarity >= {NEAR_DUPLICATE_SIMILARITY}")


def test_no_holdout_text_is_a_near_duplicate_of_a_development_text():
    near = near_duplicates(texts_of([HOLDOUT]), texts_of(p for p in DEV_SETS if p.exists()))
    assert len(near) == 0, (f"{len(near)} holdout texts have a development-set text with normalised "
                      f"edit-distance similarity >= {NEAR_DUPLICATE_SIMILARITY}")


def test_holdout_covers_every_core_intent_and_faq_topic():
    examples = holdout().training_examples
    counts = Counter(e.get("intent") for e in examples)
    faq = Counter(e.get("intent_response_key") for e in examples if e.get("intent") == "faq")
    assert len(examples) >= MIN_EXAMPLES
    assert {i: counts[i] for i in CORE_INTENTS if counts[i] < MIN_PER_INTENT} == {}
    topics = yaml.safe_load((ROOT / "config/intent_labels.yml").read_text("utf-8"))["faq"]
    assert {t: faq[f"faq/{t}"] for t in topics if faq[f"faq/{t}"] < MIN_PER_FAQ_TOPIC} == {}
    assert set(faq) <= {f"faq/{t}" for t in topics}
