"""Read-only views: stories with their scored copies and labels (the review page), items newest first (search,
the API, saved queries' feeds), the review queue, items tagged per day."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles

from ..models import Item, Label, Prediction
from .items import _in_stories, _item, _story
from .predictions import LabelStore
from .schema import UTCDateTime, _chunks, feed_label, feeds, items, labels, prediction_scores, predictions
from .search import newest_first, searched


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
    """Words and "quoted phrases" that must all appear in the title, summary or text (store.search)."""
    scored: bool = False
    """Only items that have a prediction."""
    topics: tuple[str, ...] = ()
    """Tagged with any of these (or, with ``min_score``, scored at least that for any of them)."""
    min_score: float | None = None
    """A score at least this for any of ``topics``, tagged or not (the caller names every topic for "any")."""
    feed_urls: tuple[str, ...] = ()
    """From any of these feeds (by configured URL)."""
    languages: tuple[str, ...] = ()
    """In any of these languages (ISO 639-1 codes, as normalize.language tells them)."""
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
        """The item as `newswatch items --json` and `search --json` print it and the API serves it (web/api.py's ItemOut)."""
        item, prediction = self.item, self.prediction
        return {"id": item.id, "key": item.key, "feed": self.feed_name, "feed_url": item.feed_url,
                "lang": item.lang, "title": item.title, "summary": item.summary, "url": item.url,
                "published": item.published.isoformat() if item.published else None,
                "fetched_at": self.fetched_at.isoformat(), "story_id": self.story_id,
                "scores": dict(prediction.scores) if prediction else None,
                "tags": list(prediction.tags) if prediction else None, "model_version": self.model_version,
                "labels": {topic: label.value for topic, label in self.labels.items()}}


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


def threshold_distance(score: float, threshold: float) -> float:
    """How far a score sits from a topic's threshold, as a share of the way from the threshold to the end of the
    score range on the score's side: 0 at the threshold, 1 at 0 (below it) or at 1 (above it).

    Why not the plain difference: under a threshold of 0.25 a score of 0.02 is one the model is sure of (92 % of
    the way to 0), while 0.48 is not (31 % of the way to 1), though both lie 0.23 from it."""
    below = threshold if threshold > 0 else 1.0
    above = 1 - threshold if threshold < 1 else 1.0
    return (threshold - score) / below if score < threshold else (score - threshold) / above


def _when() -> sa.ColumnElement[datetime]:
    """When an item happened: its published date, else when we fetched it."""
    return sa.func.coalesce(items.c.published_at, items.c.fetched_at, type_=UTCDateTime())


def _latest() -> sa.ColumnElement[bool]:
    """Join condition: the prediction is its item's most recent (a newer model's scores replace an older one's).

    A correlated lookup through the predictions' primary key, item by item: a query that reads a page of
    items reads only their predictions (a window over every prediction cost seconds at a million items).
    """
    newer = predictions.alias("newer")
    newest = (sa.select(newer.c.model_version).where(newer.c.item_id == items.c.id)
              .order_by(newer.c.created_at.desc(), newer.c.model_version.desc()).limit(1).scalar_subquery())
    return sa.and_(predictions.c.item_id == items.c.id, predictions.c.model_version == newest)


_WALKS = (500, 5_000, 50_000)
"""How many of the newest stored items a page of stories reads, in turn, before it groups every matching item instead."""
_FURTHEST_WALK = 10
"""After the last of ``_WALKS``, one more walk, as long as the share of the page found suggests (a deep page), where
that is at most this many times the last one; past it, grouping every match is the cheaper read."""


def _story_page(conn: sa.Connection, matching: sa.Select, walk: bool,  # type: ignore[type-arg]
                limit: int | None, offset: int, walk_further: bool = False) -> list[int]:
    """The ids of a page of the stories with an item in ``matching``: the story with the newest such item first
    (then the higher story id).

    The newest stored items are read first, through the index on their date, and only their matches ordered: a page
    costs about its own items, not every stored item (grouping a million took seconds a page on both databases). A
    story counts once its newest match is newer than the oldest item read, so the stories found are the order's
    true beginning; where that finds too few (a filter few items match), and with a search (whose matches are few),
    every matching item is grouped instead. ``walk_further`` (a filter no index of its own narrows, so grouping reads
    every item) sizes one more walk from what the last one found: page 20 of a million items' tagged stories. Read
    first by (date, story) or grouped by story, the order is the same."""
    story, when = _story(), _when()
    if walk and limit is not None:
        sizes = list(_WALKS)
        while sizes:
            size = sizes.pop(0)
            newest = sa.select(items.c.id, when.label("when")).order_by(when.desc()).limit(size).subquery()
            read, oldest = conn.execute(sa.select(sa.func.count(), sa.func.min(newest.c.when))).one()
            every_item = read < size
            found = conn.execute(matching.with_only_columns(story, when).where(items.c.id.in_(sa.select(newest.c.id)))
                                 .order_by(when.desc(), story.desc()))
            stories = list(dict.fromkeys(story_id for story_id, moment in found if every_item or moment > oldest))
            if every_item or len(stories) >= offset + limit:
                return stories[offset:offset + limit]
            if walk_further and not sizes and stories and size == _WALKS[-1]:
                # as many items as the stories found so far suggest, and a quarter more
                further = -(-5 * size * (offset + limit) // (4 * len(stories)))
                if further <= _FURTHEST_WALK * size:
                    sizes.append(further)
    page = (matching.with_only_columns(story).group_by(story)
            .order_by(sa.func.max(when).desc(), story.desc()).limit(limit).offset(offset))
    return list(conn.execute(page).scalars())


def _scored_query(where: ItemFilter, dialect: str) -> sa.Select:  # type: ignore[type-arg]
    """Items with their feed, story and latest prediction, as ``where`` filters them (a search needs the
    database's dialect name)."""
    source = items.join(feeds, feeds.c.id == items.c.feed_id).outerjoin(predictions, _latest())
    conditions = _conditions(where, predictions.c.tags, predictions.c.scores)
    if where.search:
        source, matching = searched(source, where.search, dialect)
        conditions += matching
    query = sa.select(items, feeds.c.url.label("feed_url"), feed_label.label("feed_name"), _story().label("story"),
                      predictions.c.model_version, predictions.c.scores, predictions.c.tags, predictions.c.why)
    return query.select_from(source).where(*conditions)


def _conditions(where: ItemFilter, tags: sa.ColumnElement[str],
                scores: sa.ColumnElement[str]) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if where.topics and where.min_score is None:
        conditions.append(sa.or_(*(tags.contains(f'"{topic}"', autoescape=True) for topic in where.topics)))
    if where.min_score is not None:
        if not where.topics:  # the store does not know the config's topics: "any topic" is the caller's list
            raise ValueError("a minimum score needs the topics it applies to")
        conditions.append(sa.or_(*(TopicScore(scores, topic) >= where.min_score for topic in where.topics)))
    if where.feed_urls:
        conditions.append(feeds.c.url.in_(where.feed_urls))
    if where.story_id is not None:
        conditions.append(_in_stories((where.story_id,)))
    if where.languages:
        conditions.append(items.c.lang.in_(where.languages))
    if where.scored:
        conditions.append(tags.is_not(None))
    if where.feed_id is not None:
        conditions.append(items.c.feed_id == where.feed_id)
    if where.since is not None:
        conditions.append(_when() >= where.since)
    if where.until is not None:
        conditions.append(_when() < where.until)
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
        where = where or ItemFilter()
        matching = _scored_query(where, self.engine.dialect.name)
        matched: set[int] = set()
        rows: list[sa.Row] = []
        with self.engine.connect() as conn:
            # a feed, a language, a story or a date has an index that narrows grouping to its own items
            narrowed = (where.feed_urls or where.feed_id is not None or where.languages or where.story_id is not None
                        or where.since is not None)
            story_ids = _story_page(conn, matching, where.search is None, limit, offset, walk_further=not narrowed)
            for chunk in _chunks(story_ids):
                matched.update(conn.execute(matching.with_only_columns(items.c.id).where(_in_stories(chunk))).scalars())
                rows += conn.execute(_scored_query(ItemFilter(), self.engine.dialect.name).where(_in_stories(chunk))
                                     .order_by(_when().desc(), items.c.id.desc())).all()
        copies: dict[int, list[ScoredItem]] = {story_id: [] for story_id in story_ids}
        for row in self._with_labels(rows):
            copies[row.story_id].append(row)
        return [ScoredStory(story_id, tuple(copies[story_id]),
                            frozenset(c.item.id for c in copies[story_id] if c.item.id in matched))
                for story_id in story_ids]

    def scored_items(self, where: "ItemFilter | None" = None, limit: int = 50,
                     before: int | None = None) -> list["ScoredItem"]:
        """The items matching ``where``, newest stored first (by id), with their latest prediction and labels;
        ``before`` (an item id) continues a list where its previous page ended.

        The one listing and search behind ``newswatch search``, the API's /api/items and saved queries'
        feeds. Stored order, not published order: with a search, SQLite's trigram index hands out matches
        in that order, so a page costs a page's worth of work however many items match.
        """
        where = where or ItemFilter()
        dialect = self.engine.dialect.name
        query = _scored_query(where, dialect)
        newest = newest_first(where.search, dialect)
        if before is not None:
            query = query.where(newest < before)
        with self.engine.connect() as conn:
            return self._with_labels(conn.execute(query.order_by(newest.desc()).limit(limit)).all())

    def scored_item(self, item_id: int) -> "ScoredItem | None":
        with self.engine.connect() as conn:
            query = _scored_query(ItemFilter(), self.engine.dialect.name).where(items.c.id == item_id)
            rows = conn.execute(query).all()
        found = self._with_labels(rows)
        return found[0] if found else None

    def nearest_thresholds(self, model_version: str, thresholds: Mapping[str, float],
                           limit: int) -> list[tuple[int, str, float, float]]:
        """(item id, topic, score, its ``threshold_distance``) of this model version's predictions whose score sits
        nearest the topic's threshold, for the topics an item has no label for: the ``limit`` nearest, nearest first,
        then by item id. Near is measured on the score's own side of the threshold, as a share of the way to 0 or 1
        (``threshold_distance``): under a threshold of 0.25, 0.10 is as far as 0.70 is above it.

        Read from the threshold outwards through the scores' index (``prediction_scores``), each side until ``limit``
        unlabeled items are found (the items' labels are looked up on the way). Ordering every prediction instead took
        1.9 s (SQLite) and 2.7 s (PostgreSQL) over a million items, on each review page."""
        found: list[tuple[int, str, float, float]] = []
        scores = prediction_scores.c
        with self.engine.connect() as conn:
            for topic, threshold in thresholds.items():
                unlabeled = (sa.select(scores.item_id, scores.score)
                             .select_from(prediction_scores.join(items, items.c.id == scores.item_id))
                             .where(scores.model_version == model_version, scores.topic == topic,
                                    ~sa.exists().where(labels.c.item_key == items.c.key, labels.c.topic == topic)))
                above = conn.execute(unlabeled.where(scores.score >= threshold)
                                     .order_by(scores.score, scores.item_id).limit(limit)).all()
                below = conn.execute(unlabeled.where(scores.score < threshold)
                                     .order_by(scores.score.desc(), scores.item_id.desc()).limit(limit)).all()
                if len(below) == limit:  # the last score's ties may hold lower item ids than the ones read
                    below += conn.execute(unlabeled.where(scores.score == below[-1].score)).all()
                found += sorted(((item_id, topic, score, threshold_distance(score, threshold))
                                 for item_id, score in {**dict(above), **dict(below)}.items()),
                                key=lambda entry: (entry[3], entry[0]))[:limit]
        return sorted(found, key=lambda entry: (entry[3], entry[0]))[:limit]

    def languages(self) -> list[str]:
        """The languages of the stored items, in alphabetical order: what the inbox offers to filter on.

        Read as a skip scan of ``ix_items_lang``, one index probe per language (``min(lang) … WHERE lang > the last
        one``), on SQLite and PostgreSQL alike: the inbox asks on every page, and grouping every item by language
        read the whole index (a million entries) each time."""
        query = sa.text("WITH RECURSIVE found(lang) AS (SELECT min(lang) FROM items UNION ALL "
                        "SELECT (SELECT min(lang) FROM items WHERE items.lang > found.lang) FROM found "
                        "WHERE found.lang IS NOT NULL) SELECT lang FROM found WHERE lang IS NOT NULL")
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def tagged_per_day(self, topics: Sequence[str], since: datetime) -> dict[str, dict[str, int]]:
        """topic → {"YYYY-MM-DD": items tagged with it (by their latest prediction) that day}."""
        day = sa.func.date(_when())
        counts: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for topic in topics:
                query = (sa.select(day.label("day"), sa.func.count().label("n"))
                         .select_from(items.join(predictions, _latest()))
                         .where(_when() >= since, predictions.c.tags.contains(f'"{topic}"', autoescape=True))
                         .group_by(day))
                counts[topic] = {str(row.day): row.n for row in conn.execute(query)}
        return counts

    def tagged_times(self, topics: Sequence[str], since: datetime, until: datetime) -> dict[str, list[datetime]]:
        """topic → when each item tagged with it (by its latest prediction) happened, in [since, until)."""
        times: dict[str, list[datetime]] = {}
        with self.engine.connect() as conn:
            for topic in topics:
                query = (sa.select(_when().label("at")).select_from(items.join(predictions, _latest()))
                         .where(_when() >= since, _when() < until,
                                predictions.c.tags.contains(f'"{topic}"', autoescape=True)))
                times[topic] = list(conn.execute(query).scalars())
        return times

    def _with_labels(self, rows: Sequence[sa.Row]) -> list["ScoredItem"]:  # type: ignore[type-arg]
        by_key: dict[str, dict[str, Label]] = {}
        for label in self.labels_for(row.key for row in rows):
            by_key.setdefault(label.item_key, {})[label.topic] = label
        return [_scored_item(row._mapping, by_key.get(row.key, {})) for row in rows]


class TopicScore(sa.ColumnElement[float]):
    """One topic's score from a prediction's ``scores`` JSON text, as a number; compiled per database."""

    type = sa.Float()
    inherit_cache = False  # the topic is Python data the statement cache cannot key on

    def __init__(self, scores: sa.ColumnElement[str], topic: str):
        self.scores, self.topic = scores, topic


@compiles(TopicScore, "sqlite")
def _sqlite_score(element: TopicScore, compiler: Any, **kw: Any) -> str:
    return compiler.process(sa.func.json_extract(element.scores, f'$."{element.topic}"'), **kw)


@compiles(TopicScore, "postgresql")
def _postgres_score(element: TopicScore, compiler: Any, **kw: Any) -> str:
    value = sa.cast(element.scores, postgresql.JSONB).op("->>")(element.topic)
    return compiler.process(sa.cast(value, sa.Float), **kw)
