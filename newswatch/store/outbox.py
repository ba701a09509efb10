"""The outbox: messages owed to channels, their claims and outcomes, and what each channel's digests took."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..models import Match, Prediction
from .items import _item
from .schema import (_chunks, _insert, alerted_items, digest_items, digest_watermarks, feed_label, feeds, items, outbox,
                     predictions)

STATUSES = ("pending", "sending", "failed", "sent", "dead", "dropped")
"""``dead``: refused for good, or out of attempts; kept until ``outbox retry`` or ``outbox drop``."""


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


class _TakenElsewhere(Exception):
    """Another digest took some of the items first."""


class Obligations:
    """What newly saved predictions owe, written in the transaction that saves them (see save_predictions)."""

    def __init__(self, conn: sa.Connection):
        self._conn = conn

    def take_for_alert(self, channel: str, item_ids: Sequence[int]) -> set[int]:
        """Record these items as alerted on this channel; return those no alert of the channel had taken."""
        taken: set[int] = set()
        for chunk in _chunks(sorted(set(item_ids))):
            taken.update(self._conn.execute(
                _insert(alerted_items, self._conn.dialect.name).on_conflict_do_nothing()
                .values([{"channel": channel, "item_id": item_id} for item_id in chunk])
                .returning(alerted_items.c.item_id)).scalars())
        return taken

    def enqueue(self, channel: str, message: Mapping[str, object]) -> None:
        OutboxStore._enqueue(self._conn, dict(channel=channel, **message))


class OutboxStore:
    engine: Engine

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
        """Messages still to deliver (pending, being sent, failed and waiting for a retry)."""
        query = sa.select(outbox).where(outbox.c.status.in_(("pending", "sending", "failed"))).order_by(outbox.c.id)
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

    def mark_sent(self, entry_id: int, now: datetime, note: str | None = None) -> None:
        """Sent; ``note`` keeps what the channel refused of it (recipients a mail server turned away)."""
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(
                status="sent", sent_at=now, attempts=outbox.c.attempts + 1, last_error=note, next_attempt_at=None))

    def mark_dead(self, entry_id: int, error: str) -> None:
        """Refused for good or out of attempts: no longer tried, no longer ahead of the channel's other messages."""
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(
                status="dead", attempts=outbox.c.attempts + 1, last_error=error, next_attempt_at=None))

    def revive(self, entry_id: int) -> bool:
        """A dead message owed again from scratch (``outbox retry``); False when it is not dead."""
        with self.engine.begin() as conn:
            result = conn.execute(outbox.update().where(outbox.c.id == entry_id, outbox.c.status == "dead")
                                  .values(status="pending", attempts=0, next_attempt_at=None, claimed_at=None))
        return result.rowcount == 1

    def drop(self, entry_id: int) -> bool:
        """Give up a message that is owed or dead (``outbox drop``); it is kept, marked dropped. False when it is
        sent, being sent, or unknown."""
        with self.engine.begin() as conn:
            result = conn.execute(outbox.update().where(outbox.c.id == entry_id,
                                                        outbox.c.status.in_(("pending", "failed", "dead")))
                                  .values(status="dropped", next_attempt_at=None))
        return result.rowcount == 1

    def mark_failed(self, entry_id: int, error: str, retry_at: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == entry_id).values(
                status="failed", attempts=outbox.c.attempts + 1, last_error=error, next_attempt_at=retry_at))

    def tagged_between(self, since: datetime | None, until: datetime, not_taken_by: str | None = None
                       ) -> list[Match]:
        """Items first scored in (since, until], each with its newest prediction up to ``until``, tagged or
        not (a channel may set its own threshold). An item re-scored later by a new model is not new.
        ``not_taken_by`` leaves out the items that channel's digests have already taken."""
        # first scored in (since, until]: scored in it, and not before it. Read through the index on when predictions
        # were made, not by grouping every prediction of the store for each item's first (0.4-0.6 s a digest over a
        # million items, every cycle for a channel that digests every cycle)
        made = predictions.alias("made")
        scored_in_window = sa.select(made.c.item_id).where(made.c.created_at <= until)
        if since is not None:
            scored_in_window = scored_in_window.where(made.c.created_at > since)
            before = predictions.alias("before")
            scored_before = sa.exists().where(before.c.item_id == predictions.c.item_id, before.c.created_at <= since)
        query = (sa.select(items, feeds.c.url.label("feed_url"), feed_label.label("feed_name"),
                           predictions.c.scores, predictions.c.tags, predictions.c.why)
                 .select_from(predictions.join(items, items.c.id == predictions.c.item_id)
                              .join(feeds, feeds.c.id == items.c.feed_id))
                 .where(predictions.c.created_at <= until, predictions.c.item_id.in_(scored_in_window))
                 .order_by(predictions.c.created_at))
        if since is not None:
            query = query.where(~scored_before)
        if not_taken_by is not None:
            # NOT EXISTS, not NOT IN: past work_mem PostgreSQL compared every item with every item the channel had
            # taken (a digest over a million taken items ran for more than ten minutes); this is an anti-join
            taken = sa.exists().where(digest_items.c.channel == not_taken_by, digest_items.c.item_id == items.c.id)
            query = query.where(~taken)
        latest: dict[int, Match] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                why = {topic: tuple(terms) for topic, terms in json.loads(row.why).items()}
                prediction = Prediction(scores=json.loads(row.scores), tags=tuple(json.loads(row.tags)), why=why)
                latest[row.id] = Match(_item(row._mapping), prediction, row.feed_name)
        return list(latest.values())


def _outbox_entry(row: Mapping[str, object]) -> OutboxEntry:
    return OutboxEntry(**{name: row[name] for name in OutboxEntry.__dataclass_fields__})  # type: ignore[arg-type]


