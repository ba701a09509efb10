"""Text, links and numbers that came from outside (feeds, servers, users), made safe where they are shown or used.

Applied at the edges: ``printable`` where outside text reaches a terminal, a log line or a mail subject;
``http_url`` wherever a link is rendered (mail HTML, Markdown, digest files, web page); ``whole_number`` and
``parse_item_id`` wherever a user types a number (CLI arguments, web parameters); ``language_code`` wherever a user
filters by language.
"""

from __future__ import annotations

import re
from typing import Iterable

MAX_ITEM_ID = 2**31 - 1
"""Item (and feed) ids are PostgreSQL INTEGER columns; one limit for both backends keeps them alike."""

# ANSI escape sequences first (CSI ... final byte; OSC/DCS/APC ... BEL or ST; two-byte ESC x), then
# any single C0/C1 control character, DEL, and lone surrogates (they cannot be encoded to UTF-8).
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_AND_LAYOUT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_LAYOUT = re.compile(r"[\t\n\r]+")


def printable(text: object, keep_layout: bool = False) -> str:
    """``text`` without terminal escape sequences, control characters or lone surrogates.

    Newlines and tabs stay only with ``keep_layout`` (a multi-line message body); otherwise a line stays
    one line (a subject header, a log line, one row of a listing).
    """
    value = str(text)
    if value.isprintable():  # most text: no control character (ESC, tab and newline are ones) nor surrogate
        return value
    value = _ESCAPES.sub("", value)
    if keep_layout:
        return _CONTROLS.sub("", value)
    return _CONTROLS_AND_LAYOUT.sub("", _LAYOUT.sub(" ", value))


def http_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL that may become a link; None for javascript:, data: and the rest."""
    if not url:
        return None
    candidate = url.strip()
    if _CONTROLS_AND_LAYOUT.search(candidate) or " " in candidate:
        return None  # browsers drop tabs/newlines inside a scheme ("java\tscript:"); never guess
    return candidate if candidate.lower().startswith(("http://", "https://")) else None


MIN_SECRET = 4
"""Shorter values are never masked: replacing every "p" or "25" in a message would garble it, hide nothing."""


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (at least MIN_SECRET long) replaced as a whole by ****, longest first."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, "****")
    return text


class NumberError(ValueError):
    """A number typed by a user that is not a whole number in range; the message says what was expected."""


def whole_number(text: str, what: str, least: int = 0, most: int = MAX_ITEM_ID) -> int:
    """``text`` as an int when it is ASCII digits only (``"²".isdigit()`` is True, ``int("²")`` fails) and
    within [least, most]."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(most)) or not least <= int(text) <= most:
        raise NumberError(f"{what} must be a whole number from {least} to {most}, got {printable(text)!r}")
    return int(text)


def parse_item_id(text: str) -> int:
    """An item id as the CLI and the web page accept it: 1 to the largest id either database can store."""
    return whole_number(str(text), "item id", least=1)


class LanguageCodeError(ValueError):
    """A language filter that no stored item can match; the message says what was expected."""


_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
_COUNTRY_FOR_LANGUAGE = {"kr": "ko", "kp": "ko", "jp": "ja", "cn": "zh", "tw": "zh", "ua": "uk", "by": "be",
                         "kz": "kk", "us": "en", "gb": "en"}
"""Country codes typed for a language (Korea's "kr" for Korean is the one this beat meets most). The detector
names none of them as a language, so a filter on one would match nothing, silently."""


def language_code(text: str) -> str:
    """A language filter as items store it ("KO" → "ko"): an ISO 639 code, as ``normalize.language`` tells them."""
    code = text.strip().lower()
    if code in _COUNTRY_FOR_LANGUAGE:
        raise LanguageCodeError(f"{code!r} is a country code: the language code is {_COUNTRY_FOR_LANGUAGE[code]!r} "
                                "(languages are ISO 639 codes: en, ko, ru, ja, zh, ...)")
    if not _LANGUAGE_CODE.fullmatch(code):
        raise LanguageCodeError(f"a language is an ISO 639 code such as en, ko or ru, got {printable(text)!r}")
    return code
