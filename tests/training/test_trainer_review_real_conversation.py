"""A real conversation -> reviewed story -> what `rasa test core` and training see (Kefu's own domain).

The conversation (tests/training/data/conversation_ticket_correction.json) is the tracker of a
real chat in the widget against the model of 2026-12-06: the customer looked up a ticket, then
wrote "不对，我说的是冰箱" (intent ``correct``, 0.94) and the bot fell back; a trainer turned it
into a story on the desk (docs/trainers.md, "A real correction, end to end"). Client IPs are
removed; the phone is the seeded demo customer's.

A reviewed story only fixes the bot if the dialogue state it teaches is the state the
policies saw when they went wrong. These tests build the story with the desk's builder on
the real domain, read it back with Rasa's own story reader and tracker generator (exactly
what `rasa test core` in `./kefu.sh compare` and `rasa train` do), and check that

- Rasa reads the file and replays it as one test conversation ending in the chosen action;
- MemoizationPolicy's training key for the chosen action (Rasa's MaxHistoryTrackerFeaturizer,
  max_history 4) is exactly the state history it predicts from on the live tracker, where
  RulePolicy hides the form's happy-path turns (``hide_rule_turn``). A story that kept the
  form's turns and ``active_loop`` steps passed a plain state comparison and still failed
  `./kefu.sh compare` after retraining (docs/trainers.md): this is the check that matters;
- the desk's save (page -> data/stories/reviewed.yml) writes the same story on a copy of the
  real project, after Rasa's data validation and rule-contradiction check.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from kefu.training import stories
from kefu.training.project import Project

ROOT = Path(__file__).resolve().parents[2]
CONVERSATION = Path(__file__).parent / "data" / "conversation_ticket_correction.json"
CONVERSATION_ID = "1fa9f32b-783f-4e69-8296-8c67d09620ba"
MEMO_HISTORY = 4  # MemoizationPolicy's max_history in config.yml


def events() -> List[Dict[str, Any]]:
    return json.loads(CONVERSATION.read_text("utf-8"))


def masked_steps() -> List[stories.Step]:
    """The steps as the desk shows and saves them (personal data masked, desk/review.py)."""
    from rasa.shared.core.events import Event

    from kefu.training import conversations as conv

    conversation = conv.analyse(CONVERSATION_ID, [Event.from_parameters(e) for e in events()], mask=True)
    return stories.steps_from_events([e.as_dict() for e in conversation.events])


def marked_step(steps: List[stories.Step]) -> int:
    """The customer message the bot fell back on (the trainer clicks 这句之后答错了)."""
    return next(s.index for s in steps if s.kind == "user" and s.text == "不对，我说的是冰箱")


def correction(steps: List[stories.Step]) -> stories.Correction:
    return stories.Correction(CONVERSATION_ID, marked_step(steps), "action_correct_ticket", intent="correct")


@pytest.fixture(scope="module")
def domain():
    return Project.default().load_domain()


def story_trackers(domain, story_file: Path):
    """The test conversations `rasa test core` makes of a story file (rasa.core.test._create_data_generator)."""
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_dict(training_data_paths=[str(story_file)],
                                                   domain_path=str(Project.default().domain))
    return TrainingDataGenerator(importer.get_stories(), domain, use_story_concatenation=False,
                                 augmentation_factor=0).generate_story_trackers()


def hide_loop_turns(live: List[Any]) -> None:
    """Flag the form's happy-path turns as RulePolicy does at prediction time (``hide_rule_turn``):
    the listen after the active form's action, and the form action answering a message."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop

    active, last = None, None
    for event in live:
        if isinstance(event, ActiveLoop):
            active = event.name
        elif isinstance(event, ActionExecuted):
            event.hide_rule_turn = bool(active) and (
                (event.action_name == "action_listen" and last == active)
                or (event.action_name == active and last == "action_listen"))
            last = event.action_name


