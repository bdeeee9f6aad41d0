"""Weekly digests: subscriptions, follows, highlights, deliveries and runs.

Revision ID: 47e4ce96756c
Revises: 92355f28c673
Create Date: 2026-11-22 01:34:18.232969

"""
from alembic import op
import sqlalchemy as sa

import organizer.models.base


# revision identifiers, used by Alembic.
revision = '47e4ce96756c'
down_revision = '92355f28c673'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('digest_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', organizer.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('now', organizer.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('empty', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('bounced', sa.Integer(), nullable=False),
    sa.Column('retry_later', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_runs'))
    )
    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('hour', sa.SmallInteger(), nullable=False),
    sa.Column('max_actions', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('bounce_count', sa.Integer(), nullable=False),
    sa.Column('created_at', organizer.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.CheckConstraint('hour BETWEEN 0 AND 23', name=op.f('ck_subscriptions_hour_range')),
    sa.CheckConstraint('max_actions BETWEEN 1 AND 10', name=op.f('ck_subscriptions_max_actions_range')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_subscriptions_weekday_range')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subscriptions_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    # Unique without regard to case (autogenerate cannot see functional indexes).
    op.create_index('uq_subscriptions_email_lower', 'subscriptions', [sa.text('lower(email)')], unique=True)
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_due', ['status', 'weekday', 'hour'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('digest_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('claimed_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_digest_deliveries_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_deliveries')),
    sa.UniqueConstraint('subscription_id', 'week', name=op.f('uq_digest_deliveries_subscription_id'))
    )
    with op.batch_alter_table('digest_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_digest_deliveries_retry', ['status', 'next_attempt_at'], unique=False)

    op.create_table('highlights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', organizer.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_highlights_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_highlights_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_highlights_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_highlights')),
    sa.UniqueConstraint('organization_id', 'week', 'event_id', name=op.f('uq_highlights_organization_id'))
    )
    with op.batch_alter_table('highlights', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_highlights_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_highlights_organization_id'), ['organization_id'], unique=False)

    op.create_table('subscription_causes',
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('cause', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_causes_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscription_id', 'cause', name=op.f('pk_subscription_causes'))
    )
    op.create_table('subscription_organizations',
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_subscription_organizations_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_organizations_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscription_id', 'organization_id', name=op.f('pk_subscription_organizations'))
    )
    with op.batch_alter_table('subscription_organizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_organizations_organization_id'), ['organization_id'], unique=False)

    op.create_table('subscription_regions',
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_regions_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscription_id', 'region', name=op.f('pk_subscription_regions'))
    )


def downgrade():
    op.drop_table('subscription_regions')
    with op.batch_alter_table('subscription_organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_organizations_organization_id'))

    op.drop_table('subscription_organizations')
    op.drop_table('subscription_causes')
    with op.batch_alter_table('highlights', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_highlights_organization_id'))
        batch_op.drop_index(batch_op.f('ix_highlights_event_id'))

    op.drop_table('highlights')
    with op.batch_alter_table('digest_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_deliveries_retry')

    op.drop_table('digest_deliveries')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_user_id'))
        batch_op.drop_index('ix_subscriptions_due')

    op.drop_index('uq_subscriptions_email_lower', table_name='subscriptions')
    op.drop_table('subscriptions')
    op.drop_table('digest_runs')
