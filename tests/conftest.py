"""Shared fixtures: the same service tests run on SQLite and on a real PostgreSQL.

PostgreSQL: a fresh, uniquely named database per test session, created through
the admin URL (env KEFU_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/test)
and dropped at the end. Both databases are built with kefu.db.migrate(), so the
migrations are under test too.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path
from typing import Callable, Iterator

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url

from kefu import clock, db, settings
from kefu.models import Base
from moments import MONDAY_10_BEIJING

PG_ADMIN_URL = os.environ.get("KEFU_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

# Test tiers: which files (or "file::test-name prefix") need a trained model, the real
# stack, a browser, or are slow (markers are registered in pytest.ini; tests that train
# also carry @pytest.mark.slow themselves). Everything else is the fast tier of
# `./kefu.sh test --fast`.
TESTS = Path(__file__).resolve().parent
TIERS = {
    "model": ("dialogue/test_model_quality.py", "dialogue/test_spec_examples.py", "dialogue/test_policy_shortcut_on_model.py",
              "dialogue/test_selector_shortcut_on_model.py", "e2e/", "faults/", "scaleout/"),
    "e2e": ("e2e/", "faults/", "scaleout/"),
    "browser": ("widget/", "desk/test_desk_browser.py", "analytics/test_analytics_browser.py",
                "training/test_trainer_review_browser.py", "training/test_trainer_review_conversation_browser.py",
                "e2e/test_widget_real_stack.py"),
    # re-runs the time-sensitive tests twice in child pytests under faketime (~4 min loaded);
    # start Rasa itself in a child process (`rasa data validate`, RulePolicy's contradiction
    # check, Rasa's spaCy components): 5-10 s each of importing TensorFlow, not Kefu's logic.
    "slow": ("test_clock_guard.py::test_time_sensitive_tests_pass_at_any_hour",
             "training/test_trainer_review_conversations.py::test_saving_a_correction_writes_a_validated_story",
             "training/test_trainer_review_conversations.py::test_rasa_validation_refuses_a_conflicting_story",
             "training/test_trainer_review_conversations.py::test_a_story_that_contradicts_a_rule_is_refused",
             "training/test_trainer_validate.py::test_rasa_validator_runs_on_the_project",
             "nlp/test_build.py::test_rasa_spacy_components_load_the_pipeline",
             "channels/test_model_load.py::test_served_models_predict_exactly_as_rasas_own_load"),
}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        try:
            where = Path(str(item.fspath)).resolve().relative_to(TESTS).as_posix()
        except ValueError:
            continue
        node = f"{where}::{item.name}"
        for marker, paths in TIERS.items():
            if node.startswith(paths):
                item.add_marker(marker)



def trained_model() -> Path:
    """The newest model in models/ for a stack under test; fails the test with the way out."""
    model = settings.latest_model()
    if model is None:
        pytest.fail("no trained model in models/: run ./kefu.sh train (./kefu.sh test does it for you)")
    return model


@pytest.fixture
def pinned_clock() -> Iterator[clock.Pin]:
    """The product clock frozen at Monday 10:00 Beijing time; ``.set()``/``.advance()`` move it."""
    with clock.pin(MONDAY_10_BEIJING) as handle:
        yield handle


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch) -> None:
    """argon2id with minimal cost for every test: the default costs ~0.3 s per hash on a busy
    test machine. Tests that check hashing itself patch ``agents._hasher`` again."""
    from argon2 import PasswordHasher

    from kefu.services import agents

    monkeypatch.setattr(agents, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Callable[[Path], str]:
    """``make(path)``: a migrated SQLite database at ``path``, its URL. The migrations run once
    per session into a template that each call copies (SQLite's backup API: WAL-safe)."""
    template = tmp_path_factory.mktemp("sqlite-template") / "kefu.db"
    db.migrate(f"sqlite:///{template}")

    def make(path: Path) -> str:
        source, target = sqlite3.connect(template), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return f"sqlite:///{path}"

    return make


@pytest.fixture(scope="session", autouse=True)
def _private_var_dir(tmp_path_factory) -> Iterator[None]:
    """Keep generated secrets and SQLite files of the tests out of the repo's var/."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEFU_VAR_DIR", str(tmp_path_factory.mktemp("var")))
        yield


def _pg_admin_connection():
    connection = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    return connection


def create_pg_database(prefix: str = "kefu_test") -> str:
    """Create an empty database; return its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    connection = _pg_admin_connection()  # not `with connection`: that would open a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()
    admin = make_url(PG_ADMIN_URL)
    return str(admin.set(drivername="postgresql+psycopg2", database=name))


def drop_pg_database(url: str) -> None:
    db.dispose_engines()
    name = make_url(url).database
    connection = _pg_admin_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        connection.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated database URL: SQLite file or fresh PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "kefu.db"
        url = f"sqlite:///{path}"
        db.migrate(url)
        # One idle connection held for the session: SQLite then keeps the WAL files between the
        # tests' connections (SQLAlchemy 1.4 opens one per session on a file database) instead
        # of checkpointing and deleting them at every close, which costs an fsync each time.
        keep_open = sqlite3.connect(path)
        try:
            yield url
        finally:
            keep_open.close()
            db.dispose_engines()
    else:
        url = create_pg_database()
        try:
            db.migrate(url)
            yield url
        finally:
            drop_pg_database(url)


@pytest.fixture
def clean_db(db_url) -> str:
    """``db_url`` with every Kefu table emptied before the test."""
    tables = list(reversed(Base.metadata.sorted_tables))
    with db.session_scope(db_url) as session:
        if session.bind.dialect.name == "postgresql":  # one round trip instead of one per table
            session.execute(text("; ".join(f'DELETE FROM "{table.name}"' for table in tables)))
        else:
            for table in tables:
                session.execute(delete(table))
    return db_url


@pytest.fixture
def session(clean_db):
    """A Session on an empty database; the test commits what other sessions must see.

    On SQLite an open transaction holds the write lock: commit before starting threads.
    """
    session = db.new_session(clean_db)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db_url(request, tmp_path) -> Iterator[str]:
    """An empty, unmigrated database (for migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        db.dispose_engines()
    else:
        url = create_pg_database("kefu_fresh")
        try:
            yield url
        finally:
            drop_pg_database(url)
