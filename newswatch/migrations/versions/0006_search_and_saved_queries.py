"""full-text search over items (SQLite FTS5 trigram table + triggers; PostgreSQL pg_trgm GIN index) and saved queries

Revision ID: 0006
Revises: 0005

Trigrams rather than words: Korean and Russian need no tokenizer that knows them, and a term matches
inside inflected or agglutinated words. Existing items are indexed here (backfill). On SQLite the
index is kept in step by triggers on ``items``: a later revision that recreates ``items`` (batch mode
"recreate") drops them and must create them again.
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SQLITE_UP = (
    # external content: the text stays in items only; the FTS table holds just the trigram index
    "CREATE VIRTUAL TABLE items_fts USING fts5(title, summary, text, content='items', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts(rowid, title, summary, text) VALUES (new.id, new.title, new.summary, new.text); END",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, summary, text) "
    "VALUES ('delete', old.id, old.title, old.summary, old.text); END",
    # only when the searchable text changes (story ids are set on every cycle)
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary, text ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, summary, text) "
    "VALUES ('delete', old.id, old.title, old.summary, old.text); "
    "INSERT INTO items_fts(rowid, title, summary, text) VALUES (new.id, new.title, new.summary, new.text); END",
    "INSERT INTO items_fts(items_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = ("DROP TRIGGER IF EXISTS items_fts_update", "DROP TRIGGER IF EXISTS items_fts_delete",
               "DROP TRIGGER IF EXISTS items_fts_insert", "DROP TABLE IF EXISTS items_fts")

POSTGRES_UP = (
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # the expression store/search.py searches with ILIKE, character for character
    "CREATE INDEX ix_items_search ON items USING gin ((title || ' ' || summary || ' ' || text) gin_trgm_ops)",
)
POSTGRES_DOWN = ("DROP INDEX IF EXISTS ix_items_search",)


def upgrade() -> None:
    op.create_table('saved_queries',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), server_default='', nullable=False),
    sa.Column('topics', sa.Text(), server_default='[]', nullable=False),
    sa.Column('feeds', sa.Text(), server_default='[]', nullable=False),
    sa.Column('languages', sa.Text(), server_default='[]', nullable=False),
    sa.Column('min_score', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    for statement in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
    op.drop_table('saved_queries')
