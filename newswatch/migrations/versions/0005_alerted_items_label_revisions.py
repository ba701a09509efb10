"""alerted items (an immediate alert per item and channel, at most once) and label revisions (a concurrent
import of one file records each change once)

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerted_items',
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('channel', 'item_id')
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
    # existing history: each label's revision is the number of earlier labels of its item and topic
    op.execute("UPDATE labels SET revision = (SELECT count(*) FROM labels AS earlier WHERE "
               "earlier.item_key = labels.item_key AND earlier.topic = labels.topic AND earlier.id < labels.id)")
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index('uq_labels_item_key_topic_revision', ['item_key', 'topic', 'revision'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index('uq_labels_item_key_topic_revision')
        batch_op.drop_column('revision')
    op.drop_table('alerted_items')
