"""A saved query's matches as Atom 1.0 (RFC 4287) and JSON Feed 1.1, for feed readers (pure: rows in, bytes out).

Ids are ``tag:`` URIs (RFC 4151) made from the item's key, so an entry keeps its id across requests,
across saved queries and after the item is rescored; the feed's own id is made from the query's name.
An entry links to the article (http(s) only), else to the item on the review page when ``[web] base_url``
is set. Dates: ``published`` is when the outlet published the item (absent when its feed gave no date),
``updated`` that date, else when newswatch fetched it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Mapping, Sequence
from urllib.parse import quote

from .saved_queries import describe
from .store import SavedQuery, ScoredItem
from .untrusted import http_url

TAG = "tag:newswatch,2026:"
ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
# characters XML 1.0 cannot carry at all, escaped or not: a feed holding one is not well-formed
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def entry_id(row: ScoredItem) -> str:
    return f"{TAG}item:{quote(row.item.key, safe='')}"


def feed_id(query: SavedQuery) -> str:
    return f"{TAG}query:{quote(query.name, safe='')}"


def atom(query: SavedQuery, rows: Sequence[ScoredItem], self_url: str, base_url: str | None,
         titles: Mapping[str, str]) -> bytes:
    """The Atom feed of ``rows``; each entry's topics are categories labeled with their ``titles``."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _add(feed, "id", feed_id(query))
    _add(feed, "title", f"newswatch: {query.name}")
    _add(feed, "subtitle", describe(query))
    _add(feed, "updated", _rfc3339(_feed_updated(query, rows)))
    _add(feed, "generator", "newswatch")
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", rel="self", type="application/atom+xml", href=self_url)
    for row in rows:
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _add(entry, "id", entry_id(row))
        _add(entry, "title", row.item.title)
        article, page = http_url(row.item.url), _page(row, base_url)
        if article or page:
            ET.SubElement(entry, f"{{{ATOM_NS}}}link", rel="alternate", href=article or page)
        if article and page:
            ET.SubElement(entry, f"{{{ATOM_NS}}}link", rel="related", href=page)
        if row.item.published:
            _add(entry, "published", _rfc3339(row.item.published))
        _add(entry, "updated", _rfc3339(row.when))
        _add(ET.SubElement(entry, f"{{{ATOM_NS}}}author"), "name", row.feed_name)
        for topic in _tags(row):
            ET.SubElement(entry, f"{{{ATOM_NS}}}category", term=topic, label=titles.get(topic, topic))
        if row.item.summary:
            _add(entry, "summary", row.item.summary)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def json_feed(query: SavedQuery, rows: Sequence[ScoredItem], self_url: str, base_url: str | None) -> bytes:
    feed: dict[str, object] = {"version": "https://jsonfeed.org/version/1.1", "title": f"newswatch: {query.name}",
                               "description": describe(query), "feed_url": self_url}
    if base_url:
        feed["home_page_url"] = f"{base_url}/"
    entries = []
    for row in rows:
        entry: dict[str, object] = {"id": entry_id(row), "title": row.item.title,
                                    "content_text": row.item.summary or row.item.title,
                                    "date_modified": _rfc3339(row.when), "authors": [{"name": row.feed_name}]}
        link = http_url(row.item.url) or _page(row, base_url)
        if link:
            entry["url"] = link
        if row.item.published:
            entry["date_published"] = _rfc3339(row.item.published)
        if _tags(row):
            entry["tags"] = list(_tags(row))
        entries.append(entry)
    feed["items"] = entries
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def _page(row: ScoredItem, base_url: str | None) -> str | None:
    """The item on the review page, where an analyst labels it."""
    return f"{base_url}/items/{row.item.id}" if base_url else None


def _add(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{name}")
    element.text = _NOT_XML.sub("", text)
    return element


def _feed_updated(query: SavedQuery, rows: Sequence[ScoredItem]) -> datetime:
    """The newest entry's date: the same matches give the same feed, byte for byte."""
    return max((row.when for row in rows), default=query.created_at or datetime(2026, 1, 1, tzinfo=timezone.utc))


def _tags(row: ScoredItem) -> tuple[str, ...]:
    return row.prediction.tags if row.prediction else ()


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
