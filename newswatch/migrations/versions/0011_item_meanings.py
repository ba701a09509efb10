"""item_meanings: each item's multilingual meaning vector, kept once encoded

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('item_meanings',
                    sa.Column('item_id', sa.Integer(), nullable=False),
                    sa.Column('vector', sa.LargeBinary(), nullable=False),
                    sa.ForeignKeyConstraint(['item_id'], ['items.id']),
                    sa.PrimaryKeyConstraint('item_id'))


def downgrade() -> None:
    op.drop_table('item_meanings')
