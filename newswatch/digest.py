"""build_digest(matches) → Digest: the subject, plain text, HTML and Markdown of one alert or digest. Pure.

One entry per story: syndicated copies of one story (same ``story_id`` once items carry one; until then
every item is its own story) collapse into the highest-scoring copy plus "+N sources". Every piece of
feed-provided text is escaped in the HTML; the plain-text part is written here, not converted from HTML.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence
from zoneinfo import ZoneInfo

from .models import TOPIC_TITLES, TOPICS, Item, Prediction

SNIPPET_CHARS = 200
"""About two lines of a mail client's reading pane."""

KINDS = ("digest", "immediate")
_OLDEST = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Match:
    item: Item
    prediction: Prediction
    source: str


@dataclass(frozen=True)
class Story:
    """The copies of one story that matched a topic; the lead is the one shown."""

    topic: str
    copies: tuple[Match, ...]

    @property
    def lead(self) -> Match:
        return max(self.copies, key=lambda m: m.prediction.scores.get(self.topic, 0.0))

    @property
    def other_sources(self) -> int:
        return len({m.source for m in self.copies} - {self.lead.source})

    @property
    def newest(self) -> datetime:
        return max((m.item.published or _OLDEST for m in self.copies), default=_OLDEST)


@dataclass(frozen=True)
class Digest:
    subject: str
    text: str
    html: str
    markdown: str
    item_ids: tuple[int, ...]
    kind: str = "digest"

    @property
    def key(self) -> str:
        """The same items make the same message: the outbox uses this so nothing is owed twice."""
        ids = ",".join(map(str, sorted(self.item_ids)))
        seed = ids if self.kind == "digest" else f"{self.kind}:{ids}"
        return hashlib.sha256(seed.encode()).hexdigest()[:24]


def story_id(item: Item) -> str:
    """Items of one story share a story id (issue 6 adds it to Item); an item without one stands alone."""
    shared = getattr(item, "story_id", None)
    return str(shared) if shared else f"item:{item.id if item.id is not None else item.key}"


def stories_by_topic(matches: Sequence[Match], topics: Sequence[str] = TOPICS,
                     threshold: float | None = None) -> dict[str, list[Story]]:
    """Stories per topic, newest first. A match counts for a topic when the model tagged it, or, given a
    threshold, when its score reaches it. A story about both topics shows under both."""
    grouped: dict[str, list[Story]] = {}
    for topic in topics:
        copies: dict[str, list[Match]] = {}
        for m in matches:
            counts = (topic in m.prediction.tags if threshold is None
                      else m.prediction.scores.get(topic, 0.0) >= threshold)
            if counts:
                copies.setdefault(story_id(m.item), []).append(m)
        if copies:
            grouped[topic] = sorted((Story(topic, tuple(c)) for c in copies.values()),
                                    key=lambda s: s.newest, reverse=True)
    return grouped


def subject_line(grouped: dict[str, list[Story]], kind: str = "digest") -> str:
    counts = ", ".join(f"{len(stories)} new: {TOPIC_TITLES[t]}" for t, stories in grouped.items())
    return f"Alert: {counts}" if kind == "immediate" else counts


def build_digest(matches: Sequence[Match], topics: Sequence[str] = TOPICS, tz: str = "UTC",
                 threshold: float | None = None, web_base_url: str | None = None,
                 kind: str = "digest") -> Digest | None:
    """The message for the matches on the given topics, or None when none of them counts for one."""
    grouped = stories_by_topic(matches, topics, threshold)
    if not grouped:
        return None
    render = _Renderer(ZoneInfo(tz), web_base_url)
    item_ids = tuple(sorted({m.item.id for stories in grouped.values() for s in stories for m in s.copies
                             if m.item.id is not None}))
    subject = subject_line(grouped, kind)
    return Digest(subject=subject, text=render.text(grouped, subject), html=render.html(grouped, subject),
                  markdown=render.markdown(grouped), item_ids=item_ids, kind=kind)


def label_command(item: Item, topic: str, verdict: str = "yes|no") -> str:
    return f"newswatch label {item.id} {topic} {verdict}"