def test_the_story_teaches_the_state_the_bot_was_in(domain, tmp_path):
    """MemoizationPolicy's training key for the chosen action = the states it predicts from live."""
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
    from rasa.shared.core.events import ActionExecuted, Event
    from rasa.shared.core.trackers import DialogueStateTracker

    steps = masked_steps()
    info = stories.domain_info(Project.default())
    story = stories.build_story(steps, correction(steps), info, "reviewed real turn 3")
    assert not any("active_loop" in step for step in story["steps"])  # the form's own turns are left out
    story_file = tmp_path / "reviewed.yml"
    story_file.write_text(stories.new_file_text() + stories.story_block(story), encoding="utf-8")

    [tracker] = story_trackers(domain, story_file)
    actions = [e.action_name for e in tracker.events if isinstance(e, ActionExecuted)]
    assert actions[-2:] == ["action_correct_ticket", "action_listen"]  # the chosen action, then Rasa listens
    states, labels = MaxHistoryTrackerFeaturizer(max_history=MEMO_HISTORY).training_states_and_labels(
        [tracker], domain)
    key = states[labels.index(["action_correct_ticket"])]

    live = [Event.from_parameters(e) for e in events()]
    hide_loop_turns(live)
    wrong = next(i for i, e in enumerate(live) if isinstance(e, ActionExecuted)
                 and e.action_name == "action_default_fallback")
    seen = DialogueStateTracker.from_events("live", live[:wrong], slots=domain.slots).past_states(
        domain, ignore_rule_only_turns=True, rule_only_data={"rule_only_slots": [], "rule_only_loops": []})

    assert key[-1]["user"]["intent"] == "correct" and "product" in key[-1]["user"]["entities"]
    assert key == seen[-MEMO_HISTORY:]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_desk_saves_it_as_a_story_rasa_accepts(tmp_path, sqlite_tracker_url, monkeypatch):
    """Review page -> data/stories/reviewed.yml on a copy of the real project (Rasa's checks run)."""
    import asyncio

    from argon2 import PasswordHasher
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker
    from starlette.testclient import TestClient

    from desk.app import create_app
    from desk.auth import create_agent
    from kefu import db
    from kefu.services import agents
    from kefu.training import conversations as conv
    from tests.training.test_trainer_review_conversations import step_of
    from tests.training.conftest import mount_review
    from tests.training.test_trainer_review_page import csrf_token, login

    root = tmp_path / "kefu"
    root.mkdir()
    for name in ("config.yml", "domain.yml"):
        shutil.copy2(ROOT / name, root / name)
    shutil.copytree(ROOT / "data", root / "data", ignore=shutil.ignore_patterns("reviewed.yml"))
    shutil.copytree(ROOT / "build", root / "build")  # config.yml's spaCy pipeline and jieba dictionary
    (root / "tests" / "nlu").mkdir(parents=True)
    (root / "tests" / "nlu" / "holdout.yml").write_text('version: "3.1"\nnlu: []\n', encoding="utf-8")
    project = Project.at(root)

    # The conversation, re-timed to now so that the page's default range (7 days) lists it.
    live = [Event.from_parameters(e) for e in events()]
    shift = time.time() - 60 - live[0].timestamp
    for event in live:
        event.timestamp += shift
    store = conv.open_store(sqlite_tracker_url)
    asyncio.run(store.save(DialogueStateTracker.from_events(CONVERSATION_ID, live)))
    store.engine.dispose()

    monkeypatch.setattr(agents, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    db_url = f"sqlite:///{tmp_path / 'kefu.db'}"
    db.migrate(db_url)
    with db.session_scope(db_url) as session:
        create_agent(session, username="trainer1", display_name="培训师小李", password="correct horse", role="trainer")
    desk = TestClient(mount_review(create_app(db_url=db_url, session_secret="real-conv"), project, sqlite_tracker_url))
    try:
        login(desk, "trainer1")
        assert CONVERSATION_ID in desk.get("/desk/review/conversations").text  # flagged: a fallback ran
        page = desk.get("/desk/review/conversation", params={"id": CONVERSATION_ID})
        step = step_of(page.text, "user", "correct")
        response = desk.post("/desk/review/stories", headers={"X-CSRF-Token": csrf_token(page)},
                             json={"conversation_id": CONVERSATION_ID, "step": step, "intent": "correct",
                                   "action": "action_correct_ticket"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "added", response.json()
    finally:
        db.dispose_engines()

    [saved] = yaml.safe_load((root / "data" / "stories" / "reviewed.yml").read_text("utf-8"))["stories"]
    steps = masked_steps()
    expected = stories.build_story(steps, correction(steps), stories.domain_info(project), saved["story"])
    assert saved["steps"] == expected["steps"]
    assert saved["metadata"]["replaced_action"] == "action_default_fallback"
    # The answer to the form (the phone) is the form's own turn: not in the story, nor the number.
    assert not any(s.get("intent") == "inform" for s in saved["steps"])
    assert "13912340001" not in (root / "data" / "stories" / "reviewed.yml").read_text("utf-8")
