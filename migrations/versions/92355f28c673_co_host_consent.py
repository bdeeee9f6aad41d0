"""Co-host consent: an organization listed as co-host is asked first (pending) and accepts.

Co-hosts listed before this revision were never asked; they keep co-hosting ("accepted",
asked and answered when the action was created).

Revision ID: 92355f28c673
Revises: bc55ed039e41
Create Date: 2026-11-22 01:23:00.936353

"""
from alembic import op
import sqlalchemy as sa

import organizer.models.base


# revision identifiers, used by Alembic.
revision = '92355f28c673'
down_revision = 'bc55ed039e41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event_hosts', schema=None) as batch_op:
        # The server default fills in the rows already there; it is dropped below, so new
        # rows get the model's own default ("pending").
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='accepted'))
        batch_op.add_column(sa.Column('requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('requested_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('responded_at', organizer.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_event_hosts_requested_by_id_users'), 'users', ['requested_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(batch_op.f('ck_event_hosts_cohost_status'), "status IN ('pending', 'accepted')")

    op.execute(
        "UPDATE event_hosts SET"
        " requested_at = (SELECT events.created_at FROM events WHERE events.id = event_hosts.event_id),"
        " responded_at = (SELECT events.created_at FROM events WHERE events.id = event_hosts.event_id)"
    )

    with op.batch_alter_table('event_hosts', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16), server_default=None)
        batch_op.alter_column('requested_at', existing_type=organizer.models.base.UTCDateTime(timezone=True), nullable=False)


def downgrade():
    # Without a status every row would count as a co-host: requests nobody accepted go.
    op.execute("DELETE FROM event_hosts WHERE status <> 'accepted'")
    with op.batch_alter_table('event_hosts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_event_hosts_cohost_status'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_event_hosts_requested_by_id_users'), type_='foreignkey')
        batch_op.drop_column('responded_at')
        batch_op.drop_column('requested_at')
        batch_op.drop_column('requested_by_id')
        batch_op.drop_column('status')
