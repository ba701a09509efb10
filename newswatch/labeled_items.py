"""Labeled-item JSON Lines files (the format of TOPICS.md): reading and checking them, and the seed corpus
shipped in ``seeds/`` plus the seeds files a config's topics name. Analysts' labels in the store are
``analyst_labels``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, TextIO

from .models import Item, LabeledItem
from .normalize import clean_text, item_key, language
from .untrusted import printable


class LabeledFileError(ValueError):
    """A labeled-item file that cannot be read; the message names the file and the line."""


def read_records(lines: Iterable[str | bytes], name: str, require_topics: bool, topics: Sequence[str]
                 ) -> list[dict[str, Any]]:
    """Every record of a JSONL stream, validated; any bad line fails the whole file."""
    return list(iter_records(lines, name, require_topics, topics))


def iter_records(lines: Iterable[str | bytes], name: str, require_topics: bool, topics: Sequence[str]
                 ) -> Iterator[dict[str, Any]]:
    """The records of a JSONL stream one by one, each validated (a record's topics must be among ``topics``,
    the config's); a bad line raises when it is reached.

    Lines may be bytes (a file opened in binary): then bytes that are not UTF-8 are an error naming the
    line and the byte offset in the file, where a text stream would raise a bare UnicodeDecodeError."""
    offset = 0
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise LabeledFileError(f"{name}:{number}: not UTF-8 text (byte {offset + exc.start}: "
                                       f"0x{line[exc.start]:02x}); save the file as UTF-8") from None
            offset += len(line)
            line = text
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabeledFileError(f"{name}:{number}: not valid JSON: {exc.msg}") from None
        problem = _problem(record, require_topics, topics)
        if problem:
            raise LabeledFileError(f"{name}:{number}: {problem}")
        yield record


def _problem(record: Any, require_topics: bool, known_topics: Sequence[str]) -> str | None:
    if not isinstance(record, dict):
        return "expected a JSON object"
    if not isinstance(record.get("title"), str) or not record["title"].strip():
        return '"title" is required and must be a non-empty string'
    for key in ("id", "summary", "text", "url", "published", "lang"):
        if record.get(key) is not None and not isinstance(record[key], str):
            return f'"{key}" must be a string'
    for key in ("id", "url"):  # kept as written (text fields are cleaned): no NUL, escapes or lone surrogates
        if isinstance(record.get(key), str) and printable(record[key]) != record[key]:
            return f'"{key}" must not contain control characters'
    if "topics" not in record:
        return '"topics" is required (an empty list means about none of the topics)' if require_topics else None
    topics = record["topics"]
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        return '"topics" must be a list of topic names'
    unknown = [t for t in topics if t not in known_topics]
    if unknown:
        return f"unknown topic {unknown[0]!r} (known: {', '.join(known_topics)})"
    return None


def item_from_record(record: dict[str, Any]) -> Item:
    title = clean_text(record["title"])
    summary = clean_text(record.get("summary"))
    return Item(
        key=record.get("id") or item_key(None, record.get("url"), title, summary),
        title=title,
        summary=summary,
        text=clean_text(record.get("text")),
        url=record.get("url"),
        # a record may say its language (dev-ml.jsonl does); otherwise it is told as at ingest
        lang=record.get("lang") or language(title, summary),
    )


def labeled_from_record(record: dict[str, Any]) -> LabeledItem:
    return LabeledItem(item_from_record(record), tuple(record.get("topics", ())))


def read_labeled_file(stream: TextIO, name: str, topics: Sequence[str]) -> list[LabeledItem]:
    return [labeled_from_record(r) for r in read_records(stream, name, require_topics=True, topics=topics)]


def seeds_dir() -> Path:
    return Path(str(resources.files("seeds")))


TRAINING_ONLY_SEEDS = "examples-passing-line.jsonl"
"""Shipped seeds that train the model but do not choose its thresholds: Korean and Russian items about
something else whose one later sentence names Russia and North Korea together (TOPICS.md's passing line),
hard negatives written to teach that one kind of item, far more of them than news brings. Among the
validation scores they would move the shared thresholds of every language (the lowest F1 within one
standard error of the best, on a flat curve, jumps with any change of the data)."""


def training_only_keys(directory: Path | None = None) -> frozenset[str]:
    """The ids of ``TRAINING_ONLY_SEEDS``' examples."""
    path = (directory or seeds_dir()) / TRAINING_ONLY_SEEDS
    if not path.exists():
        return frozenset()
    with path.open(encoding="utf-8") as stream:
        return frozenset(json.loads(line)["id"] for line in stream if line.strip())


def seed_corpus(topics: Sequence[str], topic_seeds: Sequence[Path] = (), directory: Path | None = None
                ) -> list[LabeledItem]:
    """The five seed articles (title on the first line) plus the labeled examples of every
    ``examples*.jsonl`` (the short ones, then one file per kind of outlet and one of edge cases), then those
    of ``topic_seeds`` (the files ``[topics.<name>] seeds`` names). An example is about the topics it
    names and no other: a shipped seed counts as "no" for a topic the config adds."""
    directory = directory or seeds_dir()
    corpus = []
    index = directory / "seeds.jsonl"
    with index.open(encoding="utf-8") as stream:
        for record in map(json.loads, filter(str.strip, stream)):
            title, _, body = (directory / record["file"]).read_text(encoding="utf-8").partition("\n")
            corpus.append(LabeledItem(Item(key=record["id"], title=title.strip(), text=clean_text(body)),
                                      tuple(record["topics"])))
    for examples in [*sorted(directory.glob("examples*.jsonl")), *topic_seeds]:
        with examples.open(encoding="utf-8") as stream:
            corpus.extend(read_labeled_file(stream, str(examples), topics))
    return corpus
