"""parse(result, kind) → the feed's title and items: one module per feed kind, chosen by ``Feed.kind``.

``auto`` (the default) looks at the body: a JSON object is read as a JSON Feed, anything else goes to
feedparser (RSS, Atom, RDF). A new kind is a module with ``parse(result) -> ParsedFeed`` that raises
NotAFeed, an entry in PARSERS, and its name in models.FEED_KINDS.
"""

from __future__ import annotations

from typing import Callable

from ..models import FetchResult
from . import jsonfeed, rss
from .entries import NotAFeed, ParsedFeed

__all__ = ["NotAFeed", "PARSERS", "ParsedFeed", "parse", "kind_of"]

PARSERS: dict[str, Callable[[FetchResult], ParsedFeed]] = {
    "rss": rss.parse,
    "jsonfeed": jsonfeed.parse,
}


def parse(result: FetchResult, kind: str = "auto") -> ParsedFeed:
    """The title and items of a fetched body, read as ``kind`` (or as what it looks like, for ``auto``)."""
    return PARSERS[kind_of(result.body) if kind == "auto" else kind](result)


def kind_of(body: bytes) -> str:
    """"jsonfeed" for a body that is a JSON object, "rss" otherwise: XML never starts with ``{``."""
    return "jsonfeed" if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "rss"
