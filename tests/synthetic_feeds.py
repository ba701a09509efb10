"""Synthetic RSS feeds for the concurrency test and the benchmarks: distinct items, some on each topic."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape

TITLES = (
    "Putin and Kim sign new military cooperation pact in Pyongyang, talks round {n}",
    "US and South Korea begin Ulchi Freedom Shield combined drill, phase {n}",
    "Seoul stock market closes higher on chip exports, session {n}",
)


def write_feeds(directory: Path, count: int, items_per_feed: int = 3) -> list[str]:
    """Write ``count`` RSS files into ``directory``; return their file names. Every item is unique."""
    return _write_rss(directory, count, items_per_feed, "feed-{feed:04d}.xml", "Synthetic", "synthetic",
                      lambda n, index: TITLES[index % len(TITLES)].format(n=n),
                      lambda title: f"{title}. A synthetic report for load and concurrency tests.")


TOPIC_LEADS = (
    "Putin and Kim Jong Un sign military cooperation treaty in Pyongyang; Russia to supply DPRK missile technology",
    "South Korea, US and Japan hold joint military drills; North Korea condemns Freedom Shield exercise",
    "Seoul stock market closes higher as chipmakers rally on export data",
)


def distinct_title(n: int) -> str:
    """A title sharing no content words with any other but its topic's lead: every item its own story."""
    return f"{TOPIC_LEADS[n % len(TOPIC_LEADS)]} (dispatch {n}: " + " ".join(
        f"w{n}x{k}" for k in range(12)) + ")"


def write_distinct_feeds(directory: Path, count: int, items_per_feed: int = 3, offset: int = 0) -> list[str]:
    """Like ``write_feeds``, but no two items tell one story (story clustering keeps each apart), so a
    message can be checked for every item it owes (``newswatch label ID`` lines name the item)."""
    return _write_rss(directory, count, items_per_feed, f"distinct-{offset}-{{feed:04d}}.xml", "Distinct", "distinct",
                      lambda n, index: distinct_title(n), lambda title: title, offset)


def _write_rss(directory: Path, count: int, items_per_feed: int, file_name: str, channel: str, host: str,
               title_of: Callable[[int, int], str], description_of: Callable[[str], str], offset: int = 0) -> list[str]:
    """``count`` RSS 2.0 files of ``items_per_feed`` items each, item ``n`` (numbered from ``offset``; the
    ``index``-th of its feed) titled ``title_of(n, index)``, with its own link and guid on ``host``.example."""
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for feed in range(count):
        entries = []
        for index in range(items_per_feed):
            n = offset + feed * items_per_feed + index
            title = escape(title_of(n, index))
            entries.append(f"<item><title>{title}</title><link>https://{host}.example/{n}</link>"
                           f"<guid isPermaLink=\"false\">{host}-{n}</guid>"
                           f"<pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate>"
                           f"<description>{description_of(title)}</description></item>")
        name = file_name.format(feed=feed)
        (directory / name).write_text(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{channel} {feed}</title><link>https://{host}.example/</link><description>d</description>"
            + "".join(entries) + "</channel></rss>", encoding="utf-8")
        names.append(name)
    return names


def feeds_config(urls: list[str], channel_url: str | None = None) -> str:
    """A newswatch.toml monitoring ``urls`` (loopback, so private addresses are allowed)."""
    lines = ["allow_private_addresses = true"]
    for i, url in enumerate(urls):
        lines += ["[[feeds]]", f'url = "{url}"', f'name = "Synthetic {i}"']
    if channel_url:
        lines += ["[[channels]]", 'name = "mail"', f'url = "{channel_url}"']
    return "\n".join(lines) + "\n"


def assert_each_tagged_story_mailed_once(bodies: list[str], tagged: list[tuple[int, str, int]]) -> None:
    """Every tagged story (``tagged``: item id, title, story id) reached the analyst in one of the mail
    ``bodies``, and no item's title reached them twice."""

    def mentions(title: str) -> int:
        whole_title = re.compile(re.escape(title) + r"(?!\d)")  # "round 3" is not "round 33"
        return sum(bool(whole_title.search(body)) for body in bodies)

    stories: dict[int, list[str]] = {}
    for _, title, story in tagged:
        stories.setdefault(story, []).append(title)
        assert mentions(title) <= 1, f"{title} reached the analyst twice"
    # copies of one story collapse into an entry led by one of them
    unsent = [titles for titles in stories.values() if not sum(map(mentions, titles))]
    assert not unsent, f"{len(unsent)} tagged stories never reached the analyst, e.g. {unsent[:2]}"
