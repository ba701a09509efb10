"""prediction_scores: each prediction's score per topic in a column with an index, for the review queue

Revision ID: 0015
Revises: 0014
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('prediction_scores',
                    sa.Column('item_id', sa.Integer(), nullable=False),
                    sa.Column('model_version', sa.Text(), nullable=False),
                    sa.Column('topic', sa.Text(), nullable=False),
                    sa.Column('score', sa.Float(), nullable=False),
                    sa.ForeignKeyConstraint(['item_id', 'model_version'],
                                            ['predictions.item_id', 'predictions.model_version']),
                    sa.PrimaryKeyConstraint('item_id', 'model_version', 'topic'),
                    sqlite_with_rowid=False)
    # every stored prediction's scores, as save_predictions now writes them with each new one
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("INSERT INTO prediction_scores (item_id, model_version, topic, score) "
                   "SELECT p.item_id, p.model_version, s.key, s.value::float "
                   "FROM predictions p, json_each_text(p.scores::json) s")
    else:
        op.execute("INSERT INTO prediction_scores (item_id, model_version, topic, score) "
                   "SELECT p.item_id, p.model_version, s.key, s.value "
                   "FROM predictions p, json_each(p.scores) s WHERE s.type IN ('real', 'integer')")
    op.create_index('ix_prediction_scores_score', 'prediction_scores', ['model_version', 'topic', 'score', 'item_id'])


def downgrade() -> None:
    op.drop_index('ix_prediction_scores_score', table_name='prediction_scores')
    op.drop_table('prediction_scores')
