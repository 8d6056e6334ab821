"""bonds after posting: bond events and immigration-court hearings

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01

Only new tables, so nothing existing is rebuilt on either backend.
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bond_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bond_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bond_id'], ['bonds.id'], name=op.f('fk_bond_events_bond_id_bonds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bond_events'))
    )
    op.create_index('ix_bond_events_bond_id_id', 'bond_events', ['bond_id', 'id'], unique=False)
    op.create_table('hearings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('detainee_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('court', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['detainee_id'], ['detainees.id'], name=op.f('fk_hearings_detainee_id_detainees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hearings'))
    )
    op.create_index(op.f('ix_hearings_detainee_id'), 'hearings', ['detainee_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_hearings_detainee_id'), table_name='hearings')
    op.drop_table('hearings')
    op.drop_index('ix_bond_events_bond_id_id', table_name='bond_events')
    op.drop_table('bond_events')
