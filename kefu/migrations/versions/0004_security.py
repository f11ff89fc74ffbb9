"""security: server-side desk session version

Revision ID: 0004_security
Revises: 0002_desk
Create Date: 2026-12-01

agents.session_version: a desk session cookie carries the version it was issued with;
logging out or changing the password increments it, so every copy of an older cookie
stops working (issue 11, item 11).
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_security'
down_revision = '0003_handoff_lifecycle'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.drop_column('session_version')
