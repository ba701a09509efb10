"""What every feed kind hands over: raw entries, normalized into Items the same way whatever the format."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ..models import Item
from ..normalize import canonical_url, clean_text, item_key, language, storable


class NotAFeed(ValueError):
    """The body parsed to nothing that looks like a feed of its kind."""


@dataclass(frozen=True)
class Entry:
    """One entry as a format states it: text may still be HTML, the link not yet canonical."""

    title: str | None
    summary: str | None
    link: str | None
    guid: str | None
    published: datetime | None


def to_items(entries: list[Entry], feed_url: str) -> list[Item]:
    """Items of one fetch: text cleaned, links canonical, keys stable, language told; entries with no text
    are dropped."""
    urls = [canonical_url(entry.link) for entry in entries]
    # a link shared by several entries of one feed names no single article
    shared_links = {url for url, count in Counter(urls).items() if url and count > 1}
    items = (_item(entry, url, feed_url, shared_links) for entry, url in zip(entries, urls))
    return [item for item in items if item is not None]


def _item(entry: Entry, url: str | None, feed_url: str, shared_links: set[str]) -> Item | None:
    """The item of ``entry``, whose link is ``url`` once made canonical."""
    title = clean_text(entry.title)
    summary = clean_text(entry.summary)
    if not title and not summary:
        return None
    guid = storable(entry.guid or "") or None
    return Item(
        key=item_key(guid, None if url in shared_links else url, title, summary, feed_url),
        title=title or summary[:120],
        summary=summary,
        url=url,
        guid=guid,
        published=entry.published,
        feed_url=feed_url,
        lang=language(title, summary),
    )
