"""The held-out NLU set stays held out, and is big enough to mean something."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml
from rasa.shared.nlu.training_data.loading import load_data

ROOT = Path(__file__).resolve().parents[2]
CORE_INTENTS = ["greet", "goodbye", "thank", "affirm", "deny", "request_human", "report_repair",
                "request_installation", "request_return", "complain", "query_ticket", "urge_ticket",
                "cancel_ticket", "query_order", "give_suggestion", "bot_challenge", "out_of_scope"]


def normalise(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text).lower()


def holdout():
    return load_data(str(ROOT / "tests/nlu/holdout.yml"))


def test_no_holdout_text_is_in_the_training_data():
    training = {normalise(e.get("text")) for e in load_data(str(ROOT / "data/nlu")).training_examples if e.get("text")}
    leaked = [e.get("text") for e in holdout().training_examples if normalise(e.get("text")) in training]
    assert not leaked, f"holdout examples found in data/: {leaked}"


def test_holdout_covers_every_core_intent_and_faq_topic():
    counts = Counter(e.get("intent") for e in holdout().training_examples)
    faq = Counter(e.get("intent_response_key") for e in holdout().training_examples if e.get("intent") == "faq")
    assert {i: counts[i] for i in CORE_INTENTS if counts[i] < 20} == {}
    topics = yaml.safe_load((ROOT / "config/intent_labels.yml").read_text("utf-8"))["faq"]
    assert {t: faq[f"faq/{t}"] for t in topics if faq[f"faq/{t}"] < 3} == {}
