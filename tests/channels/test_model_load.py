"""channels/model_load.py: Rasa's TensorFlow models loaded for serving only predict exactly
as Rasa's own load does (a tiny project with DIET, entities and TED, trained here)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from channels import model_load
from tests.training.tiny import TEST_STORIES, make_project, train

TEXTS = ["你好", "空调坏了", "帮我催催", "我的电话是13900001111", "明天下午有空", "查下维修单", "拜拜", "嗯"]


@pytest.fixture(scope="module")
def model_with_ted(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("tiny-ted"), epochs=40)
    config = project.root / "config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "policies:\n  - name: RulePolicy\n",
        "policies:\n  - name: RulePolicy\n  - name: TEDPolicy\n    epochs: 3\n    max_history: 3\n    random_seed: 42\n"),
        encoding="utf-8")
    (project.root / "data" / "stories.yml").write_text(TEST_STORIES.replace("stories:", "stories:", 1), encoding="utf-8")
    return train(project, fixed_name="tiny-ted")


def predictions(model: Path) -> list:
    """Every text's intent ranking and entities, and TED's probabilities after each text."""
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    async def run() -> list:
        agent = await load_agent(model_path=str(model))
        processor = agent.processor
        ted = next(node for name, node in processor.graph_runner._instantiated_nodes.items() if "TEDPolicy" in name)
        out = []
        for text in TEXTS:
            parsed = await processor.parse_message(UserMessage(text))
            tracker = DialogueStateTracker.from_events("t", [ActionExecuted("action_listen")], slots=processor.domain.slots)
            tracker.update(UserUttered(text, parsed["intent"], parsed["entities"], parsed))
            policy = ted._component
            probabilities = policy.predict_action_probabilities(tracker, processor.domain).probabilities
            out.append((parsed["intent_ranking"], [(e["entity"], e["value"]) for e in parsed["entities"]], probabilities))
        return out

    return asyncio.run(run())


def test_served_models_predict_exactly_as_rasas_own_load(model_with_ted):
    stock = predictions(model_with_ted)
    try:
        assert model_load.install()  # config/reliability.yml inference.load_for_inference
        served = predictions(model_with_ted)
    finally:
        model_load.uninstall()
    assert served == stock  # intent confidences and TED probabilities to the last bit
    assert any(entities for _, entities, _ in stock), "the texts exercise DIET's entity extraction"
    assert {ranking[0]["name"] for ranking, _, _ in stock} >= {"greet", "report_repair", "urge_ticket"}


def test_fine_tuning_keeps_rasas_own_load(monkeypatch):
    calls = []
    monkeypatch.setattr(model_load, "_rasa_load", lambda *args, **kwargs: calls.append(args) or "rasa's")
    assert model_load.load_for_inference(object, "weights", None, None, True) == "rasa's"
    assert calls and calls[0][4] is True
