import subprocess
import sys

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from kefu import db, settings
from kefu.models import Base

SERVICE_TABLES = {
    "customers", "registered_products", "orders", "tickets", "ticket_events", "surveys", "ticket_counters",
}


def _current_revision(url):
    with db.get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _head():
    return ScriptDirectory.from_config(db.alembic_config()).get_current_head()


def test_service_core_revision_exists():
    script = ScriptDirectory.from_config(db.alembic_config())
    assert script.get_revision("0001_service_core").down_revision is None


def test_database_is_at_head(db_url):
    assert _current_revision(db_url) == _head()
    assert SERVICE_TABLES <= set(inspect(db.get_engine(db_url)).get_table_names())


def test_migrations_match_the_models(db_url):
    """Autogenerate finds nothing to add for the service tables: models and 0001 agree."""
    with db.get_engine(db_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)

    def table_of(diff):
        item = diff[0] if isinstance(diff, list) else diff  # modify_* diffs come as lists
        for part in item[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(getattr(part, "table", None), "name", None)
            if table or name in SERVICE_TABLES:
                return table or name
        return None

    assert [d for d in diffs if table_of(d) in SERVICE_TABLES] == []


def test_upgrade_downgrade_upgrade(fresh_db_url):
    db.migrate(fresh_db_url)
    db.migrate(fresh_db_url)  # idempotent
    assert _current_revision(fresh_db_url) == _head()
    config = db.alembic_config(fresh_db_url)
    with db.get_engine(fresh_db_url).connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not SERVICE_TABLES & set(inspect(db.get_engine(fresh_db_url)).get_table_names())
    db.migrate(fresh_db_url)
    assert SERVICE_TABLES <= set(inspect(db.get_engine(fresh_db_url)).get_table_names())


def test_concurrent_migrators_queue_instead_of_failing(fresh_db_url):
    """Action server, desk and run command may all call migrate() at start-up."""
    code = "import sys; from kefu import db; db.migrate(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, fresh_db_url], cwd=settings.repo_root(),
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], errors
    assert _current_revision(fresh_db_url) == _head()


def test_handoff_lifecycle_migration_keeps_history(fresh_db_url):
    """0003 rebuilds the handoff tables on SQLite: queued handoffs and their events survive,
    the new states are accepted, and downgrading maps them back to cancelled."""
    from sqlalchemy import text

    db.migrate(fresh_db_url, "0002_desk")
    engine = db.get_engine(fresh_db_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO handoffs (id, conversation_id, rule_id, reason, group_name, priority, status, summary, "
            "created_at, updated_at) VALUES (1, 'c1', 'human_request', '要求人工', '综合', '普通', 'queued', '{}', "
            "'2026-12-07 02:00:00', '2026-12-07 02:00:00')"))
        connection.execute(text(
            "INSERT INTO handoff_events (handoff_id, at, actor, kind) VALUES (1, '2026-12-07 02:00:00', 'bot', 'queued')"))
    db.migrate(fresh_db_url, "0003_handoff_lifecycle")
    assert _current_revision(fresh_db_url) == "0003_handoff_lifecycle"
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM handoff_events")).scalar_one() == 1
        connection.execute(text("UPDATE handoffs SET status = 'abandoned', customer_left_at = updated_at"))
        connection.execute(text(
            "INSERT INTO handoff_events (handoff_id, at, actor, kind) VALUES (1, '2026-12-07 02:02:00', 'system', "
            "'abandoned')"))
    config = db.alembic_config(fresh_db_url)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002_desk")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status FROM handoffs")).scalar_one() == "cancelled"
        assert connection.execute(text("SELECT kind FROM handoff_events")).scalars().all() == ["queued"]
    db.migrate(fresh_db_url)


def test_a_migrator_waits_longer_than_a_request_for_the_write_lock(tmp_path, monkeypatch):
    """Requests give up after SQLITE_BUSY_TIMEOUT_MS; a migrator at start-up waits up to
    MIGRATION_BUSY_TIMEOUT_MS for another one's migration (CI on a loaded machine: the third
    of three migrators failed with "database unavailable"). Checked on the connection the
    migration runs on, not by waiting: the clock guard runs this file under faketime."""
    seen = []

    def upgrade(config, revision):
        seen.append(config.attributes["connection"].exec_driver_sql("PRAGMA busy_timeout").scalar())

    monkeypatch.setattr(command, "upgrade", upgrade)
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    db.migrate(url)
    assert seen == [db.MIGRATION_BUSY_TIMEOUT_MS] and db.MIGRATION_BUSY_TIMEOUT_MS > db.SQLITE_BUSY_TIMEOUT_MS
    with db.get_engine(url).connect() as connection:  # the pooled connection is back to the requests' timeout
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
