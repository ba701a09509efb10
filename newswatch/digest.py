"""build_digest(matches) → Digest: the subject, plain text, HTML and Markdown of one alert digest. Pure."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence
from zoneinfo import ZoneInfo

from .models import TOPIC_TITLES, TOPICS, Item, Prediction

SNIPPET_CHARS = 240


@dataclass(frozen=True)
class Match:
    item: Item
    prediction: Prediction
    source: str


@dataclass(frozen=True)
class Digest:
    subject: str
    text: str
    html: str
    markdown: str
    item_ids: tuple[int, ...]

    @property
    def key(self) -> str:
        """The same items make the same digest: the outbox uses this so nothing is owed twice."""
        return hashlib.sha256(",".join(map(str, sorted(self.item_ids))).encode()).hexdigest()[:24]


def by_topic(matches: Sequence[Match], topics: Sequence[str] = TOPICS) -> dict[str, list[Match]]:
    """Matches per topic, newest first; an item tagged with both topics shows under both."""
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    grouped = {}
    for topic in topics:
        tagged = [m for m in matches if topic in m.prediction.tags]
        if tagged:
            grouped[topic] = sorted(tagged, key=lambda m: m.item.published or oldest, reverse=True)
    return grouped


def subject_line(grouped: dict[str, list[Match]]) -> str:
    return "newswatch: " + ", ".join(f"{len(ms)} new: {TOPIC_TITLES[t]}" for t, ms in grouped.items())


def build_digest(matches: Sequence[Match], topics: Sequence[str] = TOPICS, tz: str = "UTC",
                 base_url: str | None = None) -> Digest | None:
    """The digest of the matches for the given topics, or None when none of them is tagged with one.

    With ``base_url`` (``[web] base_url``), every entry links to its page on ``newswatch web``."""
    grouped = by_topic(matches, topics)
    if not grouped:
        return None
    zone = ZoneInfo(tz)
    item_ids = tuple(sorted({m.item.id for ms in grouped.values() for m in ms if m.item.id is not None}))
    return Digest(
        subject=subject_line(grouped),
        text=_text(grouped, zone, base_url),
        html=_html(grouped, zone, base_url),
        markdown=_markdown(grouped, zone, base_url),
        item_ids=item_ids,
    )


def _when(item: Item, zone: ZoneInfo) -> str:
    return item.published.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if item.published else "undated"


def _snippet(item: Item) -> str:
    body = item.summary or item.text
    return body if len(body) <= SNIPPET_CHARS else body[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"


def _why(match: Match, topic: str) -> str:
    return ", ".join(match.prediction.why.get(topic, ()))


def label_command(item: Item, topic: str) -> str:
    return f"newswatch label {item.id} {topic} no"


def item_page_url(base_url: str | None, item: Item) -> str | None:
    """The item's page on ``newswatch web``, where one click labels it."""
    return f"{base_url.rstrip('/')}/items/{item.id}" if base_url and item.id is not None else None


def _text(grouped: dict[str, list[Match]], zone: ZoneInfo, base_url: str | None = None) -> str:
    lines = []
    for topic, matches in grouped.items():
        lines += [f"{TOPIC_TITLES[topic]} ({len(matches)})", "=" * 40]
        for m in matches:
            lines.append(f"* {m.item.title}")
            lines.append(f"  {m.source} · {_when(m.item, zone)} · score {m.prediction.scores[topic]:.2f}")
            if m.item.url:
                lines.append(f"  {m.item.url}")
            if _snippet(m.item):
                lines.append(f"  {_snippet(m.item)}")
            if _why(m, topic):
                lines.append(f"  why: {_why(m, topic)}")
            lines.append(f"  wrong? {label_command(m.item, topic)}")
            if item_page_url(base_url, m.item):
                lines.append(f"  label it: {item_page_url(base_url, m.item)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _markdown(grouped: dict[str, list[Match]], zone: ZoneInfo, base_url: str | None = None) -> str:
    def md(value: str) -> str:
        return value.replace("[", "\\[").replace("]", "\\]")

    lines = []
    for topic, matches in grouped.items():
        lines += [f"## {TOPIC_TITLES[topic]} ({len(matches)})", ""]
        for m in matches:
            title = f"[{md(m.item.title)}](<{m.item.url}>)" if m.item.url else md(m.item.title)
            lines.append(f"- **{title}** — {md(m.source)}, {_when(m.item, zone)}, "
                         f"score {m.prediction.scores[topic]:.2f}")
            if _snippet(m.item):
                lines.append(f"  {md(_snippet(m.item))}")
            if _why(m, topic):
                lines.append(f"  _why: {md(_why(m, topic))}_")
            lines.append(f"  wrong? `{label_command(m.item, topic)}`")
            if item_page_url(base_url, m.item):
                lines.append(f"  [label it]({item_page_url(base_url, m.item)})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _html(grouped: dict[str, list[Match]], zone: ZoneInfo, base_url: str | None = None) -> str:
    e = html.escape
    parts = ['<!doctype html><html><head><meta charset="utf-8"><title>newswatch digest</title></head>',
             '<body style="font-family:Helvetica,Arial,sans-serif;max-width:720px;margin:auto;color:#222">']
    for topic, matches in grouped.items():
        parts.append(f'<h2 style="border-bottom:2px solid #345;padding-bottom:4px">{e(TOPIC_TITLES[topic])} '
                     f'<span style="color:#777;font-weight:normal">({len(matches)})</span></h2>')
        for m in matches:
            title = (f'<a href="{e(m.item.url)}" style="color:#0b4f8a">{e(m.item.title)}</a>'
                     if m.item.url else e(m.item.title))
            parts.append('<div style="margin:0 0 16px 0">')
            parts.append(f'<div style="font-size:16px;font-weight:bold">{title}</div>')
            parts.append(f'<div style="color:#666;font-size:13px">{e(m.source)} · {e(_when(m.item, zone))} · '
                         f'score {m.prediction.scores[topic]:.2f}</div>')
            if _snippet(m.item):
                parts.append(f'<div style="font-size:14px;margin-top:4px">{e(_snippet(m.item))}</div>')
            if _why(m, topic):
                parts.append(f'<div style="font-size:12px;color:#555">why: {e(_why(m, topic))}</div>')
            page = item_page_url(base_url, m.item)
            on_page = f' or <a href="{e(page)}">label it on the page</a>' if page else ""
            parts.append(f'<div style="font-size:12px;color:#555">wrong? '
                         f'<code>{e(label_command(m.item, topic))}</code>{on_page}</div>')
            parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
