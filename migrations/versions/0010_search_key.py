"""search key: each person's name folded for search (accents and case ignored)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``García`` is found by ``garcia`` on SQLite and PostgreSQL alike: the key is folded in
Python (workflow.core.identity.search_key) when a person is written, and here for the people
already in the database, a batch at a time.
"""

import unicodedata

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_BATCH = 5000


def search_key(family_name: str, given_name: str) -> str:
    """workflow.core.identity.search_key as of this revision (a migration keeps its own copy:
    it must run the same after the code moves on)."""
    decomposed = unicodedata.normalize('NFKD', f'{family_name} {given_name}')
    bare = ''.join(ch for ch in decomposed if not unicodedata.combining(ch))
    return ' '.join(bare.casefold().split())


def upgrade() -> None:
    with op.batch_alter_table('detainees') as batch:
        batch.add_column(sa.Column('search_key', sa.String(length=402), nullable=True))
    people = sa.table('detainees', sa.column('id', sa.Integer), sa.column('family_name'),
                      sa.column('given_name'), sa.column('search_key'))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(people.c.id, people.c.family_name, people.c.given_name)
            .where(people.c.id > last).order_by(people.c.id).limit(_BATCH)).all()
        if not rows:
            break
        connection.execute(
            people.update().where(people.c.id == sa.bindparam('b_id'))
            .values(search_key=sa.bindparam('key')),
            [{'b_id': id_, 'key': search_key(family, given)} for id_, family, given in rows])
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('detainees') as batch:
        batch.drop_column('search_key')
