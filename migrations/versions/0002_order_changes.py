"""order changes: obligations, sub-orders, ordered and imposed terms, stays

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Only additions. Columns are added with plain ALTER TABLE on both backends (no
batch rebuild): on SQLite a rebuild of court_orders with foreign keys on would
cascade-delete every person, so no new column references another table.
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_ORDER_COLUMNS = (
    ('parent_id', sa.Integer()),
    ('bond_amount_cents', sa.Integer()),
    ('conditions', sa.String(length=300)),
    ('stayed_since', sa.DateTime(timezone=True)),
    ('releases_done_at', sa.DateTime(timezone=True)),
    ('releases_done_by', sa.String(length=100)),
)
_DETAINEE_COLUMNS = (
    ('ordered_bond_cents', sa.Integer()),
    ('ordered_conditions', sa.String(length=300)),
    ('imposed_bond_cents', sa.Integer()),
    ('imposed_conditions', sa.String(length=300)),
)


def upgrade() -> None:
    op.create_table('obligations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('owed_by', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['court_orders.id'], name=op.f('fk_obligations_order_id_court_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_obligations'))
    )
    op.create_index(op.f('ix_obligations_order_id'), 'obligations', ['order_id'], unique=False)
    for name, type_ in _ORDER_COLUMNS:
        op.add_column('court_orders', sa.Column(name, type_, nullable=True))
    op.create_index(op.f('ix_court_orders_parent_id'), 'court_orders', ['parent_id'], unique=False)
    for name, type_ in _DETAINEE_COLUMNS:
        op.add_column('detainees', sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would cascade-delete people.
    for name, _ in reversed(_DETAINEE_COLUMNS):
        op.drop_column('detainees', name)
    op.drop_index(op.f('ix_court_orders_parent_id'), table_name='court_orders')
    for name, _ in reversed(_ORDER_COLUMNS):
        op.drop_column('court_orders', name)
    op.drop_index(op.f('ix_obligations_order_id'), table_name='obligations')
    op.drop_table('obligations')
