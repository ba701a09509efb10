"""build_digest(matches, topics) → Digest: the subject, plain text, HTML and Markdown of one alert or digest. Pure.

One entry per story: syndicated copies of one story (same ``story_id``; an item without one is its own
story) collapse into the highest-scoring copy plus "+N sources", and every other copy is still listed under
it (source, title, link), so a copy that clustering put in the wrong story is never hidden. The review page's
inbox groups its stories by the same rules (``lead_copy``, ``other_outlets``, ``more_sources``). Every piece
of feed-provided text is escaped in the HTML; the plain-text part is written here, not converted from HTML.
Only http(s) links become links (``http_url``); a javascript: or data: link is shown as text in the plain part.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TypeVar
from zoneinfo import ZoneInfo

from .models import Item, Match, Prediction
from .normalize import UNDETERMINED
from .untrusted import http_url, printable

SNIPPET_CHARS = 200
"""About two lines of a mail client's reading pane."""
TITLE_CHARS = 300
"""A message shows at most this much of a title (the store keeps it whole): a feed's 1 MB title must not make a
message its channel refuses, taking the other items of the alert with it."""
URL_CHARS = 2048
"""A longer link is left out of messages (a cut URL leads nowhere)."""
FONTS = "Helvetica,Arial,'Noto Sans CJK KR','Apple SD Gothic Neo','Malgun Gothic',sans-serif"
"""Latin first, then faces with Hangul and Cyrillic on Linux, macOS and Windows."""

KINDS = ("digest", "immediate", "surge")
_OLDEST = datetime.min.replace(tzinfo=timezone.utc)


class _Scored(Protocol):
    @property
    def prediction(self) -> Prediction | None: ...


Copy = TypeVar("Copy", bound=_Scored)
AnyCopy = TypeVar("AnyCopy")


def topic_score(prediction: Prediction | None, topic: str | None) -> float:
    """The score for ``topic``; with no topic, the best of the item's scores; 0 when it is not scored."""
    if prediction is None:
        return 0.0
    if topic is None:
        return max(prediction.scores.values(), default=0.0)
    return prediction.scores.get(topic, 0.0)


def lead_copy(copies: Iterable[Copy], topic: str | None) -> Copy:
    """The copy a story shows: the highest-scored for the topic, whose "why" explains the match best (the
    first of equals)."""
    return max(copies, key=lambda copy: topic_score(copy.prediction, topic))


def other_outlets(lead: AnyCopy, copies: Iterable[AnyCopy], source: Callable[[AnyCopy], str]) -> list[AnyCopy]:
    """The first copy of each outlet besides the lead's: what "+N sources" counts (a feed that carried the
    story twice is one source)."""
    seen = {source(lead)}
    outlets = []
    for copy in copies:
        if source(copy) not in seen:
            seen.add(source(copy))
            outlets.append(copy)
    return outlets


def more_sources(count: int) -> str:
    return f"+{count} source{'s' if count > 1 else ''}"


@dataclass(frozen=True)
class Story:
    """The copies of one story that matched a topic; the lead is the one shown."""

    topic: str
    copies: tuple[Match, ...]

    @cached_property
    def lead(self) -> Match:
        return lead_copy(self.copies, self.topic)

    @cached_property
    def other_sources(self) -> int:
        return len(other_outlets(self.lead, self.copies, source=lambda m: m.source))

    @cached_property
    def others(self) -> tuple[Match, ...]:
        """Every copy but the lead, newest first."""
        rest = [m for m in self.copies if m is not self.lead]
        return tuple(sorted(rest, key=lambda m: m.item.published or _OLDEST, reverse=True))

    @cached_property
    def newest(self) -> datetime:
        return max((m.item.published or _OLDEST for m in self.copies), default=_OLDEST)


