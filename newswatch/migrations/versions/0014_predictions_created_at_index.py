"""ix_predictions_created_at: a digest reads the predictions made in its window

Revision ID: 0014
Revises: 0013
"""

from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_predictions_created_at', 'predictions', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_predictions_created_at', table_name='predictions')
