"""The one place that speaks SQL: schema, feeds and their health, items, predictions, the outbox.

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
from .models import Feed, Item, Prediction, Validators


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
    sa.Index("ix_items_feed_id", "feed_id"),
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
    # when a sender claimed the entry (status 'sending'); a claim older than the lease may be taken over
    sa.Column("claimed_at", UTCDateTime),
    sa.UniqueConstraint("channel", "dedupe_key", name="uq_outbox_channel_dedupe_key"),
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

    def validators(self, feed_id: int) -> Validators:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(feeds.c.etag, feeds.c.last_modified).where(feeds.c.id == feed_id)).one()
        return Validators(etag=row.etag, last_modified=row.last_modified)

    def record_success(self, feed_id: int, validators: Validators, new_items: int, now: datetime) -> None:
        values: dict[str, object] = dict(etag=validators.etag, last_modified=validators.last_modified,
                                         last_checked_at=now, last_success_at=now, last_error=None,
                                         consecutive_failures=0)
        if new_items:
            values["last_new_item_at"] = now
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))

    def record_failure(self, feed_id: int, error: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(
                last_checked_at=now, last_error=error, consecutive_failures=feeds.c.consecutive_failures + 1))

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
        """Store the items whose key is not stored yet and return just those, with their ids."""
        unique: dict[str, Item] = {}
        for item in batch:
            unique.setdefault(item.key, item)
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

    # outbox --------------------------------------------------------------------------------------

    def enqueue(self, channel: str, dedupe_key: str, subject: str, text: str, html: str, markdown: str,
                now: datetime) -> None:
        """Owe this message to this channel, once: enqueueing the same key again changes nothing."""
        with self.engine.begin() as conn:
            conn.execute(_insert(outbox, conn.dialect.name).on_conflict_do_nothing().values(
                channel=channel, dedupe_key=dedupe_key, subject=subject, body_text=text, body_html=html,
                body_markdown=markdown, created_at=now))

    def owed(self, channel: str | None = None) -> list[OutboxEntry]:
        query = sa.select(outbox).where(outbox.c.status != "sent").order_by(outbox.c.id)
        if channel is not None:
            query = query.where(outbox.c.channel == channel)
        with self.engine.connect() as conn:
            return [_outbox_entry(row._mapping) for row in conn.execute(query)]

    def outbox_entries(self) -> list[OutboxEntry]:
        with self.engine.connect() as conn:
            return [_outbox_entry(r._mapping) for r in conn.execute(sa.select(outbox).order_by(outbox.c.id))]

    def claim(self, entry_id: int, now: datetime, lease: timedelta) -> bool:
        """Atomically take an owed entry for sending; False when another sender has it.

        A claim older than ``lease`` is taken over: its sender died between claiming and marking, so
        the message may go out again (at-least-once; the receiver can dedupe on ``dedupe_key``).
        """
        with self.engine.begin() as conn:
            claimed = conn.execute(outbox.update().where(
                outbox.c.id == entry_id,
                sa.or_(outbox.c.status.in_(("pending", "failed")),
                       sa.and_(outbox.c.status == "sending", outbox.c.claimed_at <= now - lease)),
            ).values(status="sending", claimed_at=now))
        return claimed.rowcount == 1

    def mark_sent(self, entry_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(
                status="sent", sent_at=now, attempts=outbox.c.attempts + 1, last_error=None))

    def mark_failed(self, entry_id: int, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(
                status="failed", attempts=outbox.c.attempts + 1, last_error=error))


def _item_query() -> sa.Select:  # type: ignore[type-arg]
    return (sa.select(items, feeds.c.url.label("feed_url"))
            .select_from(items.join(feeds, feeds.c.id == items.c.feed_id)))


def _item(row: Mapping[str, object]) -> Item:
    return Item(id=row["id"], key=row["key"], title=row["title"], summary=row["summary"], text=row["text"],  # type: ignore[arg-type]
                url=row["url"], guid=row["guid"], published=row["published_at"], feed_url=row["feed_url"])  # type: ignore[arg-type]


def _feed_row(row: Mapping[str, object]) -> FeedRow:
    return FeedRow(
        id=row["id"], url=row["url"], name=row["name"],  # type: ignore[arg-type]
        validators=Validators(etag=row["etag"], last_modified=row["last_modified"]),  # type: ignore[arg-type]
        last_checked_at=row["last_checked_at"], last_success_at=row["last_success_at"],  # type: ignore[arg-type]
        last_error=row["last_error"], consecutive_failures=row["consecutive_failures"],  # type: ignore[arg-type]
        last_new_item_at=row["last_new_item_at"], items_stored=row["items_stored"],  # type: ignore[arg-type]
    )


def _outbox_entry(row: Mapping[str, object]) -> OutboxEntry:
    return OutboxEntry(**{name: row[name] for name in OutboxEntry.__dataclass_fields__})  # type: ignore[arg-type]
