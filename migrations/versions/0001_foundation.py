"""foundation: orders, facilities, detainees, bonds, the audit log, outbox, alerts, locks

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('court_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_number', sa.String(length=64), nullable=False),
    sa.Column('court', sa.String(length=200), nullable=False),
    sa.Column('judge', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_court_orders')),
    sa.UniqueConstraint('case_number', name=op.f('uq_court_orders_case_number'))
    )
    op.create_table('facilities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('field_office', sa.String(length=100), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facilities')),
    sa.UniqueConstraint('code', name=op.f('uq_facilities_code'))
    )
    op.create_table('locks',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_locks'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.String(length=40), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['court_orders.id'], name=op.f('fk_alerts_order_id_court_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('order_id', 'threshold', name=op.f('uq_alerts_order_id_threshold'))
    )
    op.create_table('detainees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('a_number', sa.String(length=9), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('country_of_birth', sa.String(length=100), nullable=True),
    sa.Column('language', sa.String(length=40), nullable=True),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('stage_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exclusion_reason', sa.String(length=40), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('counsel', sa.String(length=200), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_detainees_facility_id_facilities')),
    sa.ForeignKeyConstraint(['order_id'], ['court_orders.id'], name=op.f('fk_detainees_order_id_court_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_detainees')),
    sa.UniqueConstraint('order_id', 'a_number', name=op.f('uq_detainees_order_id_a_number'))
    )
    with op.batch_alter_table('detainees', schema=None) as batch_op:
        batch_op.create_index('ix_detainees_facility_id', ['facility_id'], unique=False)
        batch_op.create_index('ix_detainees_order_id_stage', ['order_id', 'stage'], unique=False)

    op.create_table('bonds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('detainee_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=True),
    sa.Column('conditions', sa.String(length=300), nullable=True),
    sa.Column('obligor_name', sa.String(length=200), nullable=True),
    sa.Column('obligor_relationship', sa.String(length=100), nullable=True),
    sa.Column('obligor_phone', sa.String(length=40), nullable=True),
    sa.Column('obligor_email', sa.String(length=200), nullable=True),
    sa.Column('payment_method', sa.String(length=20), nullable=True),
    sa.Column('receipt_number', sa.String(length=64), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['detainee_id'], ['detainees.id'], name=op.f('fk_bonds_detainee_id_detainees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bonds'))
    )
    with op.batch_alter_table('bonds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bonds_detainee_id'), ['detainee_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('detainee_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('from_stage', sa.String(length=20), nullable=True),
    sa.Column('to_stage', sa.String(length=20), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['detainee_id'], ['detainees.id'], name=op.f('fk_events_detainee_id_detainees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['court_orders.id'], name=op.f('fk_events_order_id_court_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_detainee_id_id', ['detainee_id', 'id'], unique=False)
        batch_op.create_index('ix_events_order_id_at', ['order_id', 'at'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('detainee_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=300), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('file_path', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['detainee_id'], ['detainees.id'], name=op.f('fk_notices_detainee_id_detainees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['court_orders.id'], name=op.f('fk_notices_order_id_court_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_notices_idempotency_key'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_status', ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_status')

    op.drop_table('notices')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_order_id_at')
        batch_op.drop_index('ix_events_detainee_id_id')

    op.drop_table('events')
    with op.batch_alter_table('bonds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bonds_detainee_id'))

    op.drop_table('bonds')
    with op.batch_alter_table('detainees', schema=None) as batch_op:
        batch_op.drop_index('ix_detainees_order_id_stage')
        batch_op.drop_index('ix_detainees_facility_id')

    op.drop_table('detainees')
    op.drop_table('alerts')
    op.drop_table('locks')
    op.drop_table('facilities')
    op.drop_table('court_orders')
