"""The feed list: adding and removing feeds in the config file, and each feed's health (``feed_health``, the
one definition the cycle summary, ``feeds status`` and the web feeds page share); the other edit the page
makes to the config file, a topic's tagging threshold, goes through the same safe path.

The config file stays the one source of truth for which feeds are watched (it is what the cycle
reads, what operators version and review). ``add`` appends a ``[[feeds]]`` table as text and
``remove`` cuts one out, so comments and layout elsewhere survive; the edited text is validated by
the normal config loader before it replaces the file (atomically), so an edit never leaves a config
that does not load. The shipped default config is never edited: copy it to ./newswatch.toml first.
"""

from __future__ import annotations

import json
import os
import pyexpat
import re
import stat
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from .config import ConfigError, Settings, default_config_path, feed_url_problem, load_settings
from .models import Feed
from .store import Store

_TABLE_HEADER = re.compile(r"^\s*\[")
_FEEDS_HEADER = re.compile(r"^\s*\[\[\s*feeds\s*\]\]\s*(#.*)?$")


def add_feed(settings: Settings, url: str, name: str | None = None, tags: tuple[str, ...] = (),
             fulltext: bool = False, allow_private_addresses: bool | None = None) -> Feed:
    new_settings = _append_validated(settings, _feed_table(url, name, tags, fulltext, allow_private_addresses))
    return next(feed for feed in new_settings.feeds if feed.url == url)


def _feed_table(url: str, name: str | None = None, tags: tuple[str, ...] = (), fulltext: bool = False,
                allow_private_addresses: bool | None = None) -> list[str]:
    lines = ["", "[[feeds]]", f"url = {_toml_string(url)}"]
    if name:
        lines.append(f"name = {_toml_string(name)}")
    if tags:
        lines.append(f"tags = [{', '.join(_toml_string(t) for t in tags)}]")
    if fulltext:
        lines.append("fulltext = true")
    if allow_private_addresses is not None:
        lines.append(f"allow_private_addresses = {'true' if allow_private_addresses else 'false'}")
    return lines


def _append_validated(settings: Settings, lines: list[str]) -> Settings:
    path = _editable(settings)
    text = path.read_text(encoding="utf-8")
    return _replace_validated(path, text.rstrip("\n") + "\n" + "\n".join(lines) + "\n")


def remove_feed(settings: Settings, url_or_name: str) -> Feed:
    """Remove the feed with this URL (or, failing that, this name) from the config file."""
    path = _editable(settings)
    matches = [f for f in settings.feeds if f.url == url_or_name] or [f for f in settings.feeds if f.name == url_or_name]
    if len(matches) != 1:
        raise ConfigError(f"{path}: {'no' if not matches else 'more than one'} feed with URL or name {url_or_name!r}")
    feed = matches[0]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for start, end in _feed_tables(lines):
        if tomllib.loads("".join(lines[start + 1:end])).get("url") == feed.url:
            _replace_validated(path, "".join(lines[:start] + lines[end:]))
            return feed
    raise ConfigError(f"{path}: feed {feed.url!r} is not a plain [[feeds]] table; edit the file by hand")


