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
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        # a database someone ANALYZEd: with statistics for every index but this one, SQLite took it for the best
        # way to join items to feeds, and the API's newest items read every item (3 ms -> 3.7 s over a million)
        op.execute('ANALYZE ix_items_feed_when')
    # IF EXISTS: a database made before alembic (stamped 0001) may never have had it
    op.execute('DROP INDEX IF EXISTS ix_items_feed_id')


def downgrade() -> None:
    op.create_index('ix_items_feed_id', 'items', ['feed_id'])
    op.drop_index('ix_items_feed_when', table_name='items')
