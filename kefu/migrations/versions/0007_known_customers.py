"""known customers: maintenance reminders given (one per product and due date)

Revision ID: 0007_known_customers
Revises: 0006_analytics_speed
Create Date: 2026-12-06

The bot mentions a registered product's due maintenance or consumable once per period
to its signed-in owner (kefu/services/archive.py); this table remembers which due dates
were mentioned.
"""
from alembic import op
import sqlalchemy as sa

from kefu.models.base import UTCDateTime

revision = '0007_known_customers'
down_revision = '0006_analytics_speed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'maintenance_reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('conversation_id', sa.String(length=128), nullable=True),
        sa.Column('reminded_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['product_id'], ['registered_products.id'],
                                name=op.f('fk_maintenance_reminders_product_id_registered_products'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_reminders')),
        sa.UniqueConstraint('product_id', 'due_on', name='uq_maintenance_reminders_product_due'),
    )


def downgrade() -> None:
    op.drop_table('maintenance_reminders')
