"""The whole trainer loop on a real model and a real tracker store (tiny project, ~1-2 min).

A customer talks to a Rasa agent whose conversations go to Rasa's SQLTrackerStore
(SQLite); the model gets two questions about repair progress wrong. The trainer exports
the low-confidence messages, accepts the corrected intent (the review page's call),
validates, fine-tunes the model — and the corrected messages are now classified right.
"""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from kefu.training import accept as accepting
from kefu.training import conversations as conv
from kefu.training import export, validate
from tests.training.conftest import copy_model
from tests.training.tiny import train

WRONG = ["冰箱维修进展如何", "我前天报修的空调修到哪了"]  # the tiny model says report_repair; they ask for progress


def talk(model, tracker_url, sender, texts):
    """A customer conversation through Rasa's own message processing, stored in the tracker store."""
    from rasa.core.agent import Agent

    store = conv.open_store(tracker_url)
    agent = Agent.load(str(model), tracker_store=store)

    async def run():
        replies = []
        for text in texts:
            replies += await agent.handle_text(text, sender_id=sender)
        return replies

    replies = asyncio.run(run())
    store.engine.dispose()
    return replies


def parse(model, texts):
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def run():
        return [await agent.parse_message(t) for t in texts]

    return {t: (p["intent"]["name"], p["intent"]["confidence"]) for t, p in zip(texts, asyncio.run(run()))}


@pytest.mark.slow
def test_corrected_message_is_classified_right_after_finetuning(project, good_model, sqlite_tracker_url, tmp_path,
                                                                capsys):
    base = copy_model(good_model, project.models)
    replies = talk(base, sqlite_tracker_url, "customer-42", ["你好", *WRONG, "再见"])
    assert any("维修" in (r.get("text") or "") or "报修" in (r.get("text") or "") for r in replies)  # wrong answer

    # 1. Export: low-confidence messages of the last day, lowest confidence first.
    out = tmp_path / "review"
    assert export.main(["--tracker-store", sqlite_tracker_url, "--out", str(out), "--days", "1",
                        "--low-confidence", "--threshold", "0.9", "--flagged-only"]) == 0
    exported = json.loads((out / "messages.json").read_text("utf-8"))
    assert [r["confidence"] for r in exported] == sorted(r["confidence"] for r in exported)
    rows = {r["text"]: r for r in exported}
    assert set(WRONG) <= set(rows), rows.keys()
    assert all(rows[t]["intent"] == "report_repair" and rows[t]["conversation_id"] == "customer-42" for t in WRONG)

    # 2. Review: the trainer corrects the intent (what the review page's one click sends).
    outcomes = accepting.accept(project, [accepting.Example(t, "query_ticket", rows[t]["entities"]) for t in WRONG],
                                actor="trainer1")
    assert [o.status for o in outcomes] == ["added", "added"]
    assert validate.main(["--skip-rasa"], project=project) == 0

    # 3. Fine-tune the current model with the new examples.
    started = time.monotonic()
    tuned = train(project, finetune=True)
    seconds = time.monotonic() - started
    assert tuned != base

    # 4. The corrected messages are classified right now; the rest still is.
    after = parse(tuned, [*WRONG, "空调坏了", "帮我催催", "你好"])
    with capsys.disabled():
        print(f"\n[retrain loop] finetune {seconds:.0f} s; after: "
              + ", ".join(f"{t} → {i} {c:.2f}" for t, (i, c) in after.items()))
    assert {t: after[t][0] for t in WRONG} == {t: "query_ticket" for t in WRONG}
    assert (after["空调坏了"][0], after["帮我催催"][0], after["你好"][0]) == ("report_repair", "urge_ticket", "greet")
