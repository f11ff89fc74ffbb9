"""desk: agents, agent groups, handoffs, handoff events

Revision ID: 0002_desk
Revises: 0001_service_core
Create Date: 2026-11-22

Desk users (argon2 hashes) with their groups, handoffs (one open per conversation:
partial unique index) and their append-only history. Timestamps are naive UTC.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002_desk'
down_revision = '0001_service_core'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('agent', 'supervisor', 'trainer')", name=op.f('ck_agents_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('username', name=op.f('uq_agents_username'))
    )
    op.create_table('agent_groups',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('group_name', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_groups_agent_id_agents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agent_id', 'group_name', name=op.f('pk_agent_groups'))
    )
    with op.batch_alter_table('agent_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_groups_group_name'), ['group_name'], unique=False)

    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('rule_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('group_name', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.String(length=4), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('summary', JSON, nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("priority IN ('抢修', '高', '普通')", name=op.f('ck_handoffs_priority')),
    sa.CheckConstraint("status IN ('queued', 'claimed', 'resolved', 'cancelled', 'callback')", name=op.f('ck_handoffs_status')),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['agents.id'], name=op.f('fk_handoffs_claimed_by_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_handoffs_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_handoffs_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs'))
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoffs_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_handoffs_status_group_created', ['status', 'group_name', 'created_at'], unique=False)
        batch_op.create_index('uq_handoffs_open_conversation', ['conversation_id'], unique=True, postgresql_where=sa.text("status IN ('queued', 'claimed')"), sqlite_where=sa.text("status IN ('queued', 'claimed')"))

    op.create_table('handoff_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handoff_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_group', sa.String(length=32), nullable=True),
    sa.Column('to_group', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('queued', 'claimed', 'transferred', 'resolved', 'cancelled', 'callback')", name=op.f('ck_handoff_events_kind')),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], name=op.f('fk_handoff_events_handoff_id_handoffs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_events'))
    )
    with op.batch_alter_table('handoff_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_events_handoff_id'), ['handoff_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('handoff_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_events_handoff_id'))

    op.drop_table('handoff_events')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('uq_handoffs_open_conversation', postgresql_where=sa.text("status IN ('queued', 'claimed')"), sqlite_where=sa.text("status IN ('queued', 'claimed')"))
        batch_op.drop_index('ix_handoffs_status_group_created')
        batch_op.drop_index(batch_op.f('ix_handoffs_conversation_id'))

    op.drop_table('handoffs')
    with op.batch_alter_table('agent_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_groups_group_name'))

    op.drop_table('agent_groups')
    op.drop_table('agents')
