"""Predictions (one per item and model version) and analysts' labels (append-only, the latest per item
and topic counts; each keeps the item's text so it outlives the item)."""

from __future__ import annotations

import json
from datetime import datetime
from itertools import islice
from typing import Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..models import Item, Label, Prediction
from ..normalize import storable
from .outbox import Obligations
from .schema import _chunks, _insert, labels, prediction_scores, predictions, unscored_items

Owe = Callable[[Obligations, frozenset[int]], None]
"""Called in the transaction that saves predictions, with the ids of the items scored for the first time."""


class PredictionStore:
    engine: Engine

    def save_predictions(self, model_version: str, scored: Sequence[tuple[Item, Prediction]], now: datetime,
                         owe: Owe | None = None) -> frozenset[int]:
        """Record each item's prediction by this model version (once: a prediction already saved, by another
        process say, is kept) and, in the same transaction, what the new ones owe (``owe``). Returns the ids
        of the items scored for the first time by any model.
        """
        if not scored:
            return frozenset()
        rows = [dict(item_id=item.id, model_version=model_version, scores=json.dumps(dict(p.scores)),
                     tags=json.dumps(list(p.tags)), why=json.dumps({k: list(v) for k, v in p.why.items()}),
                     created_at=now) for item, p in scored]
        ids = sorted({item.id for item, _ in scored if item.id is not None})
        with self.engine.begin() as conn:
            # an item is owed no more once scored: taking it out first also makes a second process saving it at the
            # same moment wait, and then find it taken (on PostgreSQL: the row's lock), so one of them owes its alerts
            first: set[int] = set()
            for chunk in _chunks(ids):
                first.update(conn.execute(unscored_items.delete().where(unscored_items.c.item_id.in_(chunk))
                                          .returning(unscored_items.c.item_id)).scalars())
            # the rows as parameters (not .values(rows)), so SQLAlchemy compiles the statement once and batches it
            conn.execute(_insert(predictions, conn.dialect.name).on_conflict_do_nothing(), rows)
            score_rows = [dict(item_id=item.id, model_version=model_version, topic=topic, score=float(score))
                          for item, p in scored for topic, score in p.scores.items()]
            if score_rows:
                conn.execute(_insert(prediction_scores, conn.dialect.name).on_conflict_do_nothing(), score_rows)
            if owe is not None and first:
                owe(Obligations(conn), first)
        return frozenset(first)


LABEL_BATCH = 500
"""Labels compared and inserted at once: one query and one insert per batch, memory bounded by it."""


def _add_label_batch(conn: sa.Connection, batch: Sequence[Label], now: datetime) -> int:
    # the latest labels are read inside the transaction, so earlier batches of the same import count; the
    # newest-per-topic subquery is limited to the batch's keys (its index), not grouped over the whole table
    keys = sorted({storable(label.item_key) for label in batch})
    newest = (sa.select(sa.func.max(labels.c.id)).where(labels.c.item_key.in_(keys))
              .group_by(labels.c.item_key, labels.c.topic))
    current = {(row.item_key, row.topic): (row.value, row.revision)
               for row in conn.execute(sa.select(labels.c.item_key, labels.c.topic, labels.c.value, labels.c.revision)
                                       .where(labels.c.id.in_(newest)))}
    rows = []
    for label in batch:
        key = (storable(label.item_key), label.topic)
        value, revision = current.get(key, (None, -1))
        if value == label.value:
            continue
        current[key] = (label.value, revision + 1)
        rows.append(dict(item_key=key[0], topic=label.topic, value=label.value, revision=revision + 1,
                         author=storable(label.author), source=storable(label.source), title=storable(label.title),
                         summary=storable(label.summary), text=storable(label.text),
                         url=storable(label.url) if label.url else None, created_at=label.created_at or now))
    if not rows:
        return 0
    # another importer that wrote a revision first wins it: the unique index turns this one's copy into nothing
    return len(conn.execute(_insert(labels, conn.dialect.name).on_conflict_do_nothing()
                            .values(rows).returning(labels.c.id)).all())


class LabelStore:
    engine: Engine

    def add_labels(self, labels_: Iterable[Label], now: datetime) -> int:
        """Record the labels that change an item's current judgement, all or none; return how many.

        A label equal to the latest one for its item and topic adds nothing, so importing the same
        file twice, or saying the same thing twice, leaves the store as it was. ``labels_`` is consumed
        in batches of LABEL_BATCH inside one transaction, so a file of any size is imported in flat memory,
        and an error raised while iterating (a malformed line further on) rolls every batch back. Each label
        recorded is the next revision of its item and topic: when several processes import one file at
        once, they all write the same revisions, the unique index keeps the first and the others add nothing.
        """
        added = 0
        stream = iter(labels_)
        with self.engine.begin() as conn:
            while batch := list(islice(stream, LABEL_BATCH)):
                added += _add_label_batch(conn, batch, now)
        return added

    def latest_labels(self) -> list[Label]:
        """The judgement in force for every labeled item and topic, oldest first."""
        with self.engine.connect() as conn:
            return [_label(row._mapping) for row in conn.execute(_latest_labels_query().order_by(labels.c.id))]

    def labels_for(self, item_keys: Iterable[str]) -> list[Label]:
        """The latest label per item key and topic (older ones are history)."""
        keys = sorted(set(item_keys))
        with self.engine.connect() as conn:
            return [_label(row._mapping) for chunk in _chunks(keys)
                    for row in conn.execute(_latest_labels_query().where(labels.c.item_key.in_(chunk)))]


def _latest_labels_query() -> sa.Select:  # type: ignore[type-arg]
    newest = sa.select(sa.func.max(labels.c.id)).group_by(labels.c.item_key, labels.c.topic)
    return sa.select(labels).where(labels.c.id.in_(newest))


def _label(row: Mapping[str, object]) -> Label:
    return Label(**{name: row[name] for name in Label.__dataclass_fields__})  # type: ignore[arg-type]