def set_topic_threshold(settings: Settings, topic: str, threshold: float | None) -> Settings:
    """Pin ``topic``'s tagging threshold in the config file (``[topics.<topic>] threshold``), or with None
    unpin it (the model's own threshold applies again); return ``settings`` with the edited topics."""
    path = _editable(settings)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = re.compile(rf"^\s*\[\s*topics\s*\.\s*\"?{re.escape(topic)}\"?\s*\]\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    setting = [] if threshold is None else [f"threshold = {threshold:.2f}\n"]
    if start is None:
        text = "".join(lines).rstrip("\n") + "".join(["\n\n", f"[topics.{topic}]\n", *setting] if setting else "\n")
    else:
        end = next((j for j in range(start + 1, len(lines)) if _TABLE_HEADER.match(lines[j])), len(lines))
        kept = [line for line in lines[start + 1:end] if not re.match(r"^\s*threshold\s*=", line)]
        text = "".join(lines[:start + 1] + setting + kept + lines[end:])
    wanted = None if threshold is None else round(threshold, 2)
    edited = _replace_validated(path, text, check=lambda loaded: loaded.topics[topic].threshold == wanted)
    return replace(settings, topics=edited.topics)  # only the topics changed (the rest may come from a passed env)


def _feed_tables(lines: list[str]) -> list[tuple[int, int]]:
    """(first line, line after the last) of each ``[[feeds]]`` table."""
    spans = []
    for i, line in enumerate(lines):
        if _FEEDS_HEADER.match(line):
            end = next((j for j in range(i + 1, len(lines)) if _TABLE_HEADER.match(lines[j])), len(lines))
            while end > i + 1 and lines[end - 1].strip().startswith("#"):  # those comments head the next table
                end -= 1
            spans.append((i, end))
    return spans


def _editable(settings: Settings) -> Path:
    path = settings.source
    if path is None or path.resolve() == default_config_path().resolve():
        raise ConfigError("the shipped default config is not edited: copy it to ./newswatch.toml "
                          "(or pass --config FILE) and run the command again")
    return path


def _replace_validated(path: Path, text: str, check: Callable[[Settings], bool] = lambda _: True) -> Settings:
    """Write ``text`` over the config file at ``path`` once it loads (and ``check`` says the edit took: a
    value set elsewhere in the file, as a dotted key or an inline table, would otherwise win silently),
    atomically, as the same file.

    A symlinked config is edited where it points (the link stays a link); the new file is written next to
    that real file (``os.replace`` is atomic only within one filesystem) with the old one's mode and, where
    allowed, owner, so a mode-600 file holding a token never comes back world-readable.
    """
    real = Path(os.path.realpath(path))
    before = real.stat()
    candidate = real.with_name(f".{real.name}.{os.getpid()}.tmp")
    # created with the old mode from the start: the text is never readable by more people than before
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IMODE(before.st_mode))
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(candidate, stat.S_IMODE(before.st_mode))  # the umask may have narrowed os.open's mode
        if (before.st_uid, before.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(candidate, before.st_uid, before.st_gid)
            except PermissionError:
                pass  # only root may give a file away; the file then belongs to whoever edits it
        settings = load_settings(candidate)
        if not check(settings):
            raise ConfigError(f"{path}: the setting is defined in a form newswatch does not edit; edit the file by hand")
    except BaseException as exc:
        candidate.unlink(missing_ok=True)
        if isinstance(exc, ConfigError):
            raise ConfigError(str(exc).replace(str(candidate), str(path))) from None
        raise
    os.replace(candidate, real)
    return replace(settings, source=path)


def _toml_string(value: str) -> str:
    # a JSON string literal is a valid TOML basic string
    return json.dumps(value, ensure_ascii=False)


class OpmlError(ValueError):
    """An OPML file that cannot be imported; the message names the file and the place."""


@dataclass(frozen=True)
class ImportReport:
    added: tuple[Feed, ...]
    skipped: tuple[Feed, ...]
    """Feeds the config already has (by URL); their config tables are left as they are."""


def import_opml(settings: Settings, data: bytes, source: str) -> ImportReport:
    """Append a ``[[feeds]]`` table for each feed of the OPML document not configured yet, in one validated edit."""
    configured = {feed.url for feed in settings.feeds}
    feeds = read_opml(data, source)
    added = tuple(feed for feed in feeds if feed.url not in configured)
    if added:
        _append_validated(settings, [line for feed in added for line in _feed_table(feed.url, feed.name, feed.tags)])
    return ImportReport(added, tuple(feed for feed in feeds if feed.url in configured))


def read_opml(data: bytes, source: str) -> list[Feed]:
    """The feeds of an OPML 1.0/2.0 document: each outline with an ``xmlUrl``, named by its ``text`` (or
    ``title``), tagged with the folders (outlines without ``xmlUrl``) it sits in and its ``category``
    attribute (comma-separated; OPML's leading "/" of a category path dropped). A feed listed in several
    folders is one feed with all their tags.

    Parsed with expat directly so that no entity is ever declared or expanded (a billion-laughs file is
    refused, not expanded) and no DTD is fetched.
    """
    feeds: dict[str, Feed] = {}
    folders: list[str | None] = []
    root: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if not root:
            root.append(tag)
            if tag != "opml":
                raise OpmlError(f"{source}: not OPML (the root element is <{tag}>, not <opml>)")
        if tag != "outline":
            return
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        name = (attrs.get("text") or attrs.get("title") or "").strip()
        folders.append(None if url else name or None)
        if not url:
            return
        problem = feed_url_problem(url)
        if problem:
            raise OpmlError(f"{source}:{parser.CurrentLineNumber}: outline {name or url!r}: {problem}, got {url!r}")
        categories = (c.strip().strip("/") for c in attrs.get("category", "").split(","))
        tags = [folder for folder in folders if folder] + [c for c in categories if c]
        # the config reads ${NAME} from the environment: a file from elsewhere would have a URL send the value to
        # its server, or a name or tag show it in every digest
        if any("${" in text for text in (url, name, *tags)):
            raise OpmlError(f"{source}:{parser.CurrentLineNumber}: outline {name or url!r}: a ${{NAME}} reference is "
                            "refused in an imported feed (add such a feed with `feeds add`)")
        known = feeds.get(url)
        feeds[url] = Feed(url=url, name=known.name if known else name or url,
                          tags=tuple(dict.fromkeys((*known.tags, *tags) if known else tags)))

    def end(tag: str) -> None:
        if tag == "outline":
            folders.pop()

    def refuse_entities(*_args: object) -> None:
        raise OpmlError(f"{source}:{parser.CurrentLineNumber}: entity declarations are refused in OPML")

    parser = pyexpat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = refuse_entities
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError as exc:
        raise OpmlError(f"{source}: not well-formed XML: {exc}") from None
    if not root:
        raise OpmlError(f"{source}: empty file, not OPML")
    return list(feeds.values())


def opml(feeds: tuple[Feed, ...]) -> str:
    """The feed list as OPML 2.0: one flat outline per feed, its tags in ``category`` (read_opml reads it back).

    No dateCreated: the same feed list gives the same file, so exports can be diffed and versioned.
    """
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = "newswatch feeds"
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.name, "title": feed.name, "xmlUrl": feed.url}
        if feed.tags:
            attrs["category"] = ",".join(feed.tags)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


