"""Analysts' labels: from the command line, the page or a labeled-item file into the store, and back out as
training examples or a labeled-item file (whose format is ``labeled_items``).

A label is one judgement about one topic; "about neither" is a "no" for every topic. A file record
(the format of TOPICS.md) says something about every topic: yes for those in its ``topics``, no for
the rest. A topic nobody labeled counts as "no" when training: most news is about neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from .labeled_items import item_from_record, iter_records
from .models import Item, Label, LabeledItem
from .normalize import language

if TYPE_CHECKING:  # not imported to run: `classify` and `evaluate` start without SQLAlchemy
    from .store import Store


class LabelError(ValueError):
    """A label that cannot be recorded (unknown item or topic)."""


def labels_for_item(item: Item, topics: dict[str, bool], author: str, source: str, now: datetime) -> list[Label]:
    return [Label(item_key=item.key, topic=topic, value=value, author=author, source=source, title=item.title,
                  summary=item.summary, text=item.text, url=item.url, created_at=now)
            for topic, value in topics.items()]


def label_stored_item(store: Store, item_id: int, topic: str | None, value: bool, author: str, now: datetime,
                      topics: Sequence[str], source: str = "cli") -> int:
    """Label a stored item about ``topic`` (None: about none of ``topics``, the config's); return how many
    labels changed.

    The one way an analyst labels a stored item, from the command line, the review queue or the page."""
    found = store.items_by_id([item_id])
    if not found:
        raise LabelError(f"no stored item with id {item_id}")
    if topic is not None and topic not in topics:
        raise LabelError(f"unknown topic {topic!r} (known: {', '.join(topics)})")
    judgement = {topic: value} if topic else dict.fromkeys(topics, False)
    return store.add_labels(labels_for_item(found[0], judgement, author, source, now), now)


@dataclass(frozen=True)
class ImportReport:
    items: int
    """Records read from the file."""
    labels: int
    """Labels added: one per item and topic whose judgement changed (a record judges every topic)."""

    def summary(self) -> str:
        return (f"{self.items} item(s), {self.labels} label(s) added (one per topic and item; "
                f"a repeated judgement adds none)")


def import_labels(store: Store, lines: Iterable[str | bytes], name: str, author: str, now: datetime,
                  topics: Sequence[str]) -> ImportReport:
    """Every record of a labeled-item file, or nothing if any line is malformed; a record judges each of
    ``topics`` (the config's). Streams: the file is read,
    validated and stored batch by batch inside one transaction, so its size does not matter."""
    items = 0

    def labels() -> Iterator[Label]:
        nonlocal items
        for record in iter_records(lines, name, require_topics=True, topics=topics):
            items += 1
            judgement = {topic: topic in record["topics"] for topic in topics}
            yield from labels_for_item(item_from_record(record), judgement, author, f"import:{name}", now)

    added = store.add_labels(labels(), now)
    return ImportReport(items, added)


def labeled_examples(labels: Iterable[Label], topics: Sequence[str]) -> list[LabeledItem]:
    """One training example per labeled item, with the topics of ``topics`` its labels in force say yes to."""
    items: dict[str, Item] = {}
    yes: dict[str, set[str]] = {}
    for label in labels:
        items.setdefault(label.item_key, Item(key=label.item_key, title=label.title, summary=label.summary,
                                              text=label.text, url=label.url))
        said_yes = yes.setdefault(label.item_key, set())
        if label.value:
            said_yes.add(label.topic)
    return [LabeledItem(item, tuple(t for t in topics if t in yes[key])) for key, item in items.items()]


def export_records(labels: Iterable[Label], topics: Sequence[str]) -> list[dict[str, Any]]:
    """The labels in force as labeled-item records, which ``import_labels`` reads back; each says its language as
    ingest tells it (a label keeps its item's text, not its language, and the text decides the language)."""
    records = []
    for example in labeled_examples(labels, topics):
        item = example.item
        record: dict[str, Any] = {"id": item.key, "lang": language(item.title, item.summary), "title": item.title,
                                  "summary": item.summary}
        if item.text:
            record["text"] = item.text
        if item.url:
            record["url"] = item.url
        records.append({**record, "topics": list(example.topics)})
    return records
