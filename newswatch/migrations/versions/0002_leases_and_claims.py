"""feed leases and outbox claims: concurrent runs never refresh one feed or send one message at once

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feeds') as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_column('claimed_at')
    with op.batch_alter_table('feeds') as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')
