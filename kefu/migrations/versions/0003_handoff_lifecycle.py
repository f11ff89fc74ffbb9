"""handoff lifecycle: offered/abandoned/expired states, customer presence, follow-up

Revision ID: 0003_handoff_lifecycle
Revises: 0002_desk
Create Date: 2026-12-01

New handoff statuses (offered, abandoned, expired) and event kinds (offered, abandoned,
expired, left, returned, followed_up); customer presence columns (customer_seen_at,
customer_left_at) and the supervisor's follow-up mark (followed_up_at); the "one open
handoff per conversation" index now also covers offered handoffs.

SQLite cannot alter a CHECK constraint: batch mode recreates the table. Dropping the old
``handoffs`` table performs an implicit DELETE, which would cascade to handoff_events
(ON DELETE CASCADE, foreign keys are on), so their rows are kept aside and put back.
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_handoff_lifecycle'
down_revision = '0002_desk'
branch_labels = None
depends_on = None

OLD_STATUSES = ('queued', 'claimed', 'resolved', 'cancelled', 'callback')
NEW_STATUSES = OLD_STATUSES + ('offered', 'abandoned', 'expired')
OLD_KINDS = ('queued', 'claimed', 'transferred', 'resolved', 'cancelled', 'callback')
NEW_KINDS = OLD_KINDS + ('offered', 'abandoned', 'expired', 'left', 'returned', 'followed_up')
OLD_OPEN = ('queued', 'claimed')
NEW_OPEN = ('queued', 'claimed', 'offered')


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _keep_events(sqlite: bool):
    if sqlite:
        op.execute("CREATE TEMPORARY TABLE _kefu_keep_handoff_events AS SELECT * FROM handoff_events")


def _restore_events(sqlite: bool):
    if sqlite:
        op.execute("DELETE FROM handoff_events")
        op.execute("INSERT INTO handoff_events SELECT * FROM _kefu_keep_handoff_events")
        op.execute("DROP TABLE _kefu_keep_handoff_events")


def _change(statuses, kinds, open_statuses, old_open, add_columns: bool) -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    with op.batch_alter_table('handoff_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_handoff_events_kind'), type_='check')
        batch_op.create_check_constraint('kind', sa.text(_in('kind', kinds)))
    _keep_events(sqlite)
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('uq_handoffs_open_conversation', postgresql_where=sa.text(_in('status', old_open)),
                            sqlite_where=sa.text(_in('status', old_open)))
        batch_op.drop_constraint(op.f('ck_handoffs_status'), type_='check')
        batch_op.create_check_constraint('status', sa.text(_in('status', statuses)))
        if add_columns:
            batch_op.add_column(sa.Column('customer_seen_at', sa.DateTime(), nullable=True))
            batch_op.add_column(sa.Column('customer_left_at', sa.DateTime(), nullable=True))
            batch_op.add_column(sa.Column('followed_up_at', sa.DateTime(), nullable=True))
        else:
            batch_op.drop_column('followed_up_at')
            batch_op.drop_column('customer_left_at')
            batch_op.drop_column('customer_seen_at')
        batch_op.create_index('uq_handoffs_open_conversation', ['conversation_id'], unique=True,
                              postgresql_where=sa.text(_in('status', open_statuses)),
                              sqlite_where=sa.text(_in('status', open_statuses)))
    _restore_events(sqlite)


def upgrade() -> None:
    _change(NEW_STATUSES, NEW_KINDS, NEW_OPEN, OLD_OPEN, add_columns=True)


def downgrade() -> None:
    # Rows in the new states have no place in the old schema: map them to the nearest old one.
    op.execute("UPDATE handoffs SET status = 'cancelled' WHERE status IN ('offered', 'abandoned', 'expired')")
    op.execute("DELETE FROM handoff_events WHERE kind IN ('offered', 'abandoned', 'expired', 'left', 'returned', "
               "'followed_up')")
    _change(OLD_STATUSES, OLD_KINDS, OLD_OPEN, NEW_OPEN, add_columns=False)
