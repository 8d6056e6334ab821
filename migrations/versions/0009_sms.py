"""text messages: numbers with their consent history, texts sent and replies received

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_numbers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('first_texted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_numbers')),
    sa.UniqueConstraint('number', name=op.f('uq_sms_numbers_number'))
    )
    op.create_table('sms_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('detainee_id', sa.Integer(), nullable=False),
    sa.Column('number_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('how', sa.String(length=20), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['detainee_id'], ['detainees.id'],
                            name=op.f('fk_sms_consents_detainee_id_detainees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['number_id'], ['sms_numbers.id'],
                            name=op.f('fk_sms_consents_number_id_sms_numbers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_consents'))
    )
    op.create_index(op.f('ix_sms_consents_detainee_id'), 'sms_consents', ['detainee_id'])
    op.create_index(op.f('ix_sms_consents_number_id'), 'sms_consents', ['number_id'])
    op.create_table('sms_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('number_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('encoding', sa.String(length=10), nullable=False),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('delivery', sa.String(length=20), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('callbacks', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'],
                            name=op.f('fk_sms_messages_notice_id_notices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['number_id'], ['sms_numbers.id'],
                            name=op.f('fk_sms_messages_number_id_sms_numbers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_messages')),
    sa.UniqueConstraint('notice_id', name=op.f('uq_sms_messages_notice_id')),
    sa.UniqueConstraint('provider_sid', name=op.f('uq_sms_messages_provider_sid'))
    )
    op.create_index(op.f('ix_sms_messages_number_id'), 'sms_messages', ['number_id'])
    op.create_table('sms_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('detainee_id', sa.Integer(), nullable=True),
    sa.Column('number_id', sa.Integer(), nullable=False),
    sa.Column('provider_sid', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['detainee_id'], ['detainees.id'],
                            name=op.f('fk_sms_replies_detainee_id_detainees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['number_id'], ['sms_numbers.id'],
                            name=op.f('fk_sms_replies_number_id_sms_numbers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_replies')),
    sa.UniqueConstraint('provider_sid', name=op.f('uq_sms_replies_provider_sid'))
    )
    op.create_index(op.f('ix_sms_replies_detainee_id'), 'sms_replies', ['detainee_id'])


def downgrade() -> None:
    op.drop_table('sms_replies')
    op.drop_table('sms_messages')
    op.drop_table('sms_consents')
    op.drop_table('sms_numbers')
