"""Run-command helpers: demo accounts and generated Rasa endpoints."""
from __future__ import annotations


import yaml

from desk.auth import authenticate
from kefu import db
from kefu.runtime.demo_accounts import DEMO_ACCOUNTS, ensure_demo_accounts
from kefu.runtime.endpoints import TRACKER_STORE_TYPE, build_endpoints


def test_demo_accounts_are_created_once_with_working_passwords(clean_db, monkeypatch, tmp_path):
    monkeypatch.setenv("KEFU_DATABASE_URL", clean_db)
    path = ensure_demo_accounts(tmp_path / "accounts.txt")
    rows = [line.split("\t") for line in path.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert [r[0] for r in rows] == [a[0] for a in DEMO_ACCOUNTS]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with db.session_scope(clean_db) as session:
        assert authenticate(session, rows[0][0], rows[0][1]) is not None
        assert authenticate(session, rows[0][0], "wrong") is None
    assert ensure_demo_accounts(tmp_path / "again.txt") is None  # accounts exist: untouched


def test_endpoints_follow_the_database_and_redis_settings(tmp_path):
    sqlite = build_endpoints("sqlite:////x/kefu.db", tmp_path, "http://127.0.0.1:5055/webhook", None)
    assert sqlite["tracker_store"] == {"type": TRACKER_STORE_TYPE, "dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    assert "lock_store" not in sqlite
    assert sqlite["action_endpoint"]["enable_selective_domain"] is True  # config/reliability.yml
    pg = build_endpoints("postgresql+psycopg2://postgres@127.0.0.1:5432/test", tmp_path, "http://a/webhook",
                         "redis://127.0.0.1:6379/2")
    assert pg["tracker_store"]["dialect"] == "postgresql" and pg["tracker_store"]["db"] == "test"
    assert pg["tracker_store"]["url"] == "127.0.0.1" and "host" not in pg["tracker_store"]
    assert pg["lock_store"] == {"type": "redis", "url": "127.0.0.1", "port": 6379, "db": 2, "key_prefix": "kefu"}
    assert yaml.safe_load(yaml.safe_dump(pg)) == pg


def test_generated_endpoints_work_with_rasa_on_postgresql_and_redis(tmp_path):
    """The production settings (PostgreSQL tracker store, Redis lock store) against the
    real servers of this machine, through Rasa's own store classes."""
    import asyncio

    from rasa.core.lock_store import LockStore
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    import uuid

    import psycopg2

    name = f"kefu_tracker_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/test")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    try:
        endpoints = build_endpoints(url, tmp_path, "http://127.0.0.1:5055/webhook", "redis://127.0.0.1:6379/3")
        domain = Domain.from_yaml("intents: [greet]")
        store = TrackerStore.create(EndpointConfig.from_dict(endpoints["tracker_store"]), domain=domain)
        assert type(store).__name__ == "KefuSQLTrackerStore"  # not Rasa's in-memory fallback for a bad type
        lock_store = LockStore.create(EndpointConfig.from_dict(endpoints["lock_store"]))
        assert type(lock_store).__name__ == "RedisLockStore"

        async def scenario():
            async with lock_store.lock("conv-pg"):
                assert lock_store.get_lock("conv-pg") is not None  # held in Redis
                tracker = DialogueStateTracker("conv-pg", domain.slots)
                tracker.update(UserUttered("你好", {"name": "greet", "confidence": 1.0}))
                await store.save(tracker)
            assert lock_store.get_lock("conv-pg") is None  # released
            again = await store.retrieve("conv-pg")
            return [e.text for e in again.events if isinstance(e, UserUttered)]

        assert asyncio.run(scenario()) == ["你好"]
        store.engine.dispose()
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
