"""What every feed kind hands over: raw entries, normalized into Items the same way whatever the format."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ..models import Item
from ..normalize import (UNSURE, Guesses, canonical_url, clean_text, item_key, language_guesses, settled_language,
                         storable)


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


def to_items(entries: list[Entry], feed_url: str, declared_language: object = None) -> list[Item]:
    """Items of one fetch: text cleaned, links canonical, keys stable, language told (``feed_language`` settles
    the detector's guesses); entries with no text are dropped. ``declared_language``: the feed's own
    (RSS ``<language>``, Atom ``xml:lang``, JSON Feed ``language``), if any."""
    urls = [canonical_url(entry.link) for entry in entries]
    # a link shared by several entries of one feed names no single article
    shared_links = {url for url, count in Counter(urls).items() if url and count > 1}
    texts = [(clean_text(entry.title), clean_text(entry.summary)) for entry in entries]
    guesses = [language_guesses(title, summary) if title or summary else () for title, summary in texts]
    likely = feed_language(guesses, declared_language)
    items = (_item(entry, title, summary, url, settled_language(guessed, likely), feed_url, shared_links)
             for entry, (title, summary), url, guessed in zip(entries, texts, urls, guesses))
    return [item for item in items if item is not None]


def feed_language(guesses: list[Guesses], declared: object = None) -> str | None:
    """The language a feed's items are likely in: the one most of them are surely in (feeds are written in one
    language), else the one the feed declares (a CMS often declares its default, so the items' own word counts
    first), else None."""
    sure = Counter(guessed[0][0] for guessed in guesses if guessed and guessed[0][1] >= UNSURE)
    if sure:
        lang, count = sure.most_common(1)[0]
        if 2 * count > sum(sure.values()):
            return lang
    code = declared.strip().replace("_", "-").split("-")[0].lower() if isinstance(declared, str) else ""
    return code if len(code) == 2 and code.isalpha() and code.isascii() else None


def _item(entry: Entry, title: str, summary: str, url: str | None, lang: str, feed_url: str,
          shared_links: set[str]) -> Item | None:
    """The item of ``entry``, whose text is ``title`` and ``summary`` once cleaned and whose link is ``url`` once
    made canonical."""
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
        lang=lang,
    )