@dataclass(frozen=True)
class Digest:
    """One message: its subject, the items it holds, and its plain-text, HTML and Markdown renderings, each written
    when first read or streamed to a file in pieces (``pieces``): a first run's digest of thousands of stories
    makes tens of megabytes of each, which a digest copy need never hold at once."""

    subject: str
    item_ids: tuple[int, ...]
    entries: dict[str, list[_Entry]] = field(repr=False, compare=False)
    """Per topic title, its stories' entries."""
    footer: str = ""
    kind: str = "digest"

    @property
    def key(self) -> str:
        """The same items make the same message: the outbox uses this so nothing is owed twice."""
        ids = ",".join(map(str, sorted(self.item_ids)))
        seed = ids if self.kind == "digest" else f"{self.kind}:{ids}"
        return hashlib.sha256(seed.encode()).hexdigest()[:24]

    # each rendering in pieces, as its lines come (a first run's copy of thousands of stories is written without
    # its whole text in memory); joined, they are the property of that name
    def text_pieces(self) -> Iterator[str]:
        return _stripped(_text(self.entries, self.subject, self.footer))

    def markdown_pieces(self) -> Iterator[str]:
        return _stripped(_markdown(self.entries, self.footer))

    def html_pieces(self) -> Iterator[str]:
        return (f"{line}\n" for line in _html(self.entries, self.subject, self.footer))

    @cached_property
    def text(self) -> str:
        return "".join(self.text_pieces())

    @cached_property
    def html(self) -> str:
        return "".join(self.html_pieces())

    @cached_property
    def markdown(self) -> str:
        return "".join(self.markdown_pieces())


def _stripped(lines: Iterable[str]) -> Iterator[str]:
    """``"\\n".join(lines).rstrip() + "\\n"`` in pieces, given as the lines come: each line is held only until a
    later one has text (the trailing blank lines, and the last line's trailing spaces, are left out)."""
    held: list[str] = []  # the last line with text, and the blank lines after it
    started = False
    for line in lines:
        if line.strip() and held:
            yield ("\n" if started else "") + "\n".join(held)
            started, held = True, []
        held.append(line)
    yield ("\n" if started else "") + "\n".join(held).rstrip() + "\n"


def story_id(item: Item) -> str:
    """Items of one story share a story id; an item without one is the story of its own id (as in the store)."""
    story = item.story_id or item.id
    return str(story) if story is not None else f"key:{item.key}"


def counts_for(prediction: Prediction, topic: str, threshold: float | None = None) -> bool:
    """Whether an item counts for ``topic``: the model tagged it, or, given a threshold, its score reaches it."""
    return topic in prediction.tags if threshold is None else prediction.scores.get(topic, 0.0) >= threshold


def stories_by_topic(matches: Sequence[Match], topics: Iterable[str],
                     threshold: float | None = None) -> dict[str, list[Story]]:
    """Stories per topic of ``topics``, newest first (see ``counts_for``). A story about two topics shows under both."""
    grouped: dict[str, list[Story]] = {}
    for topic in topics:
        copies: dict[str, list[Match]] = {}
        for m in matches:
            if counts_for(m.prediction, topic, threshold):
                copies.setdefault(story_id(m.item), []).append(m)
        if copies:
            grouped[topic] = sorted((Story(topic, tuple(c)) for c in copies.values()),
                                    key=lambda s: s.newest, reverse=True)
    return grouped


def subject_line(grouped: dict[str, list[Story]], titles: Mapping[str, str], kind: str = "digest") -> str:
    counts = ", ".join(f"{len(stories)} new: {titles[t]}" for t, stories in grouped.items())
    return f"Alert: {counts}" if kind == "immediate" else counts


def build_digest(matches: Sequence[Match], topics: Mapping[str, str], tz: str = "UTC",
                 threshold: float | None = None, web_base_url: str | None = None,
                 kind: str = "digest", subject: str | None = None,
                 tagged_at: Mapping[str, float] | None = None) -> Digest | None:
    """The message for the matches on ``topics`` (name → title, in the order shown; ``Settings.titles``),
    or None when none of them counts for one.
    ``subject`` replaces the counting subject line (surge alerts say what surged). ``tagged_at`` (the
    model's tagging threshold per topic) is named in the footer, so a reader knows what "tagged" meant,
    after the channel ``threshold`` where the channel lists by score."""
    grouped = stories_by_topic(matches, topics, threshold)
    if not grouped:
        return None
    zone = ZoneInfo(tz)
    entries = {topics[topic]: [_Entry.of(story, zone, web_base_url) for story in stories]
               for topic, stories in grouped.items()}
    item_ids = tuple(sorted({m.item.id for stories in grouped.values() for s in stories for m in s.copies
                             if m.item.id is not None}))
    subject = printable(subject or subject_line(grouped, topics, kind))
    footer = tagging_footer(list(grouped), threshold, tagged_at)
    return Digest(subject=subject, item_ids=item_ids, entries=entries, footer=footer, kind=kind)


