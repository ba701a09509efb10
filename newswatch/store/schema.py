"""The store's schema and engine: tables, the UTC column type, the engine factory, the migration lock.

Migrations (``newswatch/migrations``) import this module and nothing else of the store. To change the
schema, edit the tables here and add an alembic revision (see ``newswatch/migrations/README``).
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite too (which keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


metadata = sa.MetaData()

feeds = sa.Table(
    "feeds", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    # the config's name, or the URL where the config gives none
    sa.Column("name", sa.Text, nullable=False),
    # the title the feed gives itself (cleaned, shortened), as last fetched: the name shown where the config gives none
    sa.Column("title", sa.Text),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("last_checked_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_new_item_at", UTCDateTime),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("next_poll_at", UTCDateTime),
    # where permanent redirects moved the feed; ``url`` stays the configured identity
    sa.Column("fetch_url", sa.Text),

    # who is refreshing this feed right now, and until when (see acquire_feed_lease)
    sa.Column("lease_owner", sa.Text),
    sa.Column("lease_until", UTCDateTime),
)

# The name a feed is shown by (digests, the inbox, `items`, `feeds status`): the config's name, else the feed's own
# title, else its URL. A feed the config does not name carries its URL as name (see config.feeds).
feed_label = sa.case((feeds.c.name != feeds.c.url, feeds.c.name),
                     else_=sa.func.coalesce(feeds.c.title, feeds.c.url))

items = sa.Table(
    "items", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text, nullable=False, unique=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id"), nullable=False),
    sa.Column("guid", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("published_at", UTCDateTime),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    # the id of the story's first item: one event reported by several outlets (newswatch.stories)
    sa.Column("story_id", sa.Integer),
    # ISO 639-1 code detected at ingest (newswatch.normalize.language); "und" for items stored before that
    sa.Column("lang", sa.Text, nullable=False, server_default="und"),
    sa.Index("ix_items_url", "url"),
    sa.Index("ix_items_feed_id_guid", "feed_id", "guid"),
    sa.Index("ix_items_fetched_at", "fetched_at"),
    sa.Index("ix_items_story_id", "story_id"),
    sa.Index("ix_items_lang", "lang"),
)

# Items newest first by when they happened (published, else fetched: ``store.queries._when``): a page of the inbox's
# stories reads its items in this order and stops (store.queries._story_page)
sa.Index("ix_items_when", sa.func.coalesce(items.c.published_at, items.c.fetched_at))
# One feed's items by when they happened: its recent arrivals set its poll interval (``FeedStore.arrivals``) for each
# feed every cycle, and by feed alone that read every item the feed ever had (44 ms a feed over a million items). Its
# first column serves the lookups by feed alone, as ix_items_feed_id (dropped in 0016) did.
sa.Index("ix_items_feed_when", items.c.feed_id, sa.func.coalesce(items.c.published_at, items.c.fetched_at))

predictions = sa.Table(
    "predictions", metadata,
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("model_version", sa.Text, primary_key=True),
    sa.Column("scores", sa.Text, nullable=False),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("why", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # a digest reads the predictions made in its window (store.outbox.tagged_between)
    sa.Index("ix_predictions_created_at", "created_at"),
)

# Each prediction's score per topic, written with it: the review queue reads the scores nearest a threshold from the
# index outwards (store.queries.nearest_thresholds), where ordering every prediction by a score read out of its JSON
# took two to three seconds over a million items. The predictions' ``scores`` stay what every other reader reads.
prediction_scores = sa.Table(
    "prediction_scores", metadata,
    sa.Column("item_id", sa.Integer, primary_key=True),
    sa.Column("model_version", sa.Text, primary_key=True),
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.ForeignKeyConstraint(["item_id", "model_version"], ["predictions.item_id", "predictions.model_version"]),
    sa.Index("ix_prediction_scores_score", "model_version", "topic", "score", "item_id"),
    sqlite_with_rowid=False,  # the primary key is the table: one b-tree less to write per score
)

# The items no model has scored yet, each stored with its item and taken out in the transaction that saves its first
# prediction: what a cycle owes now, read without comparing every stored item with the predictions (a second a cycle
# per million items).
unscored_items = sa.Table(
    "unscored_items", metadata,
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
)

# How far each model version has re-scored the store, oldest item first: every item up to ``scored_through`` that a
# model had scored has a prediction by this version too, so a cycle looks for its re-scoring work only past it.
model_progress = sa.Table(
    "model_progress", metadata,
    sa.Column("model_version", sa.Text, primary_key=True),
    sa.Column("scored_through", sa.Integer, nullable=False),
)

# Append-only history of judgements; the latest row per (item_key, topic) is the one that counts. The
# item's text is copied in so that labels keep training models after the item leaves the store.
labels = sa.Table(
    "labels", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_key", sa.Text, nullable=False),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("value", sa.Boolean, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("url", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # the label's place in its (item_key, topic) history: 0, 1, 2… Two processes recording the same change
    # at once both write the next revision, and the unique index keeps one (see LabelStore.add_labels)
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_labels_item_key_topic", "item_key", "topic"),
    sa.Index("uq_labels_item_key_topic_revision", "item_key", "topic", "revision", unique=True),
)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("dedupe_key", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body_text", sa.Text, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False),
    sa.Column("body_markdown", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    # "immediate" alert or scheduled "digest"
    sa.Column("kind", sa.Text, nullable=False, server_default="digest"),
    # not sent before this: the end of quiet hours, or the backoff after a failed send
    sa.Column("next_attempt_at", UTCDateTime),
    # set with status "sending", committed before the channel is called (see README, "Delivery")
    sa.Column("claimed_at", UTCDateTime),
    sa.UniqueConstraint("channel", "dedupe_key", name="uq_outbox_channel_dedupe_key"),
)

digest_watermarks = sa.Table(
    "digest_watermarks", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    # the newest digest's window end; the next digest looks back from a little before it
    sa.Column("tagged_until", UTCDateTime, nullable=False),
    sa.Column("digested_at", UTCDateTime, nullable=False),
)

# Which items a channel's digests have already taken: the key, not the watermark, is what keeps two
# processes from owing an item twice, and lets an item whose prediction committed late still be owed.
digest_items = sa.Table(
    "digest_items", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
)


# Which items a channel's immediate alerts have taken, owed in the transaction that saved the prediction:
# an item is alerted at most once per channel, whichever process or model scored it.
alerted_items = sa.Table(
    "alerted_items", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
)


# Each item's multilingual meaning vector (float32 bytes), encoded the first time cross-language linking
# needs it and kept: encoding costs 25-60 items' parsing, and the items of the last 36 hours are the
# candidates of every later cycle.
item_meanings = sa.Table(
    "item_meanings", metadata,
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("vector", sa.LargeBinary, nullable=False),
)


# An analyst's standing question: the items matching it feed a channel (``[[channels]] query``) and the
# Atom / JSON feeds at /feeds/<name>.atom|.json. Lists are JSON arrays; an empty list means "any".
saved_queries = sa.Table(
    "saved_queries", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("topics", sa.Text, nullable=False, server_default="[]"),
    sa.Column("feeds", sa.Text, nullable=False, server_default="[]"),
    sa.Column("languages", sa.Text, nullable=False, server_default="[]"),
    sa.Column("min_score", sa.Float),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

#: The full-text index lives outside ``metadata`` (an FTS5 table and its triggers on SQLite, a pg_trgm
#: expression index on PostgreSQL: see revision 0006 and store/search.py); autogenerate must leave it be.
SEARCH_INDEX_NAMES = ("items_fts", "ix_items_search")


def managed_by_metadata(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """alembic's include_object: everything but the full-text index's tables and index."""
    return not (name and name.startswith(SEARCH_INDEX_NAMES))



def database_url_with_driver(database_url: str) -> sa.URL:
    """The URL users paste (``postgresql://``, ``postgres://``) with the driver newswatch installs: psycopg 3.

    SQLAlchemy maps a bare ``postgresql://`` to psycopg2, which the ``[postgres]`` extra does not bring.
    """
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    url = sa.make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def create_db_engine(database_url: str) -> Engine:
    url = database_url_with_driver(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # No fsync per commit (SQLite's advice for WAL): a commit is still atomic and survives the process
            # being killed; a power loss may roll back the last commits, whole and in order, which leaves the
            # store as a crash a moment earlier would have (README, "What survives what"). An fsync per
            # commit cost 3.6 ms here, and a first cycle commits about a thousand times.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


# any constant works; this one spells "newswatch" in hex-ish so it is recognizable in pg_locks
_MIGRATION_LOCK_KEY = 0x6E657773


def _insert(table: sa.Table, dialect_name: str):  # type: ignore[no-untyped-def]
    return (postgresql.insert(table) if dialect_name == "postgresql" else sqlite.insert(table))



@contextmanager
def migration_lock(engine: Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that no other process migrating the same database shares.

    PostgreSQL: a transaction-level advisory lock (released at commit). SQLite's DDL does not join
    pysqlite's transactions, so there an exclusive lock on a file next to the database serializes.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
            yield connection
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with engine.begin() as connection:
            yield connection
        return
    with open(f"{database}.migrate-lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            with engine.begin() as connection:
                yield connection
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _chunks(values: Sequence[object], size: int = 500) -> Iterable[Sequence[object]]:
    """Slices small enough for any database's limit on bound parameters."""
    return (values[i:i + size] for i in range(0, len(values), size))

