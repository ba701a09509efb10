"""Saved queries: an analyst's standing questions, by name (a channel's filter, a feed of matches)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .queries import ItemFilter, _scored_query
from .schema import _chunks, items, saved_queries


@dataclass(frozen=True)
class SavedQuery:
    """Items matching all of: the search text, any of the topics, any of the feeds, any of the languages,
    the minimum score; an empty part matches everything."""

    name: str
    text: str = ""
    topics: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    """Feed URLs, as configured."""
    languages: tuple[str, ...] = ()
    min_score: float | None = None
    created_at: datetime | None = None

    def item_filter(self, all_topics: Sequence[str]) -> ItemFilter:
        """The query as a store filter; a minimum score without topics applies to each of ``all_topics`` (the config's)."""
        topics = self.topics or (tuple(all_topics) if self.min_score is not None else ())
        return ItemFilter(search=self.text or None, topics=topics, feed_urls=self.feeds,
                          languages=self.languages, min_score=self.min_score)


class SavedQueryExists(ValueError):
    """A saved query by that name is already stored."""


class SavedQueryStore:
    engine: Engine

    def add_saved_query(self, query: SavedQuery, now: datetime) -> None:
        row = dict(name=query.name, text=query.text, topics=json.dumps(list(query.topics)),
                   feeds=json.dumps(list(query.feeds)), languages=json.dumps(list(query.languages)),
                   min_score=query.min_score, created_at=query.created_at or now)
        try:
            with self.engine.begin() as conn:
                conn.execute(saved_queries.insert().values(**row))
        except IntegrityError:
            raise SavedQueryExists(f"a saved query named {query.name!r} exists already "
                                   "(newswatch queries remove it first)") from None

    def saved_queries(self) -> list[SavedQuery]:
        with self.engine.connect() as conn:
            return [_saved(row._mapping) for row in conn.execute(saved_queries.select().order_by(saved_queries.c.name))]

    def saved_query(self, name: str) -> SavedQuery | None:
        with self.engine.connect() as conn:
            row = conn.execute(saved_queries.select().where(saved_queries.c.name == name)).first()
        return None if row is None else _saved(row._mapping)

    def remove_saved_query(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(saved_queries.delete().where(saved_queries.c.name == name)).rowcount == 1

    def matching_ids(self, where: ItemFilter, item_ids: Sequence[int]) -> set[int]:
        """Which of these items match ``where`` (a channel's saved query over a cycle's or a digest's items)."""
        query = _scored_query(where, self.engine.dialect.name).with_only_columns(items.c.id)
        found: set[int] = set()
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(item_ids))):
                found.update(conn.execute(query.where(items.c.id.in_(chunk))).scalars())
        return found


def _saved(row: Mapping[str, object]) -> SavedQuery:
    return SavedQuery(name=row["name"], text=row["text"], topics=tuple(json.loads(row["topics"])),  # type: ignore[arg-type]
                      feeds=tuple(json.loads(row["feeds"])), languages=tuple(json.loads(row["languages"])),  # type: ignore[arg-type]
                      min_score=row["min_score"], created_at=row["created_at"])  # type: ignore[arg-type]
