"""channels/selector_shortcut.py on the trained model (model tier): every message's NLU result
is what Rasa's own pipeline gives — intent, ranking, entities, and the FAQ topic of every
message that can use one — and most messages that are no FAQ skip the selector.

The messages: a sample of data/nlu's training examples of every intent (no held-out text)."""
from __future__ import annotations

import asyncio
import random
from typing import Any, Dict, List

import yaml
from rasa.core.channels.channel import UserMessage

from channels import selector_shortcut
from kefu import settings

PER_INTENT = 12


def training_texts() -> List[str]:
    by_intent: Dict[str, List[str]] = {}
    for path in sorted((settings.repo_root() / "data" / "nlu").glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" in item and "examples" in item:
                texts = [line[2:].strip() for line in str(item["examples"]).splitlines() if line.startswith("- ")]
                by_intent.setdefault(item["intent"].split("/")[0], []).extend(texts)
    rng = random.Random(7)
    picked = []
    for intent in sorted(by_intent):
        texts = by_intent[intent]
        picked += rng.sample(texts, min(PER_INTENT, len(texts)))
    return picked


def parsed(processor, texts: List[str]) -> List[Dict[str, Any]]:
    async def parse_all():
        return [await processor.parse_message(UserMessage(text)) for text in texts]

    return asyncio.run(parse_all())


def selector_nodes(processor) -> list:
    """The graph nodes that run a ResponseSelector: each bound its ``process`` when the model
    was loaded (the server installs the shortcut before that; here it is set on the nodes)."""
    from rasa.nlu.selectors.response_selector import ResponseSelector

    nodes = [node for node in processor.graph_runner._instantiated_nodes.values()
             if isinstance(getattr(node, "_component", None), ResponseSelector) and node._fn_name == "process"]
    assert nodes, "Kefu's model has a ResponseSelector"
    return nodes


def test_every_parse_is_the_same_where_a_topic_can_be_used(processor):
    texts = training_texts()
    assert len(texts) > 200
    nodes = selector_nodes(processor)
    for node in nodes:
        node._fn = selector_shortcut._rasa_process
    full = parsed(processor, texts)
    for node in nodes:
        node._fn = selector_shortcut.process_usable
    short = parsed(processor, texts)
    skipped = 0
    for text, a, b in zip(texts, full, short):
        assert (a["intent"], a["intent_ranking"], a["entities"]) == (b["intent"], b["intent_ranking"], b["entities"]), text
        ranked = {entry["name"] for entry in a["intent_ranking"]}
        if "faq" in ranked or a["intent"]["name"] in selector_shortcut.ALSO_READ_FOR:
            assert a["response_selector"]["faq"] == b["response_selector"]["faq"], text
        else:
            skipped += 1
            assert "faq" not in (b.get("response_selector") or {}), text
    faqs = sum(a["intent"]["name"] == "faq" for a in full)
    # the point of it: most messages that are no FAQ skip the selector
    assert skipped / (len(texts) - faqs) > 0.5, (skipped, len(texts), faqs)
