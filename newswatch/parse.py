"""parse(result) → items: feedparser on the fetched bytes, normalized on the way out."""

from __future__ import annotations

from collections import Counter
from typing import Any

import feedparser

from .models import FetchResult, Item
from .normalize import canonical_url, clean_text, item_key, storable, utc_datetime


class NotAFeed(ValueError):
    """The body parsed to nothing that looks like a feed."""


def parse(result: FetchResult) -> list[Item]:
    """Items of a fetched feed. A bozo feed with entries is accepted (feeds are often slightly broken);
    a body with no feed in it raises NotAFeed with feedparser's reason."""
    parsed = feedparser.parse(result.body, response_headers={k.lower(): v for k, v in result.headers.items()})
    if not parsed.entries and not parsed.get("version"):
        # an empty body, an HTML page: nothing RSS/Atom/RDF in it (a real feed with no entries has a version)
        reason = parsed.get("bozo_exception") if parsed.get("bozo") else None
        raise NotAFeed(f"not a feed: {reason or 'no RSS or Atom elements found'}")
    links = Counter(canonical_url(entry.get("link")) for entry in parsed.entries)
    shared_links = {url for url, count in links.items() if url and count > 1}
    items = (_item(entry, result.feed_url, shared_links) for entry in parsed.entries)
    return [item for item in items if item is not None]


def _item(entry: Any, feed_url: str, shared_links: set[str]) -> Item | None:
    title = clean_text(entry.get("title"))
    summary = clean_text(entry.get("summary") or _content(entry))
    if not title and not summary:
        return None
    url = canonical_url(entry.get("link"))
    guid = storable(entry.get("id") or "") or None
    published = utc_datetime(entry.get("published_parsed") or entry.get("updated_parsed"))
    return Item(
        # a link shared by several entries of one feed names no single article
        key=item_key(guid, None if url in shared_links else url, title, summary, feed_url),
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
