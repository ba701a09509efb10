"""The review page's read-only views: stories with their scored copies and labels, the review queue,
items tagged per day."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..models import Item, Label, Prediction
from .items import _item, _story
from .predictions import LabelStore
from .schema import UTCDateTime, _chunks, feeds, items, labels, predictions


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
    lang: str | None = None
    """Only items in this language (ISO 639-1 code, as normalize.language tells it)."""
    story_id: int | None = None
    """Only the copies of this story."""


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

    def as_json(self) -> dict[str, Any]:
        """The item as `newswatch items --json` prints it (and an API would serve it)."""
        item, prediction = self.item, self.prediction
        return {"id": item.id, "feed": self.feed_name, "feed_url": item.feed_url, "lang": item.lang,
                "title": item.title, "url": item.url,
                "published": item.published.isoformat() if item.published else None,
                "fetched_at": self.fetched_at.isoformat(), "story_id": self.story_id,
                "scores": dict(prediction.scores) if prediction else None,
                "tags": list(prediction.tags) if prediction else None, "model_version": self.model_version}


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
    if where.lang is not None:
        conditions.append(items.c.lang == where.lang)
    if where.story_id is not None:
        conditions.append(_story() == where.story_id)
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


class PageQueries(LabelStore):
    """Read-only views; the labels shown come from ``LabelStore.labels_for``."""

    engine: Engine

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

    def scored_items(self, where: "ItemFilter | None" = None, limit: int | None = 50) -> list["ScoredItem"]:
        """Stored items that match ``where``, newest first (published, else fetched), with their latest
        prediction and labels."""
        query = _scored_query(where or ItemFilter()).order_by(_when().desc(), items.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return self._with_labels(conn.execute(query).all())

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

    def languages(self) -> list[str]:
        """The languages of the stored items, most items first: what the inbox offers to filter on."""
        query = sa.select(items.c.lang).group_by(items.c.lang).order_by(sa.func.count().desc(), items.c.lang)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

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

    def tagged_times(self, topics: Sequence[str], since: datetime, until: datetime) -> dict[str, list[datetime]]:
        """topic → when each item tagged with it (by its latest prediction) happened, in [since, until)."""
        latest = _latest()
        times: dict[str, list[datetime]] = {}
        with self.engine.connect() as conn:
            for topic in topics:
                query = (sa.select(_when().label("at")).select_from(items.join(latest, latest.c.item_id == items.c.id))
                         .where(_when() >= since, _when() < until,
                                latest.c.tags.contains(f'"{topic}"', autoescape=True)))
                times[topic] = list(conn.execute(query).scalars())
        return times

    def _with_labels(self, rows: Sequence[sa.Row]) -> list["ScoredItem"]:  # type: ignore[type-arg]
        by_key: dict[str, dict[str, Label]] = {}
        for label in self.labels_for(row.key for row in rows):
            by_key.setdefault(label.item_key, {})[label.topic] = label
        return [_scored_item(row._mapping, by_key.get(row.key, {})) for row in rows]