def tagging_footer(topics: Sequence[str], threshold: float | None, tagged_at: Mapping[str, float] | None) -> str:
    """What a match meant, for every rendering of every message: the channel's own threshold where it
    lists by score, and the model's tagging thresholds ("tagged at russia_dprk ≥ 0.42, alliance_drills ≥
    0.38"), which an analyst may have pinned on the model page and should see at work in each alert."""
    parts = [f"listed at score ≥ {threshold:.2f} (this channel's threshold)"] if threshold is not None else []
    named = [f"{topic} ≥ {tagged_at[topic]:.2f}" for topic in topics if tagged_at and topic in tagged_at]
    if named:
        parts.append("tagged at " + ", ".join(named))
    return "; ".join(parts)


def label_command(item: Item, topic: str, verdict: str = "yes|no") -> str:
    return f"newswatch label {item.id} {topic} {verdict}"


def _when(item: Item, zone: ZoneInfo) -> str:
    return item.published.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if item.published else "undated"


def _snippet(item: Item) -> str:
    return _shortened(item.summary or item.text, SNIPPET_CHARS)


def _link(item: Item) -> str | None:
    return item.url if item.url and len(item.url) <= URL_CHARS else None


def _shortened(text: str, limit: int) -> str:
    """At most ``limit`` characters, whitespace folded, cut at a word where there is one."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


@dataclass(frozen=True)
class _Entry:
    """What one story's entry says, once, for the three renderings. Plain (unescaped) text."""

    title: str
    link: str | None
    """The item's URL when it is http(s): the only kind that becomes a link."""
    url_text: str | None
    """The item's URL as text, whatever its scheme (the plain-text part)."""
    byline: str
    snippet: str
    lang: str
    """The lead copy's language: "[ko]" in the byline, the lang attribute of its title and snippet in HTML."""
    why: str
    label: str
    label_link: str | None
    others: tuple[tuple[str, str, str | None, str | None], ...] = ()
    """The story's other copies: (source + time, title, http(s) link or None, URL as text)."""

    @classmethod
    def of(cls, story: Story, zone: ZoneInfo, web_base_url: str | None) -> "_Entry":
        item, topic = story.lead.item, story.topic
        when = _when(item, zone)
        n = story.other_sources
        more = f" {more_sources(n)}" if n else ""
        return cls(
            # printable(): a title or feed name that skipped normalization (a test, a future source) still
            # cannot put a terminal escape or an unencodable surrogate into a message
            title=printable(_shortened(item.title, TITLE_CHARS)), link=http_url(_link(item)),
            url_text=printable(_link(item) or "") or None,
            byline=printable(f"{story.lead.source}{_lang_tag(item)}{more} · {when} · "
                             f"score {story.lead.prediction.scores.get(topic, 0.0):.2f}"),
            snippet=printable(_snippet(item)), lang=item.lang,
            why=printable(", ".join(story.lead.prediction.why.get(topic, ()))),
            label=label_command(item, topic),
            label_link=f"{web_base_url}/items/{item.id}" if web_base_url and item.id is not None else None,
            others=tuple((printable(f"{m.source}{_lang_tag(m.item)} · {_when(m.item, zone)}"),
                          printable(_shortened(m.item.title, TITLE_CHARS)), http_url(_link(m.item)),
                          printable(_link(m.item) or "") or None) for m in story.others))


def _lang_tag(item: Item) -> str:
    """The " [ko]" after a source's name; nothing when the language could not be told."""
    return f" [{item.lang}]" if item.lang != UNDETERMINED else ""


def _text(entries: dict[str, list[_Entry]], subject: str, footer: str) -> Iterator[str]:
    """The plain-text lines; ``entries``: per topic title, its stories' entries (as for ``_markdown`` and ``_html``)."""
    yield from (subject, "")
    for title, topic_entries in entries.items():
        heading = f"{title} ({len(topic_entries)})"
        yield from (heading, "=" * len(heading), "")
        for entry in topic_entries:
            yield from (f"* {entry.title}", f"  {entry.byline}")
            yield from (f"  {line}" for line in (entry.url_text, entry.snippet) if line)
            if entry.why:
                yield f"  why: {entry.why}"
            for byline, title, _, url_text in entry.others:
                yield f"  also: {byline}: {title}" + (f" <{url_text}>" if url_text else "")
            yield f"  label: {entry.label}"
            if entry.label_link:
                yield f"  label online: {entry.label_link}"
            yield ""
    if footer:
        yield from ("--", footer)


