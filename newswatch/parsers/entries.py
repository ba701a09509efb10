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


@dataclass(frozen=True)
class ParsedFeed:
    """What a fetched feed holds: the title it gives itself (cleaned and shortened: it names the feed in digests
    where the config does not; None when it gives none) and its items."""

    title: str | None
    items: list[Item]


FEED_TITLE_CHARS = 80
"""A feed's own title is cut to this: it is shown beside every one of its items in a digest."""


def feed_title(value: object) -> str | None:
    """The feed's own title as shown: plain text, at most FEED_TITLE_CHARS characters; None for none at all."""
    title = clean_text(value) if isinstance(value, str) else ""
    if len(title) > FEED_TITLE_CHARS:
        title = title[:FEED_TITLE_CHARS - 1].rstrip() + "…"
    return title or None


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
