"""The one place that speaks SQL: schema, feeds and their health, items, predictions, labels, the outbox.

SQLAlchemy Core keeps one code path for SQLite (the embedded default) and PostgreSQL. Uniqueness is
enforced by constraints (item key, outbox channel + digest key), so concurrent writers cannot create
duplicates even without locks. Two cooperative claims keep concurrent runs from doing the same work twice:
a lease per feed (two overlapping cycles never fetch one feed at once) and an atomic claim of an outbox
entry before it is sent (two processes never send one message).

The schema lives in ``metadata`` below and in alembic revisions under ``newswatch/migrations/versions``;
``Store.migrate()`` upgrades to the newest revision. To change the schema, edit ``metadata`` and add a
revision (see ``newswatch/migrations/README``).
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from .migrations import upgrade_to_head
from .models import Feed, Item, Label, Prediction, Validators


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
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("last_checked_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_new_item_at", UTCDateTime),
    sa.Column("next_attempt_at", UTCDateTime),
    # where permanent redirects moved the feed; ``url`` stays the configured identity
    sa.Column("fetch_url", sa.Text),

    # who is refreshing this feed right now, and until when (see acquire_feed_lease)
    sa.Column("lease_owner", sa.Text),
    sa.Column("lease_until", UTCDateTime),
)

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
    sa.Index("ix_items_feed_id", "feed_id"),
    sa.Index("ix_items_url", "url"),
    sa.Index("ix_items_feed_id_guid", "feed_id", "guid"),
    sa.Index("ix_items_fetched_at", "fetched_at"),
    sa.Index("ix_items_story_id", "story_id"),
)

predictions = sa.Table(
    "predictions", metadata,
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("model_version", sa.Text, primary_key=True),
    sa.Column("scores", sa.Text, nullable=False),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("why", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", UTCDateTime, nullable=False),
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
    sa.Index("ix_labels_item_key_topic", "item_key", "topic"),
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


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    name: str
    validators: Validators
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    last_new_item_at: datetime | None
    items_stored: int = 0
    next_attempt_at: datetime | None = None
    fetch_url: str | None = None

    def due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or self.next_attempt_at <= now


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    channel: str
    dedupe_key: str
    subject: str
    body_text: str
    body_html: str
    body_markdown: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None = None
    kind: str = "digest"
    next_attempt_at: datetime | None = None
    claimed_at: datetime | None = None


@dataclass(frozen=True)
class Watermark:
    tagged_until: datetime
    digested_at: datetime


@dataclass(frozen=True)
class TaggedItem:
    item: Item
    prediction: Prediction
    source: str
    tagged_at: datetime


class _TakenElsewhere(Exception):
    """Another digest took some of the items first."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def create_db_engine(database_url: str) -> Engine:
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


# any constant works; this one spells "newswatch" in hex-ish so it is recognizable in pg_locks
_MIGRATION_LOCK_KEY = 0x6E657773


