"""Fixtures for the trainer-workflow tests: tiny trained models, tracker stores, scripted events.

Trained models are built once per test session (a tiny project: ~30 s each on 2 cores).
Tests that train or evaluate are marked ``slow``; ``pytest -m "not slow" tests/training``
runs the rest in seconds.
"""
from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import pytest

from kefu.training import conversations as conv
from tests.conftest import create_pg_database, drop_pg_database
from tests.training.tiny import make_project, train


@pytest.fixture(autouse=True)
def _own_var_dir(tmp_path, monkeypatch):
    """Decision log, comparisons and deploy state per test."""
    monkeypatch.setenv("KEFU_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "false")


@pytest.fixture(scope="session")
def good_model(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("tiny-good"))
    return train(project, fixed_name="tiny-good")


@pytest.fixture(scope="session")
def worse_model(tmp_path_factory) -> Path:
    """Deliberately worse: 1 training epoch (poor NLU) and a rule that answers 你好 with goodbye."""
    project = make_project(tmp_path_factory.mktemp("tiny-worse"), epochs=1, broken_rule=True)
    return train(project, fixed_name="tiny-worse")


@pytest.fixture
def project(tmp_path):
    """A fresh tiny project (files only, no model)."""
    return make_project(tmp_path / "project")


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request, tmp_path) -> Iterable[str]:
    """An empty tracker database for Rasa's SQLTrackerStore: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
    else:
        url = create_pg_database("kefu_tracker")
        try:
            yield url
        finally:
            drop_pg_database(url)


@pytest.fixture
def sqlite_tracker_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.db'}"


# --- the desk with the review page (desk/review.py), as the review tests log in to it -------

REVIEW_PASSWORD = "correct horse"
REVIEW_ACCOUNTS = (  # username, display name, role, groups
    ("trainer1", "培训师小李", "trainer", []),
    ("boss", "赵主管", "supervisor", ["综合"]),
    ("agent1", "坐席小王", "agent", ["综合"]),
)


def mount_review(app, project, tracker_url):
    """How the desk app mounts the page (see desk/review.py): an unnamed Mount under /desk/review."""
    from starlette.routing import Mount

    from desk import review

    app.router.routes.insert(0, Mount("/desk/review", routes=review.routes(project, tracker_url)))
    return app


@pytest.fixture
def review_app(tmp_path, project, sqlite_tracker_url, migrated_sqlite):
    """``make(secret)``: the desk app with the review page on ``project`` and ``sqlite_tracker_url``,
    on a migrated SQLite database holding REVIEW_ACCOUNTS (password REVIEW_PASSWORD)."""
    from desk.app import create_app
    from desk.auth import create_agent
    from kefu import db

    db_url = migrated_sqlite(tmp_path / "kefu.db")
    with db.session_scope(db_url) as session:
        for username, name, role, groups in REVIEW_ACCOUNTS:
            create_agent(session, username=username, display_name=name, password=REVIEW_PASSWORD, role=role,
                         groups=groups)

    def make(secret: str):
        return mount_review(create_app(db_url=db_url, session_secret=secret), project, sqlite_tracker_url)

    yield make
    db.dispose_engines()


# --- scripted conversations (Rasa's real event classes, saved by the real store) ----------


class Script:
    """Builds a conversation's events the way Rasa's processor logs them."""

    def __init__(self, start: Optional[float] = None) -> None:
        from rasa.shared.core.events import ActionExecuted, SessionStarted

        self.t = start if start is not None else time.time() - 3600
        self.events: List[Any] = [ActionExecuted("action_session_start", timestamp=self._tick()),
                                  SessionStarted(timestamp=self._tick()),
                                  ActionExecuted("action_listen", timestamp=self._tick())]

    def _tick(self) -> float:
        self.t += 1
        return self.t

    def user(self, text: str, intent: str, confidence: float, entities: Iterable[Dict[str, Any]] = (),
             ranking: Optional[List[Dict[str, Any]]] = None, faq: Optional[str] = None) -> "Script":
        from rasa.shared.core.events import UserUttered

        ranking = ranking or [{"name": intent, "confidence": confidence}]
        parse = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": list(entities),
                 "intent_ranking": ranking}
        if faq:
            parse["response_selector"] = {"faq": {"response": {"intent_response_key": faq, "confidence": 0.9}}}
        self.events.append(UserUttered(text, {"name": intent, "confidence": confidence}, list(entities), parse,
                                       timestamp=self._tick(), input_channel="socketio"))
        return self

    def action(self, name: str) -> "Script":
        from rasa.shared.core.events import ActionExecuted

        self.events.append(ActionExecuted(name, timestamp=self._tick()))
        return self

    def bot(self, text: str) -> "Script":
        from rasa.shared.core.events import BotUttered

        self.events.append(BotUttered(text, timestamp=self._tick()))
        return self

    def slot(self, key: str, value: Any) -> "Script":
        from rasa.shared.core.events import SlotSet

        self.events.append(SlotSet(key, value, timestamp=self._tick()))
        return self

    def loop(self, name: Optional[str]) -> "Script":
        from rasa.shared.core.events import ActiveLoop

        self.events.append(ActiveLoop(name, timestamp=self._tick()))
        return self

    def pause(self) -> "Script":
        from rasa.shared.core.events import ConversationPaused

        self.events.append(ConversationPaused(timestamp=self._tick()))
        return self

    def listen(self) -> "Script":
        return self.action("action_listen")


def save(url: str, sender_id: str, script: Script) -> None:
    """Store the scripted conversation with Rasa's SQLTrackerStore."""
    from rasa.shared.core.trackers import DialogueStateTracker

    store = conv.open_store(url)
    asyncio.run(store.save(DialogueStateTracker.from_events(sender_id, script.events)))
    store.engine.dispose()


def new_id(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def copy_model(model: Path, project_models: Path) -> Path:
    project_models.mkdir(parents=True, exist_ok=True)
    target = project_models / model.name
    shutil.copy2(model, target)
    return target
