"""Alembic environment: runs on the connection kefu.db.migrate() passes in, or on
the configured URL when invoked from the alembic CLI."""

from logging.config import fileConfig

from alembic import context

from kefu import db, settings
from kefu.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
        # kefu.db issues BEGIN IMMEDIATE on SQLite, so DDL there is transactional too:
        # a failed migration leaves nothing half-done, and migrators queue on the lock.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        db.lock_for_migration(connection)
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or settings.database_url()
    with db.get_engine(url).connect() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
