"""ix_items_when: items by when they happened, so a page of stories reads only its own items

Revision ID: 0013
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_items_when', 'items', [sa.text('coalesce(published_at, fetched_at)')])


def downgrade() -> None:
    op.drop_index('ix_items_when', table_name='items')
