"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), which feedparser cannot read.

Any JSON at all may arrive here: every field is checked for its type, an item of the wrong shape is
skipped, and a document that is no JSON Feed raises NotAFeed saying why. The body's size is already
capped by fetch.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ..models import FetchResult
from .entries import Entry, NotAFeed, ParsedFeed, feed_title, to_items

VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def parse(result: FetchResult) -> ParsedFeed:
    try:
        document = json.loads(result.body)  # bytes: UTF-8, -16 or -32, with or without a BOM (RFC 8259)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise NotAFeed(f"not a feed: not JSON ({_short(exc)})") from None
    if not isinstance(document, dict) or not is_json_feed(document):
        raise NotAFeed("not a feed: JSON without a jsonfeed.org \"version\"")
    items = document.get("items")
    if not isinstance(items, list):
        raise NotAFeed("not a feed: JSON Feed without an \"items\" list")
    return ParsedFeed(feed_title(document.get("title")),
                      to_items([_entry(item) for item in items if isinstance(item, dict)], result.feed_url,
                               document.get("language")))


def is_json_feed(document: dict[str, Any]) -> bool:
    version = document.get("version")
    return isinstance(version, str) and version.startswith(VERSION_PREFIXES)


def _entry(item: dict[str, Any]) -> Entry:
    content = _string(item, "content_text") or _string(item, "content_html")
    guid = item.get("id")
    return Entry(
        title=_string(item, "title"),
        summary=_string(item, "summary") or content,
        # external_url: a link post's subject, the article itself when the item has no page of its own
        link=_string(item, "url") or _string(item, "external_url"),
        # the spec asks for a string; numbers are common in the wild and just as unique
        guid=str(guid) if isinstance(guid, (str, int)) and not isinstance(guid, bool) and str(guid).strip() else None,
        published=_date(item.get("date_published")) or _date(item.get("date_modified")),
    )


def _string(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None


def _date(value: Any) -> datetime | None:
    """An RFC 3339 date in UTC; anything else (no zone, not a date, not a string) is no date."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # RFC 3339 requires an offset; a naive one is most often the publisher's local time, so unknown
    return parsed.astimezone(timezone.utc) if parsed.tzinfo is not None else None


def _short(exc: BaseException) -> str:
    return str(exc)[:120] or type(exc).__name__
