"""unscored_items and model_progress: a cycle's scoring queue without reading every stored item

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unscored_items',
                    sa.Column('item_id', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['item_id'], ['items.id']),
                    sa.PrimaryKeyConstraint('item_id'))
    op.create_table('model_progress',
                    sa.Column('model_version', sa.Text(), nullable=False),
                    sa.Column('scored_through', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('model_version'))
    # what a killed run left owed; no model has re-scoring progress yet, so each starts from the oldest item once
    op.execute("INSERT INTO unscored_items (item_id) SELECT id FROM items "
               "WHERE NOT EXISTS (SELECT 1 FROM predictions WHERE predictions.item_id = items.id)")


def downgrade() -> None:
    op.drop_table('model_progress')
    op.drop_table('unscored_items')
