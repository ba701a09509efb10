"""ix_items_feed_when: a feed's items by when they happened, so a feed's recent arrivals read only them

Revision ID: 0016
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_items_feed_when', 'items', ['feed_id', sa.text('coalesce(published_at, fetched_at)')])
    # IF EXISTS: a database made before alembic (stamped 0001) may never have had it
    op.execute('DROP INDEX IF EXISTS ix_items_feed_id')


def downgrade() -> None:
    op.create_index('ix_items_feed_id', 'items', ['feed_id'])
    op.drop_index('ix_items_feed_when', table_name='items')