def _md(value: str) -> str:
    return value.replace("[", "\\[").replace("]", "\\]").replace("*", "\\*").replace("_", "\\_")


def _markdown(entries: dict[str, list[_Entry]], footer: str) -> Iterator[str]:
    """Compact, for chat and webhook channels: its lines."""
    for title, topic_entries in entries.items():
        yield f"**{_md(title)} ({len(topic_entries)})**"
        for entry in topic_entries:
            title = f"[{_md(entry.title)}](<{entry.link}>)" if entry.link else _md(entry.title)
            yield f"- {title} — {_md(entry.byline)}"
            if entry.snippet:
                yield f"  {_md(entry.snippet)}"
            for byline, title, link, _ in entry.others:
                also = f"[{_md(title)}](<{link}>)" if link else _md(title)
                yield f"  also: {_md(byline)}: {also}"
            why = f"why: {_md(entry.why)} · " if entry.why else ""
            link = f" · [label]({entry.label_link})" if entry.label_link else ""
            yield f"  {why}`{entry.label}`{link}"
        yield ""
    if footer:
        yield f"_{_md(footer)}_"


def _html(entries: dict[str, list[_Entry]], subject: str, footer: str) -> Iterator[str]:
    """Its lines (an entry is one)."""
    e = html.escape
    yield from ['<!doctype html><html><head><meta charset="utf-8">',
                f'<title>{e(subject)}</title></head>',
                f'<body style="margin:0;background:#f3f5f8;font-family:{FONTS};color:#1d2733">',
                '<div style="max-width:720px;margin:0 auto;padding:24px">',
                '<div style="font-size:12px;letter-spacing:1px;text-transform:uppercase;color:#5f6b7a">newswatch</div>',
                f'<h1 style="font-size:22px;margin:4px 0 20px 0">{e(subject)}</h1>']
    for title, topic_entries in entries.items():
        yield (f'<h2 style="font-size:17px;border-bottom:2px solid #2b4a6f;padding-bottom:4px;'
               f'margin:24px 0 12px 0">{e(title)} '
               f'<span style="color:#5f6b7a;font-weight:normal">({len(topic_entries)})</span></h2>')
        yield from map(_html_entry, topic_entries)
    yield from ['<p style="font-size:12px;color:#5f6b7a;margin-top:28px">Scores are the model\'s confidence; '
                '"why" lists the terms that pushed it. Run the label command (or follow the label link) '
                f'to teach the model.{" " + e(footer[:1].upper() + footer[1:]) + "." if footer else ""}</p>',
                "</div></body></html>"]


def _html_entry(entry: _Entry) -> str:
    """Every feed-provided string goes through html.escape, attribute values included."""
    e = html.escape
    small = "font-size:12px;color:#3d4b5c;margin-top:6px"
    title = (f'<a href="{e(entry.link)}" style="color:#0b4f8a;text-decoration:none">{e(entry.title)}</a>'
             if entry.link else e(entry.title))
    lang = f' lang="{e(entry.lang)}"' if entry.lang != UNDETERMINED else ""
    parts = ['<div style="background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:12px 14px;'
             'margin:0 0 12px 0">',
             f'<div{lang} style="font-size:16px;font-weight:bold;line-height:1.3">{title}</div>',
             f'<div style="color:#5f6b7a;font-size:13px;margin-top:2px">{e(entry.byline)}</div>']
    if entry.snippet:
        parts.append(f'<div{lang} style="font-size:14px;line-height:1.45;margin-top:6px">{e(entry.snippet)}</div>')
    if entry.why:
        parts.append(f'<div style="{small}"><b>why:</b> {e(entry.why)}</div>')
    for byline, title, link, _ in entry.others:
        also = (f'<a href="{e(link)}" style="color:#0b4f8a">{e(title)}</a>' if link else e(title))
        parts.append(f'<div style="{small}">also: {e(byline)}: {also}</div>')
    link = f' · <a href="{e(entry.label_link)}" style="color:#0b4f8a">label online</a>' if entry.label_link else ""
    parts.append(f'<div style="{small}">label: <code style="background:#eef1f5;padding:1px 4px;border-radius:3px">'
                 f'{e(entry.label)}</code>{link}</div>')
    parts.append("</div>")
    return "\n".join(parts)
