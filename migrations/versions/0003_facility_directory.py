"""facility directory: facility details and origin, the ERO field offices

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Only additions, with plain ALTER TABLE (no batch rebuild, as in 0002). Facilities
already in a database are local: a shipped directory never overwrites them. The
directory itself is loaded by `bondtrack init` (workflow/facilities.py), so an
upgrade that ships a newer directory needs no new revision.
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_FACILITY_COLUMNS = (
    ('aliases', sa.Text()),
    ('county', sa.String(length=100)),
    ('zip', sa.String(length=10)),
    ('kind', sa.String(length=20)),
    ('origin', sa.String(length=20)),
    ('provisional', sa.Boolean()),
    ('source', sa.String(length=300)),
    ('posting_hours', sa.String(length=40)),
)


def upgrade() -> None:
    for name, type_ in _FACILITY_COLUMNS:
        op.add_column('facilities', sa.Column(name, type_, nullable=True))
    op.create_table('field_offices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('aor', sa.String(length=3), nullable=True),
    sa.Column('office', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('zip', sa.String(length=10), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('states', sa.Text(), nullable=True),
    sa.Column('origin', sa.String(length=20), nullable=True),
    sa.Column('source', sa.String(length=300), nullable=True),
    sa.Column('posting_hours', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_offices')),
    sa.UniqueConstraint('name', name=op.f('uq_field_offices_name'))
    )


def downgrade() -> None:
    op.drop_table('field_offices')
    for name, _ in reversed(_FACILITY_COLUMNS):
        op.drop_column('facilities', name)
