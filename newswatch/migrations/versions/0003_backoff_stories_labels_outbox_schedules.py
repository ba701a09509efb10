"""backoff, redirects, stories, labels, outbox kinds and schedules, digest watermarks and taken items

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_watermarks',
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('tagged_until', sa.DateTime(), nullable=False),
    sa.Column('digested_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('channel')
    )
    op.create_table('digest_items',
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('channel', 'item_id')
    )
    op.create_table('labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.Text(), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('value', sa.Boolean(), nullable=False),
    sa.Column('author', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), server_default='', nullable=False),
    sa.Column('text', sa.Text(), server_default='', nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index('ix_labels_item_key_topic', ['item_key', 'topic'], unique=False)

    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('fetch_url', sa.Text(), nullable=True))

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('story_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_items_feed_id_guid', ['feed_id', 'guid'], unique=False)
        batch_op.create_index('ix_items_fetched_at', ['fetched_at'], unique=False)
        batch_op.create_index('ix_items_story_id', ['story_id'], unique=False)
        batch_op.create_index('ix_items_url', ['url'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Text(), server_default='digest', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('kind')

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_url')
        batch_op.drop_index('ix_items_story_id')
        batch_op.drop_index('ix_items_fetched_at')
        batch_op.drop_index('ix_items_feed_id_guid')
        batch_op.drop_column('story_id')

    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('fetch_url')
        batch_op.drop_column('next_attempt_at')

    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index('ix_labels_item_key_topic')

    op.drop_table('labels')
    op.drop_table('digest_items')
    op.drop_table('digest_watermarks')
