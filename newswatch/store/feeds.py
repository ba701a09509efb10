"""Feeds: their rows, health (failures as data, as Miniflux keeps them) and the lease that keeps two runs
from fetching one feed at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Collection, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..models import Feed, Validators
from ..normalize import storable
from .schema import UTCDateTime, _chunks, _insert, feed_label, feeds, items


POLL_GRACE = timedelta(seconds=10)


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    name: str
    """What the feed is shown by: the config's name, else the feed's own title, else its URL."""
    validators: Validators
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    last_new_item_at: datetime | None
    items_stored: int = 0
    next_attempt_at: datetime | None = None
    """Failure backoff: no fetch before this, whoever asks."""
    fetch_url: str | None = None
    next_poll_at: datetime | None = None
    """Adaptive polling: the scheduled cycle (``due_only``) leaves the feed alone before this."""

    def due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or self.next_attempt_at <= now

    def poll_due(self, now: datetime) -> bool:
        # the grace lets a cycle that starts a few seconds earlier than the last one still poll a feed due then
        return self.next_poll_at is None or self.next_poll_at <= now + POLL_GRACE


class FeedStore:
    engine: Engine

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
        query = (sa.select(feeds, feed_label.label("feed_name"),
                           sa.func.coalesce(counts.c.n, 0).label("items_stored"))
                 .select_from(feeds.outerjoin(counts, counts.c.feed_id == feeds.c.id)).order_by(feeds.c.id))
        with self.engine.connect() as conn:
            return [_feed_row(row._mapping) for row in conn.execute(query)]

    def feed_names(self) -> list[tuple[int, str]]:
        """(id, name) of every feed, in the order they were added: what the inbox offers to filter on, without
        ``feed_rows``' count of every feed's items (a read of every item, on each page)."""
        with self.engine.connect() as conn:
            query = sa.select(feeds.c.id, feed_label.label("feed_name")).order_by(feeds.c.id)
            return [(row.id, row.feed_name) for row in conn.execute(query)]

    def names_by_url(self) -> dict[str, str]:
        """Each feed's URL → the name it is shown by, for what names an item's source by its feed URL."""
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(feeds.c.url, feed_label)).tuples().all())

    def feed_row(self, feed_id: int) -> FeedRow:
        return self.feed_rows_of([feed_id])[feed_id]

    def feed_rows_of(self, feed_ids: Collection[int]) -> dict[int, FeedRow]:
        """These feeds' rows (id → row), without ``feed_rows``' counts of their items: what a cycle reads once, at its
        start, to see which feeds it leaves alone."""
        rows: dict[int, FeedRow] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(feed_ids)):
                rows.update((row.id, _feed_row(row._mapping))
                            for row in conn.execute(sa.select(*_ROW_COLUMNS).where(feeds.c.id.in_(chunk))))
        return rows

    def arrivals(self, feed_id: int, since: datetime) -> Arrivals:
        """How many items of the feed appeared since ``since``, and the first and last of those times.

        An item appeared when it was published (dates are capped at the fetch time when stored), or
        when it was stored if it carries no date."""
        with self.engine.connect() as conn:
            row = conn.execute(_arrivals(since).where(items.c.feed_id == feed_id)).one()
        return row.count, row.first, row.last

    def arrivals_by_feed(self, since: datetime) -> dict[int, Arrivals]:
        """``arrivals`` of every feed with items since ``since`` (feed id → arrivals), in one query."""
        # grouped by the feed's id plus 0, which no index holds: grouped by the column, SQLite's plan walked the whole
        # index on the feed and date (every item ever stored) instead of the window's items on the date's index
        feed_id = (items.c.feed_id + sa.literal_column("0")).label("feed_id")
        with self.engine.connect() as conn:
            return {row.feed_id: (row.count, row.first, row.last)
                    for row in conn.execute(_arrivals(since, feed_id).group_by(feed_id))}

    def record_success(self, feed_id: int, validators: Validators, new_items: int, now: datetime,
                       fetch_url: str | None = None, next_poll_at: datetime | None = None,
                       title: str | None = None, lease_owner: str | None = None) -> None:
        """A fetch that worked; ``title`` is the feed's own, when it was parsed (not after a 304). The same write
        releases the lease of ``lease_owner``, where given (``release_feed_lease``)."""
        values: dict[str, object] = dict(etag=validators.etag, last_modified=validators.last_modified,
                                         last_checked_at=now, last_success_at=now, last_error=None,
                                         consecutive_failures=0, next_attempt_at=None, next_poll_at=next_poll_at,
                                         **_released(lease_owner))
        if title:
            values["title"] = title
        if new_items:
            values["last_new_item_at"] = now
        if fetch_url:
            values["fetch_url"] = fetch_url
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))

    def record_failure(self, feed_id: int, error: str, now: datetime, next_attempt_at: datetime | None = None,
                       lease_owner: str | None = None) -> None:
        """A fetch that failed, ``error`` saying why; releases ``lease_owner``'s lease as ``record_success`` does."""
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(
                last_checked_at=now, last_error=storable(error), consecutive_failures=feeds.c.consecutive_failures + 1,
                next_attempt_at=next_attempt_at, **_released(lease_owner)))

    def acquire_feed_lease(self, feed_id: int, owner: str, now: datetime, duration: timedelta) -> FeedRow | None:
        """Take the feed for ``duration`` unless another run holds an unexpired lease on it; returns the feed's row as
        it is under the lease (None when it was not taken)."""
        with self.engine.begin() as conn:
            taken = conn.execute(feeds.update().where(
                feeds.c.id == feed_id, sa.or_(feeds.c.lease_until.is_(None), feeds.c.lease_until <= now),
            ).values(lease_owner=owner, lease_until=now + duration).returning(*_ROW_COLUMNS)).one_or_none()
        return None if taken is None else _feed_row(taken._mapping)

    def release_feed_lease(self, feed_id: int, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id, feeds.c.lease_owner == owner)
                         .values(lease_owner=None, lease_until=None))


