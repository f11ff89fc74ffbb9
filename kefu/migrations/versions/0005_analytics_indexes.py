"""analytics: indices for the supervisors' dashboard (kefu/analytics)

Revision ID: 0005_analytics_indexes
Revises: 0002_desk
Create Date: 2026-12-01

Period scans by creation/resolution/survey time, reopened-ticket lookups, and -- when
Rasa's tracker table ``events`` lives in this database (PostgreSQL) -- its
(type_name, timestamp) and (action_name, timestamp) scans. Rasa creates ``events``
itself; when it appears later, kefu.analytics.queries.ensure_tracker_indexes (run by
``./kefu.sh seed --history``) adds the same indices with IF NOT EXISTS.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_analytics_indexes'
down_revision = '0004_security'
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_tickets_created_at", "tickets", ["created_at"]),
    ("ix_tickets_resolved_at", "tickets", ["resolved_at"]),
    ("ix_ticket_events_kind_to_value", "ticket_events", ["kind", "to_value"]),
    ("ix_surveys_created_at", "surveys", ["created_at"]),
    ("ix_handoffs_created_at", "handoffs", ["created_at"]),
]
TRACKER_INDEXES = [
    ("ix_events_sender_id", ["sender_id"]),  # Rasa's own index; kept if it exists
    ("ix_events_type_timestamp", ["type_name", "timestamp", "sender_id", "intent_name"]),
    ("ix_events_action_timestamp", ["action_name", "timestamp"]),
]


def _has_tracker() -> bool:
    return sa.inspect(op.get_bind()).has_table("events")


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    if _has_tracker():
        for name, columns in TRACKER_INDEXES:
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON events ({', '.join(columns)})")


def downgrade() -> None:
    if _has_tracker():
        for name, _ in TRACKER_INDEXES[1:]:  # Rasa's sender_id index stays
            op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
