"""feeds.next_poll_at: when the scheduled cycle polls a feed next (adaptive polling)

Revision ID: 0010
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_poll_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('next_poll_at')