Arrivals = tuple[int, datetime | None, datetime | None]
"""How many items a feed published in a time window, and the first and last of their times (``arrivals``)."""

_ROW_COLUMNS = (*feeds.c, feed_label.label("feed_name"), sa.literal(0).label("items_stored"))
"""A feed's row without its count of items (which reads every one of them)."""


def _arrivals(since: datetime, *columns: sa.ColumnElement) -> sa.Select:  # type: ignore[type-arg]
    """The count, first and last of the items that appeared since ``since`` (``FeedStore.arrivals``), after ``columns``."""
    appeared = sa.func.coalesce(items.c.published_at, items.c.fetched_at, type_=UTCDateTime)
    return sa.select(*columns, sa.func.count().label("count"), sa.func.min(appeared, type_=UTCDateTime).label("first"),
                     sa.func.max(appeared, type_=UTCDateTime).label("last")).where(appeared >= since)


def _released(lease_owner: str | None) -> dict[str, object]:
    """The values of a write to a feed's row that also ends ``lease_owner``'s lease (none when not given, or when the
    lease has passed to another run since)."""
    if lease_owner is None:
        return {}
    holds = feeds.c.lease_owner == lease_owner
    return {"lease_owner": sa.case((holds, None), else_=feeds.c.lease_owner),
            "lease_until": sa.case((holds, None), else_=feeds.c.lease_until)}


def _feed_row(row: Mapping[str, object]) -> FeedRow:
    return FeedRow(
        id=row["id"], url=row["url"], name=row["feed_name"],  # type: ignore[arg-type]
        validators=Validators(etag=row["etag"], last_modified=row["last_modified"]),  # type: ignore[arg-type]
        last_checked_at=row["last_checked_at"], last_success_at=row["last_success_at"],  # type: ignore[arg-type]
        last_error=row["last_error"], consecutive_failures=row["consecutive_failures"],  # type: ignore[arg-type]
        last_new_item_at=row["last_new_item_at"], items_stored=row["items_stored"],  # type: ignore[arg-type]
        next_attempt_at=row["next_attempt_at"], fetch_url=row["fetch_url"],  # type: ignore[arg-type]
        next_poll_at=row["next_poll_at"],  # type: ignore[arg-type]
    )