HEALTH = ("new", "healthy", "failing", "unhealthy", "removed")


def feed_health(consecutive_failures: int, last_success_at: datetime | None, unhealthy_after: int) -> str:
    """``new`` (never fetched), ``healthy`` (the last fetch worked), ``failing`` (failed lately, fewer than
    ``unhealthy_after`` times in a row since it last worked) or ``unhealthy`` (that many failures in a row,
    or failures and never a success: a feed that never worked has given nothing)."""
    if consecutive_failures == 0:
        return "healthy" if last_success_at is not None else "new"
    if consecutive_failures >= unhealthy_after or last_success_at is None:
        return "unhealthy"
    return "failing"


def name_and_url(name: str, url: str) -> str:
    """A feed as a line of text names it: ``name <url>``, or the URL alone where it has no other name."""
    return f"{name} <{url}>" if name != url else url


def failures_in_a_row(count: int) -> str:
    return f"{count} failure in a row" if count == 1 else f"{count} failures in a row"


@dataclass(frozen=True)
class FeedStatus:
    id: int | None
    """The store's id; None for a configured feed never fetched yet."""
    url: str
    name: str
    health: str
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    items_stored: int
    last_new_item_at: datetime | None
    next_attempt_at: datetime | None
    fetch_url: str | None

    @property
    def healthy(self) -> bool:
        """Not failing: a removed feed is no longer fetched, so it cannot be failing."""
        return self.health not in ("failing", "unhealthy")

    def as_json(self) -> dict[str, Any]:
        return {**{name: value.isoformat() if isinstance(value, datetime) else value
                   for name, value in self.__dict__.items()}, "healthy": self.healthy}


def feed_statuses(settings: Settings, store: Store) -> list[FeedStatus]:
    """Every configured feed with its health, then the removed feeds whose items the store keeps, as
    ``removed`` (not fetched any more, so never failing)."""
    rows = {row.url: row for row in store.feed_rows()}
    configured = {feed.url for feed in settings.feeds}
    removed = [Feed(row.url, row.name) for row in rows.values() if row.url not in configured and row.items_stored]
    statuses = []
    for feed in [*settings.feeds, *removed]:
        row = rows.get(feed.url)
        failures = row.consecutive_failures if row else 0
        health = (feed_health(failures, row.last_success_at if row else None, settings.fetch.unhealthy_after)
                  if feed.url in configured else "removed")
        statuses.append(FeedStatus(
            id=row.id if row else None, url=feed.url, name=row.name if row else feed.name, health=health,
            last_success_at=row.last_success_at if row else None, last_error=row.last_error if row else None,
            consecutive_failures=failures, items_stored=row.items_stored if row else 0,
            last_new_item_at=row.last_new_item_at if row else None,
            next_attempt_at=row.next_attempt_at if row else None, fetch_url=row.fetch_url if row else None))
    return statuses
