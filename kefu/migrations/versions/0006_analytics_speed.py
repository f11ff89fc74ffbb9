"""analytics speed: per-day rollups of Rasa's tracker for the dashboard

Revision ID: 0006_analytics_speed
Revises: 0005_analytics_indexes
Create Date: 2026-12-05

With a year of history (~100k conversations, ~1M tracker events) the bot panels spent
most of the dashboard's time scanning Rasa's ``events``. kefu/analytics/rollup.py now
folds every complete local day into the small tables below (kefu/models/analytics.py)
once, and the dashboard reads them plus the raw events of the day(s) not rolled up yet.
Existing deployments: the first dashboard render after upgrading rolls up the days it
shows (a year: ~10-20 s once); ``./kefu.sh seed --history`` builds them for what it seeds.
"""
from alembic import op
import sqlalchemy as sa

from kefu.models.base import UTCDateTime

revision = '0006_analytics_speed'
down_revision = '0005_analytics_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'analytics_rollup_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('built_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_analytics_rollup_days')),
    )
    op.create_table(
        'analytics_conversation_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('sender_id', sa.String(length=255), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.Column('fallbacks', sa.Integer(), nullable=False),
        sa.Column('previous_day', sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint('day', 'sender_id', name=op.f('pk_analytics_conversation_days')),
    )
    op.create_index('ix_analytics_conversation_days_sender_id', 'analytics_conversation_days', ['sender_id'])
    op.create_table(
        'analytics_intent_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('intent_name', sa.String(length=255), nullable=False),
        sa.Column('confidence_bucket', sa.Integer(), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'intent_name', 'confidence_bucket', name=op.f('pk_analytics_intent_days')),
    )
    op.create_table(
        'analytics_fallback_text_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('text', sa.String(length=200), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'text', name=op.f('pk_analytics_fallback_text_days')),
    )
    op.create_table(
        'analytics_form_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('form', sa.String(length=255), nullable=False),
        sa.Column('question', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'form', 'question', 'kind', name=op.f('pk_analytics_form_days')),
    )


def downgrade() -> None:
    for table in ('analytics_form_days', 'analytics_fallback_text_days', 'analytics_intent_days'):
        op.drop_table(table)
    op.drop_index('ix_analytics_conversation_days_sender_id', table_name='analytics_conversation_days')
    op.drop_table('analytics_conversation_days')
    op.drop_table('analytics_rollup_days')