def _insert(table: sa.Table, dialect_name: str):  # type: ignore[no-untyped-def]
    return (postgresql.insert(table) if dialect_name == "postgresql" else sqlite.insert(table))


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, database_url: str) -> "Store":
        store = cls(create_db_engine(database_url))
        store.migrate()
        return store

    def migrate(self) -> None:
        """Upgrade the schema to the newest alembic revision, one process at a time."""
        with self._migration_lock() as connection:
            upgrade_to_head(connection)

    @contextmanager
    def _migration_lock(self) -> Iterator[sa.Connection]:
        """A connection in a transaction that no other process migrating the same database shares.

        PostgreSQL: a transaction-level advisory lock (released at commit). SQLite's DDL does not join
        pysqlite's transactions, so there an exclusive lock on a file next to the database serializes.
        """
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as connection:
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
                yield connection
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            with self.engine.begin() as connection:
                yield connection
            return
        with open(f"{database}.migrate-lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                with self.engine.begin() as connection:
                    yield connection
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def close(self) -> None:
        self.engine.dispose()

    # feeds ---------------------------------------------------------------------------------------

    def sync_feeds(self, configured: Sequence[Feed]) -> dict[str, int]:
        """Make sure every configured feed has a row (names follow the config); return url → id."""
        with self.engine.begin() as conn:
            insert = _insert(feeds, conn.dialect.name)
            for feed in configured:
                conn.execute(insert.values(url=feed.url, name=feed.name)
                             .on_conflict_do_update(index_elements=["url"], set_={"name": feed.name}))
            rows = conn.execute(sa.select(feeds.c.url, feeds.c.id)
                                .where(feeds.c.url.in_([f.url for f in configured]))).all()
        return {url: feed_id for url, feed_id in rows}

    def feed_rows(self) -> list[FeedRow]:
        counts = (sa.select(items.c.feed_id, sa.func.count().label("n")).group_by(items.c.feed_id).subquery())
        query = (sa.select(feeds, sa.func.coalesce(counts.c.n, 0).label("items_stored"))
                 .select_from(feeds.outerjoin(counts, counts.c.feed_id == feeds.c.id)).order_by(feeds.c.id))
        with self.engine.connect() as conn:
            return [_feed_row(row._mapping) for row in conn.execute(query)]

    def feed_row(self, feed_id: int) -> FeedRow:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(feeds, sa.literal(0).label("items_stored")).where(feeds.c.id == feed_id)).one()
        return _feed_row(row._mapping)

    def validators(self, feed_id: int) -> Validators:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(feeds.c.etag, feeds.c.last_modified).where(feeds.c.id == feed_id)).one()
        return Validators(etag=row.etag, last_modified=row.last_modified)

    def record_success(self, feed_id: int, validators: Validators, new_items: int, now: datetime,
                       fetch_url: str | None = None) -> None:
        values: dict[str, object] = dict(etag=validators.etag, last_modified=validators.last_modified,
                                         last_checked_at=now, last_success_at=now, last_error=None,
                                         consecutive_failures=0, next_attempt_at=None)
        if new_items:
            values["last_new_item_at"] = now
        if fetch_url:
            values["fetch_url"] = fetch_url
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))

    def record_failure(self, feed_id: int, error: str, now: datetime, next_attempt_at: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(
                last_checked_at=now, last_error=error, consecutive_failures=feeds.c.consecutive_failures + 1,
                next_attempt_at=next_attempt_at))

    def acquire_feed_lease(self, feed_id: int, owner: str, now: datetime, duration: timedelta) -> bool:
        """Take the feed for ``duration`` unless another run holds an unexpired lease on it."""
        with self.engine.begin() as conn:
            taken = conn.execute(feeds.update().where(
                feeds.c.id == feed_id, sa.or_(feeds.c.lease_until.is_(None), feeds.c.lease_until <= now),
            ).values(lease_owner=owner, lease_until=now + duration))
        return taken.rowcount == 1

    def release_feed_lease(self, feed_id: int, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id, feeds.c.lease_owner == owner)
                         .values(lease_owner=None, lease_until=None))

    # items ---------------------------------------------------------------------------------------

    def insert_new(self, feed_id: int, batch: Iterable[Item], now: datetime) -> list[Item]:
        """Store the items not stored yet and return just those, with their ids.

        An item is already stored when its key is, and also when its canonical URL is (any feed; for
        items keyed by URL) or its GUID is (same feed): that catches a feed that changes GUIDs or republishes, and rows
        stored under an older key scheme.
        """
        unique: dict[str, Item] = {}
        for item in batch:
            unique.setdefault(item.key, item)
        known_urls, known_guids = self._known(feed_id, unique.values())
        unique = {key: item for key, item in unique.items()
                  if not (key.startswith("url:") and item.url in known_urls) and item.guid not in known_guids}
        if not unique:
            return []
        rows = [dict(key=i.key, feed_id=feed_id, guid=i.guid, url=i.url, title=i.title, summary=i.summary,
                     text=i.text, published_at=i.published, fetched_at=now) for i in unique.values()]
        with self.engine.begin() as conn:
            statement = (_insert(items, conn.dialect.name).on_conflict_do_nothing(index_elements=["key"])
                         .returning(items.c.id, items.c.key))
            inserted = conn.execute(statement, rows).all()
        ids = {key: item_id for item_id, key in inserted}
        return [replace(unique[key], id=ids[key]) for key in unique if key in ids]

    def _known(self, feed_id: int, batch: Iterable[Item]) -> tuple[set[str], set[str]]:
        urls = sorted({i.url for i in batch if i.url})
        guids = sorted({i.guid for i in batch if i.guid})
        known_urls: set[str] = set()
        known_guids: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in _chunks(urls):
                known_urls.update(conn.execute(sa.select(items.c.url).where(items.c.url.in_(chunk))).scalars())
            for chunk in _chunks(guids):
                known_guids.update(conn.execute(sa.select(items.c.guid).where(
                    items.c.feed_id == feed_id, items.c.guid.in_(chunk))).scalars())
        return known_urls, known_guids

    def set_texts(self, texts: Mapping[int, str]) -> None:
        """Keep the full article text of these items (item id → text)."""
        if texts:
            with self.engine.begin() as conn:
                conn.execute(items.update().where(items.c.id == sa.bindparam("item_id")).values(text=sa.bindparam("t")),
                             [{"item_id": i, "t": t} for i, t in texts.items()])

    def recent_items(self, since: datetime) -> list[tuple[int, int | None, str, str]]:
        """(id, story_id, title, summary) of the items fetched since ``since``, oldest first."""
        query = (sa.select(items.c.id, items.c.story_id, items.c.title, items.c.summary)
                 .where(items.c.fetched_at >= since).order_by(items.c.id))
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]

    def set_stories(self, story_ids: Mapping[int, int]) -> None:
        """Record each item's story (item id → story id)."""
        if story_ids:
            with self.engine.begin() as conn:
                conn.execute(items.update().where(items.c.id == sa.bindparam("item_id"))
                             .values(story_id=sa.bindparam("story")),
                             [{"item_id": i, "story": s} for i, s in story_ids.items()])

    def stories(self, item_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """item id → (story id, number of items in that story); an unclustered item is its own story."""
        result: dict[int, tuple[int, int]] = {}
        story_of = _story()
        with self.engine.connect() as conn:
            for chunk in _chunks(list(item_ids)):
                stories = dict(conn.execute(sa.select(items.c.id, story_of).where(items.c.id.in_(chunk))).all())
                sizes = dict(conn.execute(sa.select(story_of, sa.func.count()).where(
                    story_of.in_(set(stories.values()))).group_by(story_of)).all())
                result.update({i: (s, sizes[s]) for i, s in stories.items()})
        return result

    def items_by_id(self, ids: Sequence[int]) -> list[Item]:
        with self.engine.connect() as conn:
            rows = conn.execute(_item_query().where(items.c.id.in_(ids))).all()
        by_id = {row.id: _item(row._mapping) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    # predictions ---------------------------------------------------------------------------------

    def save_predictions(self, model_version: str, scored: Sequence[tuple[Item, Prediction]], now: datetime) -> None:
        if not scored:
            return
        rows = [dict(item_id=item.id, model_version=model_version, scores=json.dumps(dict(p.scores)),
                     tags=json.dumps(list(p.tags)), why=json.dumps({k: list(v) for k, v in p.why.items()}),
                     created_at=now) for item, p in scored]
        with self.engine.begin() as conn:
            conn.execute(_insert(predictions, conn.dialect.name).on_conflict_do_nothing(), rows)

    def latest_predictions(self, model_version: str) -> list[tuple[Item, dict[str, float]]]:
        """Every stored item this model version scored, with its scores."""
        query = (_item_query().add_columns(predictions.c.scores)
                 .join(predictions, predictions.c.item_id == items.c.id)
                 .where(predictions.c.model_version == model_version).order_by(items.c.id))
        with self.engine.connect() as conn:
            return [(_item(row._mapping), json.loads(row.scores)) for row in conn.execute(query)]

    def items_unscored_by(self, model_version: str, limit: int | None = None) -> list[Item]:
        """Stored items this model version has not scored yet, newest first."""
        scored = sa.select(predictions.c.item_id).where(predictions.c.model_version == model_version)
        query = _item_query().where(items.c.id.not_in(scored)).order_by(items.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_item(row._mapping) for row in conn.execute(query)]

    def newest_items(self, limit: int) -> list[Item]:
        with self.engine.connect() as conn:
            return [_item(r._mapping) for r in conn.execute(_item_query().order_by(items.c.id.desc()).limit(limit))]

    # labels --------------------------------------------------------------------------------------

    def add_labels(self, batch: Sequence[Label], now: datetime) -> int:
        """Record the labels that change an item's current judgement, all or none; return how many.

        A label equal to the latest one for its item and topic adds nothing, so importing the same
        file twice, or saying the same thing twice, leaves the store as it was.
        """
        with self.engine.begin() as conn:
            keys = sorted({label.item_key for label in batch})
            current = {(row.item_key, row.topic): row.value
                       for row in conn.execute(_latest_labels_query().where(labels.c.item_key.in_(keys)))}
            rows = []
            for label in batch:
                if current.get((label.item_key, label.topic)) == label.value:
                    continue
                current[(label.item_key, label.topic)] = label.value
                rows.append(dict(item_key=label.item_key, topic=label.topic, value=label.value, author=label.author,
                                 source=label.source, title=label.title, summary=label.summary, text=label.text,
                                 url=label.url, created_at=label.created_at or now))
            if rows:
                conn.execute(labels.insert(), rows)
        return len(rows)

    def latest_labels(self) -> list[Label]:
        """The judgement in force for every labeled item and topic, oldest first."""
        with self.engine.connect() as conn:
            return [_label(row._mapping) for row in conn.execute(_latest_labels_query().order_by(labels.c.id))]

    # outbox --------------------------------------------------------------------------------------

    def enqueue(self, channel: str, dedupe_key: str, subject: str, text: str, html: str, markdown: str,
                now: datetime, kind: str = "digest", not_before: datetime | None = None) -> None:
        """Owe this message to this channel, once: enqueueing the same key again changes nothing."""
        with self.engine.begin() as conn:
            self._enqueue(conn, dict(channel=channel, dedupe_key=dedupe_key, subject=subject, body_text=text,
                                     body_html=html, body_markdown=markdown, created_at=now, kind=kind,
                                     next_attempt_at=not_before))

    def enqueue_digest(self, channel: str, message: Mapping[str, str] | None, item_ids: Sequence[int],
                       tagged_until: datetime, now: datetime, exclusive: bool = True) -> bool:
        """Owe a digest (if any) of ``item_ids`` (every item it considered) and record them as taken, in
        one transaction; False, owing nothing, when ``exclusive`` and another digest took one of them first.
        """
        try:
            with self.engine.begin() as conn:
                self._take_and_owe(conn, channel, message, item_ids, tagged_until, now, exclusive)
        except _TakenElsewhere:
            return False
        return True

    def _take_and_owe(self, conn: sa.Connection, channel: str, message: Mapping[str, str] | None,
                      item_ids: Sequence[int], tagged_until: datetime, now: datetime, exclusive: bool) -> None:
        taken = 0
        for chunk in _chunks(sorted(set(item_ids))):
            # RETURNING, not rowcount: psycopg reports no row count for INSERT … ON CONFLICT DO NOTHING
            taken += len(conn.execute(
                _insert(digest_items, conn.dialect.name).on_conflict_do_nothing()
                .values([{"channel": channel, "item_id": item_id} for item_id in chunk])
                .returning(digest_items.c.item_id)).all())
        if exclusive and taken != len(set(item_ids)):
            raise _TakenElsewhere  # rolls the transaction back: nothing taken, nothing owed
        if message is not None:
            self._enqueue(conn, dict(channel=channel, created_at=now, kind="digest", **message))
        conn.execute(_insert(digest_watermarks, conn.dialect.name).values(
            channel=channel, tagged_until=tagged_until, digested_at=now).on_conflict_do_update(
            index_elements=["channel"], set_={"tagged_until": tagged_until, "digested_at": now}))

    @staticmethod
    def _enqueue(conn: sa.Connection, row: Mapping[str, object]) -> None:
        conn.execute(_insert(outbox, conn.dialect.name).on_conflict_do_nothing().values(**row))

    def watermark(self, channel: str) -> Watermark | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(digest_watermarks).where(digest_watermarks.c.channel == channel)).first()
        return Watermark(row.tagged_until, row.digested_at) if row else None

    def owed(self, channel: str | None = None) -> list[OutboxEntry]:
        query = sa.select(outbox).where(outbox.c.status != "sent").order_by(outbox.c.id)
        if channel is not None:
            query = query.where(outbox.c.channel == channel)
        with self.engine.connect() as conn:
            return [_outbox_entry(row._mapping) for row in conn.execute(query)]

    def due(self, channel: str, now: datetime, stale_claims_before: datetime) -> list[OutboxEntry]:
        """What to try now: owed and not held back, plus claims left behind by a process that died."""
        waiting = sa.and_(outbox.c.status.in_(("pending", "failed")),
                          sa.or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
        abandoned = sa.and_(outbox.c.status == "sending", outbox.c.claimed_at <= stale_claims_before)
        query = (sa.select(outbox).where(outbox.c.channel == channel, sa.or_(waiting, abandoned))
                 .order_by(outbox.c.id))
        with self.engine.connect() as conn:
            return [_outbox_entry(row._mapping) for row in conn.execute(query)]

    def outbox_entries(self, statuses: Sequence[str] | None = None) -> list[OutboxEntry]:
        query = sa.select(outbox).order_by(outbox.c.id)
        if statuses is not None:
            query = query.where(outbox.c.status.in_(statuses))
        with self.engine.connect() as conn:
            return [_outbox_entry(r._mapping) for r in conn.execute(query)]

    def claim(self, entry: OutboxEntry, now: datetime) -> bool:
        """Record "sending" before the send; False when another process changed the row first."""
        unchanged = (outbox.c.claimed_at.is_(None) if entry.claimed_at is None
                     else outbox.c.claimed_at == entry.claimed_at)
        with self.engine.begin() as conn:
            result = conn.execute(outbox.update().where(outbox.c.id == entry.id, outbox.c.status == entry.status,
                                                        unchanged)
                                  .values(status="sending", claimed_at=now))
        return result.rowcount == 1

    def mark_sent(self, entry_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(
                status="sent", sent_at=now, attempts=outbox.c.attempts + 1, last_error=None, next_attempt_at=None))

    def mark_failed(self, entry_id: int, error: str, retry_at: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(
                status="failed", attempts=outbox.c.attempts + 1, last_error=error, next_attempt_at=retry_at))

    def tagged_between(self, since: datetime | None, until: datetime, not_taken_by: str | None = None
                       ) -> list[TaggedItem]:
        """Items first scored in (since, until], each with its newest prediction up to ``until``, tagged or
        not (a channel may set its own threshold). An item re-scored later by a new model is not new.
        ``not_taken_by`` leaves out the items that channel's digests have already taken."""
        first = (sa.select(predictions.c.item_id, sa.func.min(predictions.c.created_at).label("first_at"))
                 .group_by(predictions.c.item_id).subquery())
        query = (sa.select(items, feeds.c.url.label("feed_url"), feeds.c.name.label("feed_name"),
                           predictions.c.scores, predictions.c.tags, predictions.c.why, predictions.c.created_at)
                 .select_from(predictions.join(first, first.c.item_id == predictions.c.item_id)
                              .join(items, items.c.id == predictions.c.item_id)
                              .join(feeds, feeds.c.id == items.c.feed_id))
                 .where(predictions.c.created_at <= until, first.c.first_at <= until)
                 .order_by(predictions.c.created_at))
        if since is not None:
            query = query.where(first.c.first_at > since)
        if not_taken_by is not None:
            taken = sa.select(digest_items.c.item_id).where(digest_items.c.channel == not_taken_by)
            query = query.where(items.c.id.not_in(taken))
        latest: dict[int, TaggedItem] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                why = {topic: tuple(terms) for topic, terms in json.loads(row.why).items()}
                prediction = Prediction(scores=json.loads(row.scores), tags=tuple(json.loads(row.tags)), why=why)
                latest[row.id] = TaggedItem(_item(row._mapping), prediction, row.feed_name, row.created_at)
        return list(latest.values())

    # ---- issue 7 (web review page): labels, scored-item queries, review queue, tagged per day ----
    # Kept together so the merge with issue 3's labels is mechanical: same table, same method names.

    def add_label(self, item: Item, topic: str, value: bool, author: str, source: str,
                  now: datetime | None = None) -> Label:
        """One analyst judgement on a stored item (see add_labels: saying the same thing twice adds nothing)."""
        label = Label(item.key, topic, bool(value), author, source, item.title, item.summary, item.text, item.url,
                      now or utcnow())
        self.add_labels([label], label.created_at)  # type: ignore[arg-type]
        return label

    def labels_for(self, item_keys: Iterable[str]) -> list[Label]:
        """The latest label per item key and topic (older ones are history)."""
        keys = sorted(set(item_keys))
        with self.engine.connect() as conn:
            return [_label(row._mapping) for chunk in _chunks(keys)
                    for row in conn.execute(_latest_labels_query().where(labels.c.item_key.in_(chunk)))]

    def scored_stories(self, where: "ItemFilter | None" = None, limit: int | None = 50,
                       offset: int = 0) -> list["ScoredStory"]:
        """The stories with at least one item that matches ``where``, the one with the newest matching item
        first, each with all its stored items (newest first, with their latest prediction and labels).

        Limit and offset count stories, so a page never splits a story nor repeats one.
        """
        matching = _scored_query(where or ItemFilter())
        story = _story()
        page = (matching.with_only_columns(story).group_by(story)
                .order_by(sa.func.max(_when()).desc(), story.desc()).limit(limit).offset(offset))
        matched: set[int] = set()
        rows: list[sa.Row] = []
        with self.engine.connect() as conn:
            story_ids = list(conn.execute(page).scalars())
            for chunk in _chunks(story_ids):
                matched.update(conn.execute(matching.with_only_columns(items.c.id).where(story.in_(chunk))).scalars())
                rows += conn.execute(_scored_query(ItemFilter()).where(story.in_(chunk))
                                     .order_by(_when().desc(), items.c.id.desc())).all()
        copies: dict[int, list[ScoredItem]] = {story_id: [] for story_id in story_ids}
        for row in self._with_labels(rows):
            copies[row.story_id].append(row)
        return [ScoredStory(story_id, tuple(copies[story_id]),
                            frozenset(c.item.id for c in copies[story_id] if c.item.id in matched))
                for story_id in story_ids]

    def scored_item(self, item_id: int) -> "ScoredItem | None":
        with self.engine.connect() as conn:
            rows = conn.execute(_scored_query(ItemFilter()).where(items.c.id == item_id)).all()
        found = self._with_labels(rows)
        return found[0] if found else None

    def near_threshold(self, thresholds: Mapping[str, float], limit: int = 30,
                       scan: int = 2000) -> list[tuple["ScoredItem", str]]:
        """(item, topic) pairs the model is least sure about, closest to the threshold first.

        Only the ``scan`` most recent scored items are considered, and a pair already labeled is
        skipped: labeling what is left teaches the model most.
        """
        query = _scored_query(ItemFilter(scored=True)).order_by(_when().desc(), items.c.id.desc()).limit(scan)
        with self.engine.connect() as conn:
            scored = self._with_labels(conn.execute(query).all())
        pairs = [(abs(row.prediction.scores[topic] - threshold), row, topic)
                 for row in scored if row.prediction is not None
                 for topic, threshold in thresholds.items()
                 if topic in row.prediction.scores and topic not in row.labels]
        pairs.sort(key=lambda pair: pair[0])
        return [(row, topic) for _, row, topic in pairs[:limit]]

    def tagged_per_day(self, topics: Sequence[str], since: datetime) -> dict[str, dict[str, int]]:
        """topic → {"YYYY-MM-DD": items tagged with it (by their latest prediction) that day}."""
        latest = _latest()
        day = sa.func.date(_when())
        counts: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for topic in topics:
                query = (sa.select(day.label("day"), sa.func.count().label("n"))
                         .select_from(items.join(latest, latest.c.item_id == items.c.id))
                         .where(_when() >= since, latest.c.tags.contains(f'"{topic}"', autoescape=True))
                         .group_by(day))
                counts[topic] = {str(row.day): row.n for row in conn.execute(query)}
        return counts

    def _with_labels(self, rows: Sequence[sa.Row]) -> list["ScoredItem"]:  # type: ignore[type-arg]
        by_key: dict[str, dict[str, Label]] = {}
        for label in self.labels_for(row.key for row in rows):
            by_key.setdefault(label.item_key, {})[label.topic] = label
        return [_scored_item(row._mapping, by_key.get(row.key, {})) for row in rows]

    # ---- end of issue 7 block ----


def _chunks(values: Sequence[object], size: int = 500) -> Iterable[Sequence[object]]:
    """Slices small enough for any database's limit on bound parameters."""
    return (values[i:i + size] for i in range(0, len(values), size))


def _story() -> sa.ColumnElement[int]:
    """An item's story: the one clustering gave it, else (never clustered) a story of its own."""
    return sa.func.coalesce(items.c.story_id, items.c.id)


def _item_query() -> sa.Select:  # type: ignore[type-arg]
    return (sa.select(items, feeds.c.url.label("feed_url"))
            .select_from(items.join(feeds, feeds.c.id == items.c.feed_id)))


def _latest_labels_query() -> sa.Select:  # type: ignore[type-arg]
    newest = sa.select(sa.func.max(labels.c.id)).group_by(labels.c.item_key, labels.c.topic)
    return sa.select(labels).where(labels.c.id.in_(newest))


def _label(row: Mapping[str, object]) -> Label:
    return Label(**{name: row[name] for name in Label.__dataclass_fields__})  # type: ignore[arg-type]


def _item(row: Mapping[str, object]) -> Item:
    return Item(id=row["id"], key=row["key"], title=row["title"], summary=row["summary"], text=row["text"],  # type: ignore[arg-type]
                url=row["url"], guid=row["guid"], published=row["published_at"], feed_url=row["feed_url"],
                story_id=row["story_id"])  # type: ignore[arg-type]


def _feed_row(row: Mapping[str, object]) -> FeedRow:
    return FeedRow(
        id=row["id"], url=row["url"], name=row["name"],  # type: ignore[arg-type]
        validators=Validators(etag=row["etag"], last_modified=row["last_modified"]),  # type: ignore[arg-type]
        last_checked_at=row["last_checked_at"], last_success_at=row["last_success_at"],  # type: ignore[arg-type]
        last_error=row["last_error"], consecutive_failures=row["consecutive_failures"],  # type: ignore[arg-type]
        last_new_item_at=row["last_new_item_at"], items_stored=row["items_stored"],  # type: ignore[arg-type]
        next_attempt_at=row["next_attempt_at"], fetch_url=row["fetch_url"],  # type: ignore[arg-type]
    )


def _outbox_entry(row: Mapping[str, object]) -> OutboxEntry:
    return OutboxEntry(**{name: row[name] for name in OutboxEntry.__dataclass_fields__})  # type: ignore[arg-type]


# ---- issue 7 (web review page): records and query helpers ----

@dataclass(frozen=True)
class ItemFilter:
    """What the inbox asks for; None means "either". ``topic`` scopes ``tagged`` and ``labeled``."""

    topic: str | None = None
    feed_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    tagged: bool | None = None
    labeled: bool | None = None
    search: str | None = None
    scored: bool = False
    """Only items that have a prediction."""


@dataclass(frozen=True)
class ScoredItem:
    """A stored item with its feed's name, its latest prediction and its latest label per topic."""

    item: Item
    feed_name: str
    fetched_at: datetime
    model_version: str | None
    prediction: Prediction | None
    labels: Mapping[str, Label]
    story_id: int
    """Its story (see ``_story``)."""

    @property
    def when(self) -> datetime:
        return self.item.published or self.fetched_at


@dataclass(frozen=True)
class ScoredStory:
    """The stored items of one story, newest first, and which of them an inbox filter matched."""

    story_id: int
    copies: tuple[ScoredItem, ...]
    matched_ids: frozenset[int]

    @property
    def matching(self) -> tuple[ScoredItem, ...]:
        """The copies the filter matched; all of them when a label given meanwhile made none match any more."""
        return tuple(c for c in self.copies if c.item.id in self.matched_ids) or self.copies


def _when() -> sa.ColumnElement[datetime]:
    """When an item happened: its published date, else when we fetched it."""
    return sa.func.coalesce(items.c.published_at, items.c.fetched_at, type_=UTCDateTime())


def _latest() -> sa.Subquery:
    """Each item's most recent prediction (a newer model's scores replace an older one's)."""
    ranked = sa.select(predictions, sa.func.row_number().over(
        partition_by=predictions.c.item_id,
        order_by=(predictions.c.created_at.desc(), predictions.c.model_version.desc())).label("rank")).subquery()
    return sa.select(ranked).where(ranked.c.rank == 1).subquery("latest")


def _scored_query(where: ItemFilter) -> sa.Select:  # type: ignore[type-arg]
    latest = _latest()
    query = (sa.select(items, feeds.c.url.label("feed_url"), feeds.c.name.label("feed_name"), _story().label("story"),
                       latest.c.model_version, latest.c.scores, latest.c.tags, latest.c.why)
             .select_from(items.join(feeds, feeds.c.id == items.c.feed_id)
                          .outerjoin(latest, latest.c.item_id == items.c.id)))
    return query.where(*_conditions(where, latest.c.tags))


def _conditions(where: ItemFilter, tags: sa.ColumnElement[str]) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if where.scored:
        conditions.append(tags.is_not(None))
    if where.feed_id is not None:
        conditions.append(items.c.feed_id == where.feed_id)
    if where.since is not None:
        conditions.append(_when() >= where.since)
    if where.until is not None:
        conditions.append(_when() < where.until)
    if where.search:
        conditions.append(sa.func.lower(items.c.title).contains(where.search.lower(), autoescape=True))
    if where.tagged is not None:
        tagged = (tags.contains(f'"{where.topic}"', autoescape=True) if where.topic
                  else sa.and_(tags.is_not(None), tags != "[]"))
        conditions.append(tagged if where.tagged else sa.or_(tags.is_(None), sa.not_(tagged)))
    if where.labeled is not None:
        labeled = sa.exists().where(labels.c.item_key == items.c.key)
        if where.topic:
            labeled = labeled.where(labels.c.topic == where.topic)
        conditions.append(labeled if where.labeled else sa.not_(labeled))
    return conditions


def _scored_item(row: Mapping[str, object], item_labels: dict[str, Label]) -> ScoredItem:
    prediction = None
    if row["scores"] is not None:
        prediction = Prediction(scores=json.loads(row["scores"]), tags=tuple(json.loads(row["tags"])),  # type: ignore[arg-type]
                                why={t: tuple(w) for t, w in json.loads(row["why"]).items()})  # type: ignore[arg-type]
    return ScoredItem(item=_item(row), feed_name=row["feed_name"], fetched_at=row["fetched_at"],  # type: ignore[arg-type]
                      model_version=row["model_version"], prediction=prediction, labels=item_labels,  # type: ignore[arg-type]
                      story_id=row["story"])  # type: ignore[arg-type]
