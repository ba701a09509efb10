"""RSS, Atom and RDF through feedparser, with the body's encoding settled first."""

from __future__ import annotations

import codecs
import re
from typing import Any, Mapping

import charset_normalizer
import feedparser

from ..models import FetchResult
from ..normalize import utc_datetime
from .entries import Entry, NotAFeed, ParsedFeed, feed_title, to_items

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # the UTF-32 BOMs begin with these
_XML_ENCODING = re.compile(rb"""\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([^"'>]+)["']""")
_CHARSET = re.compile(r"""\bcharset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
# what browsers decode these labels as (WHATWG Encoding): the superset, so its extra characters survive
_SUPERSETS = {"euc_kr": "cp949", "gb2312": "gb18030", "gbk": "gb18030"}


def parse(result: FetchResult) -> ParsedFeed:
    """Title and items of a fetched feed. A bozo feed with entries is accepted (feeds are often slightly broken);
    a body with no feed in it raises NotAFeed with feedparser's reason."""
    body, headers = readable(result.body, result.headers)
    # Items keep plain text only (entries.to_items cleans every title and summary of tags, scripts and
    # entities) and links come from <link>, which feedparser resolves either way: its HTML sanitizer and
    # its rewriting of links inside the HTML would only be undone, and cost a third of its parse time.
    parsed = feedparser.parse(_valid_char_refs(body), response_headers=headers,
                              sanitize_html=False, resolve_relative_uris=False)
    if not parsed.entries and not parsed.get("version"):
        # an empty body, an HTML page: nothing RSS/Atom/RDF in it (a real feed with no entries has a version)
        reason = parsed.get("bozo_exception") if parsed.get("bozo") else None
        raise NotAFeed(f"not a feed: {reason or 'no RSS or Atom elements found'}")
    return ParsedFeed(feed_title(parsed.feed.get("title")),
                      to_items([_entry(entry) for entry in parsed.entries], result.feed_url,
                               parsed.feed.get("language")))


_CHAR_REF = re.compile(rb"&#(?:[xX]0*([0-9a-fA-F]{1,16})|0*([0-9]{1,20}));")


def _valid_char_refs(body: bytes) -> bytes:
    """The body with character references to no character (a surrogate such as &#xD800;, or past U+10FFFF)
    replaced by U+FFFD: feedparser raises on them, and one such entry would cost the whole feed."""

    def replace(match: re.Match[bytes]) -> bytes:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        return b"&#xFFFD;" if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else match.group(0)

    return _CHAR_REF.sub(replace, body)


def readable(body: bytes, headers: Mapping[str, str]) -> tuple[bytes, dict[str, str]]:
    """The body and headers to give feedparser, its encoding settled.

    feedparser trusts a BOM, the HTTP charset and the XML declaration, then falls back to UTF-8 and
    windows-1252, and detects only when chardet happens to be installed: a Korean EUC-KR or a Russian
    KOI8-R feed that declares nothing (or UTF-8, wrongly) comes out as mojibake, and so does a UTF-8
    feed declared ISO-8859-1 (a server default). So, as Miniflux does, non-ASCII bytes that are valid
    UTF-8 are UTF-8 whatever is declared (text in another encoding practically never is); otherwise a
    declared encoding that decodes the bytes is kept; otherwise the encoding is detected. A body that
    changes encoding is handed over as UTF-8, with a declaration and a header that say so.
    """
    headers = {name.lower(): value for name, value in headers.items()}
    if body.startswith(_BOMS) or body.isascii():
        return body, headers
    content_type = headers.get("content-type", "")
    charset = _CHARSET.search(content_type)
    declaration = _XML_ENCODING.match(body)
    declared = ([charset.group(1)] if charset else []) + (
        [declaration.group(1).decode("ascii", "replace")] if declaration else [])
    if _decodes(body, "utf-8"):
        if all(_codec(name) == "utf-8" for name in declared):
            return body, headers
        encoding = "utf-8"
    elif declared and all(_decodes(body, name) for name in declared):
        return body, headers
    else:
        guess = charset_normalizer.from_bytes(body).best()
        if guess is None:
            return body, headers
        encoding = _SUPERSETS.get(guess.encoding, guess.encoding)
    text = body.decode(encoding, errors="replace")
    if declaration:
        start, end = declaration.span(1)
        text = text[:start] + "utf-8" + text[end:]  # the declaration is ASCII, so byte offsets are text offsets
    mime = content_type.split(";", 1)[0].strip() or "application/xml"
    headers["content-type"] = f"{mime}; charset=utf-8"
    return text.encode("utf-8"), headers


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return False
    return True


def _entry(entry: Any) -> Entry:
    contents = entry.get("content") or []
    return Entry(
        title=entry.get("title"),
        summary=entry.get("summary") or (contents[0].get("value", "") if contents else ""),
        link=entry.get("link"),
        guid=entry.get("id"),
        published=utc_datetime(entry.get("published_parsed") or entry.get("updated_parsed")),
    )
