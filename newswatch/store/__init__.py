"""The one place that speaks SQL, split by what it stores (as Miniflux's storage package is).

SQLAlchemy Core keeps one code path for SQLite (the embedded default) and PostgreSQL. Uniqueness is
enforced by constraints (item key, outbox channel + digest key), so concurrent writers cannot create
duplicates even without locks. Two cooperative claims keep concurrent runs from doing the same work twice:
a lease per feed (two overlapping cycles never fetch one feed at once) and an atomic claim of an outbox
entry before it is sent (two processes never send one message).

- ``schema``: tables, column types, engine, migration lock (the migrations import only this);
- ``feeds``: feed rows, health, leases;  ``items``: items and stories;
- ``predictions``: predictions and labels;  ``outbox``: owed messages and digests' takings;
- ``queries``: read-only views (the review page, search, the API);  ``search``: full-text matching;
- ``saved_queries``: analysts' saved queries.

``Store`` joins them over one engine; use it as ``with open_store(settings) as store:``.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from .feeds import FeedRow, FeedStore
from .items import ItemStore
from .outbox import Obligations, OutboxEntry, OutboxStore, Watermark
from .predictions import PredictionStore
from .queries import ItemFilter, PageQueries, ScoredItem, ScoredStory, threshold_distance
from .saved_queries import SavedQuery, SavedQueryExists, SavedQueryStore
from .schema import create_db_engine, migration_lock
from .search import SearchError

__all__ = ["FeedRow", "ItemFilter", "Obligations", "OutboxEntry", "SavedQuery", "SavedQueryExists", "ScoredItem",
           "ScoredStory", "SearchError", "Store", "Watermark", "create_db_engine", "threshold_distance"]


class Store(FeedStore, ItemStore, PredictionStore, OutboxStore, PageQueries, SavedQueryStore):
    """The store over one engine (a pool: safe to share between threads, one connection per operation)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, database_url: str) -> "Store":
        """The store at ``database_url``, its schema migrated to the newest revision."""
        store = cls(create_db_engine(database_url))
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    def migrate(self) -> None:
        """Upgrade the schema to the newest alembic revision, one process at a time."""
        # imported here: the migrations' environment imports store.schema, and alembic is only needed now
        from ..migrations import upgrade_to_head

        with migration_lock(self.engine) as connection:
            upgrade_to_head(connection)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
