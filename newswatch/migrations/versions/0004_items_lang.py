"""items.lang: each item's language, detected at ingest

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # items stored before languages were detected are "und" (undetermined), as the store reads them
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lang', sa.Text(), server_default='und', nullable=False))
        batch_op.create_index('ix_items_lang', ['lang'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_lang')
        batch_op.drop_column('lang')
