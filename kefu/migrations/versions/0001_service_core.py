"""service core: customers, products, orders, tickets, events, surveys

Revision ID: 0001_service_core
Revises: (none)
Create Date: 2026-11-22

Timestamps are naive UTC (kefu.models.base.UTCDateTime); JSON is JSONB on PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001_service_core'
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=True),
    sa.Column('tier', sa.String(length=8), nullable=False),
    sa.Column('city', sa.String(length=32), nullable=True),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("tier IN ('普通', '银卡', '金卡', 'VIP')", name=op.f('ck_customers_tier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('phone', name=op.f('uq_customers_phone'))
    )
    op.create_table('ticket_counters',
    sa.Column('prefix', sa.String(length=2), nullable=False),
    sa.Column('day', sa.String(length=8), nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'day', name=op.f('pk_ticket_counters'))
    )
    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sa.String(length=14), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('items', JSON, nullable=False),
    sa.Column('total_amount', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('shipping_status', sa.String(length=8), nullable=False),
    sa.Column('carrier', sa.String(length=32), nullable=True),
    sa.Column('tracking_no', sa.String(length=64), nullable=True),
    sa.Column('ordered_at', sa.DateTime(), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.Column('shipped_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('expected_delivery', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("shipping_status IN ('待发货', '已发货', '运输中', '派送中', '已签收', '已退回')", name=op.f('ck_orders_shipping_status')),
    sa.CheckConstraint("status IN ('待付款', '已付款', '已完成', '已取消', '退款中', '已退款')", name=op.f('ck_orders_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_orders_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('order_no', name=op.f('uq_orders_order_no'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_customer_id'), ['customer_id'], unique=False)

    op.create_table('registered_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=True),
    sa.Column('serial', sa.String(length=64), nullable=True),
    sa.Column('purchase_date', sa.Date(), nullable=True),
    sa.Column('install_date', sa.Date(), nullable=True),
    sa.Column('installer', sa.String(length=50), nullable=True),
    sa.Column('warranty_end', sa.Date(), nullable=True),
    sa.Column('next_maintenance', sa.Date(), nullable=True),
    sa.Column('maintenance_note', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_registered_products_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registered_products'))
    )
    with op.batch_alter_table('registered_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registered_products_customer_id'), ['customer_id'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_no', sa.String(length=24), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('product', sa.String(length=16), nullable=True),
    sa.Column('product_model', sa.String(length=64), nullable=True),
    sa.Column('fault', sa.String(length=32), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('contact_name', sa.String(length=50), nullable=True),
    sa.Column('priority', sa.String(length=4), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=True),
    sa.Column('group_name', sa.String(length=32), nullable=True),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('appointment_start', sa.DateTime(), nullable=True),
    sa.Column('appointment_end', sa.DateTime(), nullable=True),
    sa.Column('first_response_due', sa.DateTime(), nullable=False),
    sa.Column('resolution_due', sa.DateTime(), nullable=False),
    sa.Column('first_responded_at', sa.DateTime(), nullable=True),
    sa.Column('urge_count', sa.Integer(), nullable=False),
    sa.Column('last_urged_at', sa.DateTime(), nullable=True),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('escalation_reason', sa.String(length=255), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('extra', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("priority IN ('抢修', '高', '普通')", name=op.f('ck_tickets_priority')),
    sa.CheckConstraint("status IN ('受理', '已派单', '处理中', '已解决', '已回访', '已关闭', '已取消')", name=op.f('ck_tickets_status')),
    sa.CheckConstraint("type IN ('repair', 'installation', 'complaint', 'return', 'suggestion')", name=op.f('ck_tickets_type')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tickets_customer_id_customers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_tickets_idempotency_key')),
    sa.UniqueConstraint('ticket_no', name=op.f('uq_tickets_ticket_no'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_tickets_customer_created', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_tickets_status_resolution_due', ['status', 'resolution_due'], unique=False)

    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('dimensions', JSON, nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_surveys_score')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_surveys_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_surveys_ticket_id'))
    )
    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_value', sa.String(length=255), nullable=True),
    sa.Column('to_value', sa.String(length=255), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('created', 'status_changed', 'urged', 'assigned', 'note', 'rescheduled', 'cancelled', 'escalated', 'survey')", name=op.f('ck_ticket_events_kind')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))

    op.drop_table('ticket_events')
    op.drop_table('surveys')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_status_resolution_due')
        batch_op.drop_index('ix_tickets_customer_created')
        batch_op.drop_index(batch_op.f('ix_tickets_conversation_id'))

    op.drop_table('tickets')
    with op.batch_alter_table('registered_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registered_products_customer_id'))

    op.drop_table('registered_products')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_customer_id'))

    op.drop_table('orders')
    op.drop_table('ticket_counters')
    op.drop_table('customers')
