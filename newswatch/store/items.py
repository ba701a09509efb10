"""Items: storing only what is new, full texts, stories, and reading items back."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Collection, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..models import Item
from ..normalize import is_article_url, storable
from .schema import _chunks, _insert, feeds, item_meanings, items, model_progress, predictions, unscored_items


@dataclass(frozen=True)
class ScoringQueue:
    """The next items a model version scores (``Store.classification_queue``), and, where taking them moves it on,
    how far through the store its re-scoring will be once they are all scored (``Store.save_progress``)."""

    items: list[Item]
    scored_through: int | None = None


class ItemStore:
    engine: Engine

    def insert_new(self, feed_id: int, batch: Iterable[Item], now: datetime) -> list[Item]:
        """Store the items not stored yet and return just those, with their ids.

        An item is already stored when its key is, and also when its canonical article URL is (any feed,
        whatever the item's key: items of one fetch that share a link are keyed by GUID, and a feed that
        changes GUIDs must not store an article again) or its GUID is (same feed): that catches a feed that
        changes GUIDs or republishes, and rows stored under an older key scheme. Text is cleaned of what a
        backend refuses (``normalize.storable``) first; the items returned are the cleaned ones.
        """
        unique: dict[str, Item] = {}
        for item in map(_storable, batch):
            unique.setdefault(item.key, item)
        known_urls, known_guids = self._known(feed_id, unique.values())
        unique = {key: item for key, item in unique.items()
                  if not (item.url and is_article_url(item.url) and item.url in known_urls)
                  and item.guid not in known_guids}
        if not unique:
            return []
        rows = [dict(key=i.key, feed_id=feed_id, guid=i.guid, url=i.url, title=i.title, summary=i.summary,
                     text=i.text, published_at=i.published, fetched_at=now, lang=i.lang) for i in unique.values()]
        with self.engine.begin() as conn:
            statement = (_insert(items, conn.dialect.name).on_conflict_do_nothing(index_elements=["key"])
                         .returning(items.c.id, items.c.key))
            inserted = conn.execute(statement, rows).all()
            if inserted:  # owed a score from the moment it is stored: a run killed before scoring it leaves it owed
                conn.execute(sa.insert(unscored_items), [{"item_id": item_id} for item_id, _ in inserted])
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
                             [{"item_id": i, "t": storable(t)} for i, t in texts.items()])

    def recent_items(self, since: datetime, held: Collection[int] = ()) -> list[Item]:
        """The items fetched since ``since``, oldest first (what story clustering compares new items with), but
        those of ``held``: ids whose items the caller has in memory (a first cycle's 10,000 new items read back
        would be held twice)."""
        query = _item_query().where(items.c.fetched_at >= since).order_by(items.c.id)
        if not held:
            with self.engine.connect() as conn:
                return [_item(row._mapping) for row in conn.execute(query)]
        # the held items are the newest, so the rows before the first of them are read in one range, and after it
        # only the ids first: another process's items stored among them are read by id
        first_held = min(held)
        with self.engine.connect() as conn:
            older = [_item(row._mapping) for row in conn.execute(query.where(items.c.id < first_held))]
            among = [item_id for item_id in conn.execute(sa.select(items.c.id).where(
                items.c.fetched_at >= since, items.c.id >= first_held).order_by(items.c.id)).scalars()
                if item_id not in held]
            for chunk in _chunks(among):
                older += [_item(row._mapping) for row in conn.execute(query.where(items.c.id.in_(chunk)))]
        return older

    def set_stories(self, story_ids: Mapping[int, int]) -> None:
        """Record each item's story (item id → story id)."""
        if story_ids:
            with self.engine.begin() as conn:
                conn.execute(items.update().where(items.c.id == sa.bindparam("item_id"))
                             .values(story_id=sa.bindparam("story")),
                             [{"item_id": i, "story": s} for i, s in story_ids.items()])

    def separate(self, item_id: int) -> int | None:
        """Take an item out of its story, as an analyst does who sees it report another event: it gets a
        story of its own, and the rest of its story stays together (under its next-oldest copy when the item
        was the one the story is named after). Returns the story the item was in, None when it had no other
        copy. Later cycles cluster new items against the stories as they are now."""
        with self.engine.begin() as conn:
            story = conn.execute(sa.select(_story()).where(items.c.id == item_id)).scalar_one_or_none()
            if story is None:
                raise KeyError(item_id)
            others = list(conn.execute(sa.select(items.c.id).where(_in_stories((story,)), items.c.id != item_id)
                                       .order_by(items.c.id)).scalars())
            if not others:
                return None
            if story == item_id:
                conn.execute(items.update().where(items.c.id.in_(others)).values(story_id=others[0]))
            conn.execute(items.update().where(items.c.id == item_id).values(story_id=item_id))
        return story

    def meanings(self, ids: Sequence[int]) -> dict[int, bytes]:
        """The stored meaning vectors of those of ``ids`` that have one (item id → bytes)."""
        found: dict[int, bytes] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids)):
                rows = conn.execute(sa.select(item_meanings.c.item_id, item_meanings.c.vector)
                                    .where(item_meanings.c.item_id.in_(chunk)))
                found.update((item_id, bytes(vector)) for item_id, vector in rows)  # PostgreSQL: a memoryview
        return found

    def save_meanings(self, vectors: Mapping[int, bytes]) -> None:
        """Keep items' meaning vectors; an item that has one keeps it (two processes may encode it at once)."""
        if vectors:
            with self.engine.begin() as conn:
                conn.execute(_insert(item_meanings, conn.dialect.name).on_conflict_do_nothing(),
                             [{"item_id": i, "vector": v} for i, v in vectors.items()])

    def items_by_id(self, ids: Sequence[int]) -> list[Item]:
        with self.engine.connect() as conn:
            rows = conn.execute(_item_query().where(items.c.id.in_(ids))).all()
        by_id = {row.id: _item(row._mapping) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def items_unscored_by(self, model_version: str, limit: int) -> list[Item]:
        """Stored items this model version has not scored yet, newest first (the review page's freshest): those no
        model has scored, and those past the version's progress (``classification_queue``)."""
        owed = _owed().order_by(unscored_items.c.item_id.desc())
        with self.engine.connect() as conn:
            rescore = _unscored(model_version, _scored_through(conn, model_version)).order_by(items.c.id.desc())
            found = [_item(row._mapping) for query in (owed, rescore) for row in conn.execute(query.limit(limit))]
        return sorted(found, key=lambda item: item.id, reverse=True)[:limit]  # type: ignore[arg-type, return-value]

    def classification_queue(self, model_version: str, limit: int) -> ScoringQueue:
        """The next items the cycle classifies, up to ``limit``: first those no model has scored yet (new ones, or
        ones a crash or a full disk left owed: their alerts are due), then, older first, those this model version
        has not scored, looked for only past its recorded progress."""
        with self.engine.connect() as conn:
            owed = [_item(row._mapping) for row in conn.execute(_owed().order_by(unscored_items.c.item_id).limit(limit))]
            if len(owed) == limit:
                return ScoringQueue(owed)
            through = _scored_through(conn, model_version)
            newest = conn.execute(sa.select(sa.func.max(items.c.id))).scalar() or 0
            wanted = limit - len(owed)
            rescore = [_item(row._mapping) for row in conn.execute(
                _unscored(model_version, through).order_by(items.c.id).limit(wanted))]
        # Past the last item taken, or past every item stored when fewer were left, no scored item lacks this
        # version's prediction once these are scored. Only an item another process scores with another model
        # version between these reads can be passed over: it keeps that version's prediction.
        reach = rescore[-1].id if len(rescore) == wanted else newest
        return ScoringQueue(owed + rescore, reach if reach > through else None)

    def save_progress(self, model_version: str, scored_through: int) -> None:
        """Record that every item up to ``scored_through`` that a model had scored has this version's prediction
        (never moving it back: two processes may re-score at once)."""
        with self.engine.begin() as conn:
            statement = _insert(model_progress, conn.dialect.name).values(model_version=model_version,
                                                                         scored_through=scored_through)
            conn.execute(statement.on_conflict_do_update(
                index_elements=[model_progress.c.model_version], set_={"scored_through": scored_through},
                where=model_progress.c.scored_through < scored_through))

    def count_never_scored(self) -> int:
        """Items no model version has scored: new ones, or ones a killed run left owed."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(unscored_items)).scalar_one()

    def count_unscored_by(self, model_version: str) -> int:
        """Items this model version has not scored: those no model has, and those past its progress."""
        with self.engine.connect() as conn:
            query = _unscored(model_version, _scored_through(conn, model_version)).with_only_columns(sa.func.count())
            past_progress = conn.execute(query).scalar_one()
        return self.count_never_scored() + past_progress

    def first_fetched_at(self) -> datetime | None:
        """When the oldest stored item was fetched: how long this store has been watching."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.min(items.c.fetched_at))).scalar()

    def newest_items(self, limit: int) -> list[Item]:
        with self.engine.connect() as conn:
            return [_item(r._mapping) for r in conn.execute(_item_query().order_by(items.c.id.desc()).limit(limit))]


def _unscored(model_version: str, through: int | None = None) -> sa.Select:  # type: ignore[type-arg]
    """Items this model version has not scored; with ``through``, only those past it that some model has scored."""
    # NOT EXISTS, not NOT IN: PostgreSQL runs NOT IN over a subquery as a hashed subplan only while the version's
    # predictions fit in work_mem (4 MB by default), and beyond that tests every item against every prediction
    # (a queue over a million scored items ran for more than 14 minutes); NOT EXISTS is an anti-join on both databases
    scored = sa.exists().where(predictions.c.item_id == items.c.id, predictions.c.model_version == model_version)
    query = _item_query().where(~scored)
    if through is None:
        return query
    owed = sa.exists().where(unscored_items.c.item_id == items.c.id)
    return query.where(items.c.id > through, ~owed)


def _owed() -> sa.Select:  # type: ignore[type-arg]
    """The items no model has scored yet; ordered by the owed table's key by the caller (ordered by the items' id,
    SQLite would walk every stored item to find them)."""
    return _item_query().join(unscored_items, unscored_items.c.item_id == items.c.id)


def _scored_through(conn: sa.Connection, model_version: str) -> int:
    return conn.execute(sa.select(model_progress.c.scored_through)
                        .where(model_progress.c.model_version == model_version)).scalar() or 0


def _storable(item: Item) -> Item:
    """The item with every text field cleaned of what a backend refuses (NUL, lone surrogates)."""
    return replace(item, **{f.name: storable(value) for f in fields(item)
                            if isinstance(value := getattr(item, f.name), str)})


def _story() -> sa.ColumnElement[int]:
    """An item's story: the one clustering gave it, else (never clustered) a story of its own."""
    return sa.func.coalesce(items.c.story_id, items.c.id)


def _in_stories(stories: Sequence[int]) -> sa.ColumnElement[bool]:
    """The items of these stories. A story is named after its first item, so its items are found by the story_id
    index and the primary key; ``_story()`` alone would read every row (and so may a planner given an OR of the two)."""
    copies = sa.union(sa.select(items.c.id).where(items.c.story_id.in_(stories)),
                      sa.select(items.c.id).where(items.c.id.in_(stories)))
    return sa.and_(items.c.id.in_(copies), _story().in_(stories))


def _item_query() -> sa.Select:  # type: ignore[type-arg]
    return (sa.select(items, feeds.c.url.label("feed_url"))
            .select_from(items.join(feeds, feeds.c.id == items.c.feed_id)))



def _item(row: Mapping[str, object]) -> Item:
    return Item(id=row["id"], key=row["key"], title=row["title"], summary=row["summary"], text=row["text"],  # type: ignore[arg-type]
                url=row["url"], guid=row["guid"], published=row["published_at"], feed_url=row["feed_url"],
                story_id=row["story_id"], lang=row["lang"])  # type: ignore[arg-type]


