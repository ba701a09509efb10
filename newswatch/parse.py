"""parse(result) → items: feedparser on the fetched bytes, normalized on the way out."""

from __future__ import annotations

from collections import Counter
from typing import Any

import re

import feedparser

from .models import FetchResult, Item
from .normalize import canonical_url, clean_text, item_key, utc_datetime


class NotAFeed(ValueError):
    """The body parsed to nothing that looks like a feed."""


def parse(result: FetchResult) -> list[Item]:
    """Items of a fetched feed. A bozo feed with entries is accepted (feeds are often slightly broken);
    a body with no feed in it raises NotAFeed with feedparser's reason."""
    parsed = feedparser.parse(_valid_char_refs(result.body),
                              response_headers={k.lower(): v for k, v in result.headers.items()})
    if not parsed.entries and not parsed.get("version"):
        # an empty body, an HTML page: nothing RSS/Atom/RDF in it (a real feed with no entries has a version)
        reason = parsed.get("bozo_exception") if parsed.get("bozo") else None
        raise NotAFeed(f"not a feed: {reason or 'no RSS or Atom elements found'}")
    links = Counter(canonical_url(entry.get("link")) for entry in parsed.entries)
    shared_links = {url for url, count in links.items() if url and count > 1}
    items = (_item(entry, result.feed_url, shared_links) for entry in parsed.entries)
    return [item for item in items if item is not None]


_CHAR_REF = re.compile(rb"&#(?:[xX]0*([0-9a-fA-F]{1,16})|0*([0-9]{1,20}));")


def _valid_char_refs(body: bytes) -> bytes:
    """The body with character references to no character (a surrogate such as &#xD800;, or past U+10FFFF)
    replaced by U+FFFD: feedparser raises on them, and one such entry would cost the whole feed."""

    def replace(match: re.Match[bytes]) -> bytes:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        return b"&#xFFFD;" if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else match.group(0)

    return _CHAR_REF.sub(replace, body)


def _item(entry: Any, feed_url: str, shared_links: set[str]) -> Item | None:
    title = clean_text(entry.get("title"))
    summary = clean_text(entry.get("summary") or _content(entry))
    if not title and not summary:
        return None
    url = canonical_url(entry.get("link"))
    guid = entry.get("id") or None
    published = utc_datetime(entry.get("published_parsed") or entry.get("updated_parsed"))
    return Item(
        # a link shared by several entries of one feed names no single article
        key=item_key(guid, None if url in shared_links else url, title, summary),
        title=title or summary[:120],
        summary=summary,
        url=url,
        guid=guid,
        published=published,
        feed_url=feed_url,
    )


def _content(entry: Any) -> str:
    contents = entry.get("content") or []
    return contents[0].get("value", "") if contents else ""
