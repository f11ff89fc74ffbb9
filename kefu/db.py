"""Engines, sessions and migrations for SQLite (default) and PostgreSQL.

SQLite notes: WAL lets readers run beside a writer; foreign keys are off unless
asked for; every transaction starts with ``BEGIN IMMEDIATE`` so two writers queue
on the busy timeout instead of failing with "database is locked" when a read
transaction tries to upgrade (and so SAVEPOINTs work -- pysqlite's own
transaction handling breaks them).
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from kefu import settings
from kefu.errors import ServiceUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATION_BUSY_TIMEOUT_MS = 180_000
PG_CONNECT_TIMEOUT_S = 5
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_ID = 7_460_001  # pg_advisory_xact_lock key: one migrator at a time

_engines: Dict[str, Engine] = {}
_sessionmakers: Dict[str, sessionmaker] = {}
_lock = threading.Lock()


def get_engine(url: Optional[str] = None) -> Engine:
    """The engine for ``url`` (default: settings.database_url()), created once per URL."""
    url = url or settings.database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
        return engine


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, json_serializer=_json_dumps)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S} if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(
        url,
        future=True,
        json_serializer=_json_dumps,
        pool_pre_ping=True,  # survive server restarts: stale connections are replaced
        pool_size=10,
        max_overflow=20,
        connect_args=connect_args,
    )


def _json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # Chinese stays readable in the database


def sqlite_pragmas(dbapi_connection) -> None:
    """WAL, NORMAL sync and the busy timeout on a new SQLite connection: the service DB's
    and Rasa's tracker store's (channels/tracker_store.py). With WAL a commit appends to the
    log instead of rewriting pages through a rollback journal, and NORMAL syncs at
    checkpoints only: a committed transaction survives a crash of the process; only a power
    loss or OS crash can undo the last commits."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster commits
    cursor.close()


def _sqlite_on_connect(dbapi_connection, connection_record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see module doc)
    sqlite_pragmas(dbapi_connection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_on_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def dispose_engines() -> None:
    """Close all pooled connections (tests, forked workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessionmakers.clear()


def _is_unavailable(error: exc.SQLAlchemyError) -> bool:
    if isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)):
        return True
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


@contextmanager
def translate_db_errors() -> Iterator[None]:
    """Turn "cannot reach the database" errors into ServiceUnavailable."""
    try:
        yield
    except exc.SQLAlchemyError as error:
        if _is_unavailable(error):
            raise ServiceUnavailable(f"database unavailable: {error.__class__.__name__}") from error
        raise


def new_session(url: Optional[str] = None) -> Session:
    """A Session on ``url``; objects stay readable after commit (expire_on_commit off)."""
    url = url or settings.database_url()
    factory = _sessionmakers.get(url)
    if factory is None:
        factory = _sessionmakers[url] = sessionmaker(
            bind=get_engine(url), future=True, expire_on_commit=False
        )
    return factory()


@contextmanager
def session_scope(url: Optional[str] = None) -> Iterator[Session]:
    """A transactional scope: commit on success, roll back on error, always close."""
    with translate_db_errors():
        session = new_session(url)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def ping(url: Optional[str] = None) -> None:
    """Raise ServiceUnavailable unless the database answers."""
    with translate_db_errors(), get_engine(url).connect() as connection:
        connection.execute(text("SELECT 1"))


def alembic_config(url: Optional[str] = None):
    """Alembic configuration pointing at kefu/migrations and ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", (url or settings.database_url()).replace("%", "%%"))
    return config


def migrate(url: Optional[str] = None, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: the newest)."""
    from alembic import command

    url = url or settings.database_url()
    with translate_db_errors(), get_engine(url).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Concurrent migrators wait for the first one's write lock (BEGIN IMMEDIATE). A fresh
            # database's full migration on a loaded machine took longer than a request's busy
            # timeout (CI, 2026-12-07: "database unavailable" for the third of three migrators);
            # start-up can afford to wait longer.
            _busy_timeout(connection, MIGRATION_BUSY_TIMEOUT_MS)
        try:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        finally:
            if sqlite:
                _busy_timeout(connection, SQLITE_BUSY_TIMEOUT_MS)


def _busy_timeout(connection, milliseconds: int) -> None:
    """Set the busy timeout on the raw SQLite connection (no transaction is begun for it)."""
    connection.connection.driver_connection.execute(f"PRAGMA busy_timeout = {milliseconds}")


def lock_for_migration(connection) -> None:
    """Called by migrations/env.py inside its transaction: serialise concurrent migrators."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_ID})
    # SQLite: BEGIN IMMEDIATE already gives the migrating connection the write lock.
