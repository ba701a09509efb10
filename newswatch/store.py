"""The one place that speaks SQL: schema, feeds and their health, items, predictions, the outbox.

SQLAlchemy Core keeps one code path for SQLite (the embedded default) and PostgreSQL. Uniqueness is
enforced by constraints (item key, outbox channel + digest key), so concurrent writers cannot create
duplicates even without locks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

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
    sa.UniqueConstraint("channel", "dedupe_key", name="uq_outbox_channel_dedupe_key"),
)

# labels (minimal, issue 7; issue 3 owns the full version): the latest row per item_key + topic wins
labels = sa.Table(
    "labels", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_key", sa.Text, nullable=False),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("value", sa.Boolean, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_labels_item_key_topic", "item_key", "topic"),
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
        metadata.create_all(self.engine)

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

    def mark_sent(self, entry_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(
                status="sent", sent_at=now, attempts=outbox.c.attempts + 1, last_error=None))

    def mark_failed(self, entry_id: int, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(
                status="failed", attempts=outbox.c.attempts + 1, last_error=error))

    # ---- issue 7 (web review page): labels, scored-item queries, review queue, tagged per day ----
    # Kept together so the merge with issue 3's labels is mechanical: same table, same method names.

    def add_label(self, item_key: str, topic: str, value: bool, author: str, source: str,
                  now: datetime | None = None) -> "Label":
        label = Label(item_key, topic, bool(value), author, source, now or utcnow())
        with self.engine.begin() as conn:
            conn.execute(labels.insert().values(item_key=item_key, topic=topic, value=label.value, author=author,
                                                source=source, created_at=label.created_at))
        return label

    def labels_for(self, item_keys: Iterable[str]) -> list["Label"]:
        """The latest label per item key and topic (older ones are history)."""
        keys = list(set(item_keys))
        if not keys:
            return []
        latest: dict[tuple[str, str], Label] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(keys, 500):
                for row in conn.execute(sa.select(labels).where(labels.c.item_key.in_(chunk)).order_by(labels.c.id)):
                    latest[row.item_key, row.topic] = Label(row.item_key, row.topic, bool(row.value), row.author,
                                                            row.source, row.created_at)
        return list(latest.values())

    def scored_items(self, where: "ItemFilter | None" = None, limit: int | None = 50,
                     offset: int = 0) -> list["ScoredItem"]:
        """Stored items, newest first, each with its latest prediction and its latest labels."""
        query = (_scored_query(where or ItemFilter()).order_by(_when().desc(), items.c.id.desc())
                 .limit(limit).offset(offset))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return self._with_labels(rows)

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


# ---- issue 7 (web review page): records and query helpers ----

@dataclass(frozen=True)
class Label:
    item_key: str
    topic: str
    value: bool
    author: str
    source: str
    created_at: datetime


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

    @property
    def when(self) -> datetime:
        return self.item.published or self.fetched_at


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
    query = (sa.select(items, feeds.c.url.label("feed_url"), feeds.c.name.label("feed_name"),
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
                      model_version=row["model_version"], prediction=prediction, labels=item_labels)  # type: ignore[arg-type]


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]

# ---- end of issue 7 records and helpers ----
