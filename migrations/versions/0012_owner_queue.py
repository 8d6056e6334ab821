"""one owner's queue read by owner-led indexes, like the order's

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

0011's owner index lacked the order and the look-up and facility orders, so a staff
member's queue walked each stage's people of every owner: 56 ms at 100,000 against 12 ms
at 615.
"""

from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('detainees') as batch:
        batch.drop_index('ix_detainees_owner')
        batch.create_index('ix_detainees_owner', ['owner_id', 'order_id', 'stage', 'stage_since'])
        batch.create_index('ix_detainees_owner_lookups',
                           ['owner_id', 'order_id', 'stage', 'next_lookup_at', 'stage_since'])
        batch.create_index('ix_detainees_owner_facility',
                           ['owner_id', 'order_id', 'stage', 'facility_id'])


def downgrade() -> None:
    with op.batch_alter_table('detainees') as batch:
        batch.drop_index('ix_detainees_owner_facility')
        batch.drop_index('ix_detainees_owner_lookups')
        batch.drop_index('ix_detainees_owner')
        batch.create_index('ix_detainees_owner', ['owner_id', 'stage', 'stage_since'])
