"""caseloads and the locator desk: each person's owner, their look-up cadence, the desk's hold

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

A look-up is an event (kind ``lookup``); the person keeps when it was, when the next is due
and how many came back empty in a row, so the queue sorts by an index at 100,000 people.
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('detainees') as batch:
        batch.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('last_lookup_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('next_lookup_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('empty_lookups', sa.Integer(), server_default='0',
                                   nullable=False))
        batch.add_column(sa.Column('desk_user_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('desk_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('locator_saw', sa.String(length=300), nullable=True))
        batch.create_foreign_key(op.f('fk_detainees_owner_id_users'), 'users', ['owner_id'],
                                 ['id'], ondelete='SET NULL')
        batch.create_foreign_key(op.f('fk_detainees_desk_user_id_users'), 'users',
                                 ['desk_user_id'], ['id'], ondelete='SET NULL')
        batch.create_index('ix_detainees_queue', ['order_id', 'stage', 'stage_since'])
        batch.create_index('ix_detainees_lookups',
                           ['order_id', 'stage', 'next_lookup_at', 'stage_since'])
        batch.create_index('ix_detainees_stage_facility', ['order_id', 'stage', 'facility_id'])
        batch.create_index('ix_detainees_owner', ['owner_id', 'stage', 'stage_since'])
    # The queue reads open findings by kind, not once per person.
    op.create_index('ix_events_kind_detainee_id', 'events', ['kind', 'detainee_id'])


def downgrade() -> None:
    op.drop_index('ix_events_kind_detainee_id', table_name='events')
    with op.batch_alter_table('detainees') as batch:
        batch.drop_index('ix_detainees_owner')
        batch.drop_index('ix_detainees_stage_facility')
        batch.drop_index('ix_detainees_lookups')
        batch.drop_index('ix_detainees_queue')
        batch.drop_constraint(op.f('fk_detainees_desk_user_id_users'), type_='foreignkey')
        batch.drop_constraint(op.f('fk_detainees_owner_id_users'), type_='foreignkey')
        for column in ('locator_saw', 'desk_until', 'desk_user_id', 'empty_lookups', 'next_lookup_at',
                       'last_lookup_at', 'owner_id'):
            batch.drop_column(column)