def _snippet(item: Item) -> str:
    body = " ".join((item.summary or item.text).split())
    return body if len(body) <= SNIPPET_CHARS else body[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"


class _Renderer:
    """The three renderings of one grouped digest, sharing the per-entry facts."""

    def __init__(self, zone: ZoneInfo, web_base_url: str | None):
        self.zone = zone
        self.web_base_url = web_base_url

    def when(self, item: Item) -> str:
        return item.published.astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z") if item.published else "undated"

    def byline(self, story: Story) -> str:
        more = f" +{story.other_sources} source{'s' if story.other_sources > 1 else ''}" if story.other_sources else ""
        return (f"{story.lead.source}{more} · {self.when(story.lead.item)} · "
                f"score {story.lead.prediction.scores.get(story.topic, 0.0):.2f}")

    @staticmethod
    def why(story: Story) -> str:
        return ", ".join(story.lead.prediction.why.get(story.topic, ()))

    def label_link(self, item: Item) -> str | None:
        return f"{self.web_base_url}/items/{item.id}" if self.web_base_url and item.id is not None else None

    def text(self, grouped: dict[str, list[Story]], subject: str) -> str:
        lines = [subject, ""]
        for topic, stories in grouped.items():
            heading = f"{TOPIC_TITLES[topic]} ({len(stories)})"
            lines += [heading, "=" * len(heading), ""]
            for story in stories:
                item = story.lead.item
                lines.append(f"* {item.title}")
                lines.append(f"  {self.byline(story)}")
                lines += [f"  {line}" for line in (item.url, _snippet(item)) if line]
                if self.why(story):
                    lines.append(f"  why: {self.why(story)}")
                lines.append(f"  label: {label_command(item, topic)}")
                if self.label_link(item):
                    lines.append(f"  label online: {self.label_link(item)}")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def markdown(self, grouped: dict[str, list[Story]]) -> str:
        """Compact, for chat and webhook channels."""

        def md(value: str) -> str:
            return value.replace("[", "\\[").replace("]", "\\]").replace("*", "\\*").replace("_", "\\_")

        lines = []
        for topic, stories in grouped.items():
            lines.append(f"**{TOPIC_TITLES[topic]} ({len(stories)})**")
            for story in stories:
                item = story.lead.item
                title = f"[{md(item.title)}](<{item.url}>)" if item.url else md(item.title)
                lines.append(f"- {title} — {md(self.byline(story))}")
                if _snippet(item):
                    lines.append(f"  {md(_snippet(item))}")
                why = f"why: {md(self.why(story))} · " if self.why(story) else ""
                link = f" · [label]({self.label_link(item)})" if self.label_link(item) else ""
                lines.append(f"  {why}`{label_command(item, topic)}`{link}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def html(self, grouped: dict[str, list[Story]], subject: str) -> str:
        e = html.escape
        muted = "color:#5f6b7a;font-size:13px"
        parts = ['<!doctype html><html><head><meta charset="utf-8">',
                 f'<title>{e(subject)}</title></head>',
                 '<body style="margin:0;background:#f3f5f8;font-family:Helvetica,Arial,sans-serif;color:#1d2733">',
                 '<div style="max-width:720px;margin:0 auto;padding:24px">',
                 '<div style="font-size:12px;letter-spacing:1px;text-transform:uppercase;color:#5f6b7a">newswatch</div>',
                 f'<h1 style="font-size:22px;margin:4px 0 20px 0">{e(subject)}</h1>']
        for topic, stories in grouped.items():
            parts.append(f'<h2 style="font-size:17px;border-bottom:2px solid #2b4a6f;padding-bottom:4px;'
                         f'margin:24px 0 12px 0">{e(TOPIC_TITLES[topic])} '
                         f'<span style="color:#5f6b7a;font-weight:normal">({len(stories)})</span></h2>')
            for story in stories:
                parts += self.html_entry(story, topic)
        parts += ['<p style="font-size:12px;color:#5f6b7a;margin-top:28px">Scores are the model\'s confidence; '
                  '"why" lists the terms that pushed it. Run the label command (or follow the label link) '
                  'to teach the model.</p>', "</div></body></html>"]
        return "\n".join(parts) + "\n"

    def html_entry(self, story: Story, topic: str) -> list[str]:
        e = html.escape
        item = story.lead.item
        title = (f'<a href="{e(item.url)}" style="color:#0b4f8a;text-decoration:none">{e(item.title)}</a>'
                 if item.url else e(item.title))
        parts = ['<div style="background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:12px 14px;'
                 'margin:0 0 12px 0">',
                 f'<div style="font-size:16px;font-weight:bold;line-height:1.3">{title}</div>',
                 f'<div style="color:#5f6b7a;font-size:13px;margin-top:2px">{e(self.byline(story))}</div>']
        if _snippet(item):
            parts.append(f'<div style="font-size:14px;line-height:1.45;margin-top:6px">{e(_snippet(item))}</div>')
        if self.why(story):
            parts.append(f'<div style="font-size:12px;color:#3d4b5c;margin-top:6px"><b>why:</b> '
                         f'{e(self.why(story))}</div>')
        link = self.label_link(item)
        action = f' · <a href="{e(link)}" style="color:#0b4f8a">label online</a>' if link else ""
        parts.append(f'<div style="font-size:12px;color:#3d4b5c;margin-top:6px">label: <code style="background:'
                     f'#eef1f5;padding:1px 4px;border-radius:3px">{e(label_command(item, topic))}</code>{action}</div>')
        parts.append("</div>")
        return parts
