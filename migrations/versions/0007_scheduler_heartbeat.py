"""scheduler heartbeat: when a scheduler last ran a job, so a silent one is noticed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

One row per database (``scheduler``), kept after the scheduler stops: the lock
row goes with the scheduler, this one says when it was last seen.
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduler_heartbeats',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('interval_seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_heartbeats'))
    )


def downgrade() -> None:
    op.drop_table('scheduler_heartbeats')
