"""Saved queries as analysts give them: checked against the config (topics, feeds) before they are stored.

Stored in the store (``store.saved_queries``); a channel takes only matching items with ``[[channels]] query``
(see alerts.py); the web app publishes each as Atom and JSON Feed (syndication.py).
"""

from __future__ import annotations

import re
from typing import Sequence

from .config import Settings
from .store import SavedQuery, Store
from .store.search import search_terms
from .untrusted import language_code

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A name that reads well in a feed's address (/feeds/<name>.atom) and needs no escaping there."""


class SavedQueryError(ValueError):
    """A saved query that cannot be stored or used; the message says which part and why."""


def new_saved_query(settings: Settings, name: str, text: str = "", topics: Sequence[str] = (),
                    feeds: Sequence[str] = (), languages: Sequence[str] = (),
                    min_score: float | None = None) -> SavedQuery:
    """A saved query from what the analyst typed; feeds by URL or name (stored as their URL)."""
    if not NAME.fullmatch(name) or name.endswith((".atom", ".json")):
        raise SavedQueryError(f"query name must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter "
                              f"or digit), got {name!r}")
    text = text.strip()
    if text:
        search_terms(text)  # a SearchError (a ValueError) names what is wrong with it
    for topic in topics:
        if topic not in settings.topics:
            raise SavedQueryError(f"unknown topic {topic!r} (known: {', '.join(settings.topics)})")
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise SavedQueryError(f"minimum score must be from 0 to 1, got {min_score}")
    if not (text or topics or feeds or languages or min_score is not None):
        raise SavedQueryError("a saved query needs at least one of text, topic, feed, language, minimum score")
    return SavedQuery(name=name, text=text, topics=tuple(dict.fromkeys(topics)),
                      feeds=tuple(dict.fromkeys(_feed_url(settings, feed) for feed in feeds)),
                      languages=tuple(dict.fromkeys(language_code(lang) for lang in languages)), min_score=min_score)


def _feed_url(settings: Settings, url_or_name: str) -> str:
    for feed in settings.feeds:
        if url_or_name in (feed.url, feed.name):
            return feed.url
    raise SavedQueryError(f"no feed with URL or name {url_or_name!r} in {settings.source} (newswatch feeds list)")


def remove_saved_query(settings: Settings, store: Store, name: str) -> None:
    """Forget a saved query; refused while a configured channel routes it (its alerts would stop silently)."""
    users = [channel.name for channel in settings.channels if channel.query == name]
    if users:
        raise SavedQueryError(f"channel {', '.join(users)} in {settings.source} routes saved query {name!r}: "
                              "remove its `query` first")
    if not store.remove_saved_query(name):
        raise SavedQueryError(f"no saved query named {name!r} (newswatch queries list)")


def describe(query: SavedQuery) -> str:
    """One line saying what the query matches."""
    parts = [f"text {query.text!r}"] if query.text else []
    parts += [f"topic {' or '.join(query.topics)}"] if query.topics else []
    parts += [f"feed {' or '.join(query.feeds)}"] if query.feeds else []
    parts += [f"language {' or '.join(query.languages)}"] if query.languages else []
    parts += [f"score >= {query.min_score:g}"] if query.min_score is not None else []
    return "; ".join(parts)
