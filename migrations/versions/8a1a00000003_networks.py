"""Networks: organizations that other organizations belong to, by consent of both sides.

Revision ID: 8a1a00000003
Revises: 7b1b00000002
Create Date: 2026-12-04 19:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import organizer.models.base


# revision identifiers, used by Alembic.
revision = '8a1a00000003'
down_revision = '7b1b00000002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_network', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.alter_column('is_network', server_default=None)

    op.create_table('network_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', organizer.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('invited_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('accepted_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('invited', 'requested', 'active', 'ended')", name=op.f('ck_network_memberships_status')),
    sa.CheckConstraint('network_id <> member_id', name=op.f('ck_network_memberships_not_itself')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_network_memberships_accepted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_network_memberships_ended_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_network_memberships_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['organizations.id'], name=op.f('fk_network_memberships_member_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['organizations.id'], name=op.f('fk_network_memberships_network_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_network_memberships_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_memberships'))
    )
    with op.batch_alter_table('network_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_memberships_network_id'), ['network_id'], unique=False)
        batch_op.create_index('ix_network_memberships_member', ['member_id', 'status'], unique=False)
        # One live (not ended) row per pair; ended rows stay as the record.
        batch_op.create_index('uq_network_memberships_live', ['network_id', 'member_id'], unique=True, sqlite_where=sa.text("status <> 'ended'"), postgresql_where=sa.text("status <> 'ended'"))


def downgrade():
    with op.batch_alter_table('network_memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_network_memberships_live')
        batch_op.drop_index('ix_network_memberships_member')
        batch_op.drop_index(batch_op.f('ix_network_memberships_network_id'))

    op.drop_table('network_memberships')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('is_network')
