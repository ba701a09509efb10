"""Small frozen records passed between the steps of the data path."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Protocol, Sequence
from urllib.parse import quote

from .untrusted import MIN_SECRET

FEED_KINDS: tuple[str, ...] = ("auto", "rss", "jsonfeed")
"""How a feed's body is read (newswatch.parsers): ``auto`` tells JSON Feed from RSS/Atom/RDF by the body."""


@dataclass(frozen=True)
class Feed:
    url: str
    name: str
    tags: tuple[str, ...] = ()
    kind: str = "auto"
    allow_private_addresses: bool = False
    fulltext: bool = False
    """Fetch each new item's article page and keep its main text for the classifier."""
    secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Each ``${NAME}`` of ``url`` with the value the environment gives it (a private feed's token). The URL is
    shown, stored and keyed as written; only a fetch reads the values (``expand``), and what it reports back
    (errors, redirect targets) is ``conceal``-ed, so the token is in no terminal, log, page or store."""

    def expand(self, text: str) -> str:
        """``text`` (the feed's URL, or where it moved) with its ``${NAME}`` references replaced: what is fetched."""
        for reference, value in self.secrets:
            text = text.replace(reference, value)
        return text

    def conceal(self, text: str) -> str:
        """``text`` with each value of ``secrets`` (as written, or percent-encoded as a request sends it) turned
        back into its ``${NAME}``; values shorter than MIN_SECRET are left alone, as ``untrusted.mask`` does."""
        for reference, value in sorted(self.secrets, key=lambda pair: len(pair[1]), reverse=True):
            if len(value) >= MIN_SECRET:
                text = text.replace(value, reference).replace(quote(value, safe=""), reference)
        return text


@dataclass(frozen=True)
class Validators:
    """What the server told us last time, sent back so an unchanged feed costs a 304."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    feed_url: str
    final_url: str | None = None
    status: int | None = None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    validators: Validators = Validators()
    error: str | None = None
    elapsed: float = 0.0
    retry_after: float | None = None
    """Seconds the server asked us to wait (429/503 Retry-After)."""
    permanent_url: str | None = None
    """Where a chain of permanent redirects (301/308) led: the address to fetch from now on."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class Item:
    """One article as the store and the classifier see it."""

    key: str
    title: str
    summary: str = ""
    text: str = ""
    url: str | None = None
    guid: str | None = None
    published: datetime | None = None
    feed_url: str | None = None
    id: int | None = None
    story_id: int | None = None
    """Set by the store once stories are clustered: copies of one story across outlets share it."""
    lang: str = "und"
    """ISO 639-1 code of the item's language, detected at ingest (normalize.language); "und" if unknown."""

    @property
    def document(self) -> str:
        """The text the classifier reads: full text when we have it, the summary otherwise."""
        return f"{self.title}\n{self.text or self.summary}"


@dataclass(frozen=True)
class Prediction:
    """A model's verdict on one item: a score per topic, the topics it tags, and the terms behind each tag."""

    scores: Mapping[str, float]
    tags: tuple[str, ...]
    why: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """A scored item with the name of the feed it came from: what alerts and digests are made of (tagged or
    not: a channel with its own threshold decides what counts)."""

    item: Item
    prediction: Prediction
    source: str


@dataclass(frozen=True)
class LabeledItem:
    item: Item
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Label:
    """An analyst's judgement: is the item about ``topic``? The latest per item and topic wins.

    "About neither" is a ``False`` label for every topic. The item's text is kept with the label so
    that it can train later models after the item itself is gone from the store.
    """

    item_key: str
    topic: str
    value: bool
    author: str
    source: str
    title: str
    summary: str = ""
    text: str = ""
    url: str | None = None
    created_at: datetime | None = None


class Classifier(Protocol):
    """What the cycle needs of a model; classifiers.registry.LoadedModel is the real one."""

    version: str

    @property
    def thresholds(self) -> Mapping[str, float]:
        """The tagging threshold per topic (named in digests)."""

    def predict_items(self, items: Sequence[Item]) -> list[Prediction]: ...
