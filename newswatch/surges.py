"""Surges: a story that several outlets report within a short window, and a topic whose hourly count is far
above its own recent history — the two signals the Europe Media Monitor's "breaking news" alerting is built on.

Pure functions over stored stories and times, with ``now`` passed in; owing the alerts is alerts.py's job.
A story surges once (its alert is keyed by the story); a topic surges at most once per clock hour, and not
again in the hour after a surge hour, so one burst that straddles the hour sends one alert.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping, Sequence

from .digest import counts_for
from .models import Match
from .store import ScoredItem, ScoredStory

HISTORY = timedelta(days=14)
MIN_HISTORY = timedelta(days=3)
"""A topic's hourly counts mean nothing before it has been watched this long: no topic surges before."""


@dataclass(frozen=True)
class StorySurge:
    story_id: int
    topics: tuple[str, ...]
    copies: tuple[Match, ...]
    """The copies reported within the window, the first of each outlet included."""
    sources: int
    reached_at: datetime
    """When the N-th distinct source reported it: the surge's own time (latency is measured from it)."""

    @property
    def key(self) -> str:
        return f"surge-story-{self.story_id}"


@dataclass(frozen=True)
class TopicSurge:
    topic: str
    hour: datetime
    count: int
    usual: float
    spread: float
    matches: tuple[Match, ...]

    @property
    def key(self) -> str:
        return f"surge-topic-{self.topic}-{self.hour:%Y%m%d%H}"


def _match(copy: ScoredItem) -> Match:
    assert copy.prediction is not None, "only scored copies are read"
    return Match(copy.item, copy.prediction, copy.feed_name)


def story_surges(stories: Sequence[ScoredStory], topics: Sequence[str], now: datetime, min_sources: int,
                 window: timedelta, threshold: float | None = None) -> list[StorySurge]:
    """Stories counted for one of ``topics`` (see ``counts_for``) whose copies from at least ``min_sources``
    distinct outlets all fall within ``window`` before ``now``."""
    surges = []
    for story in stories:
        recent = sorted((c for c in story.copies if c.prediction is not None and now - window <= c.when <= now),
                        key=lambda c: c.when)
        about = tuple(t for t in topics if any(counts_for(c.prediction, t, threshold) for c in recent))  # type: ignore[arg-type]
        if not about:
            continue
        first_of_outlet: dict[str, ScoredItem] = {}
        for copy in recent:
            first_of_outlet.setdefault(copy.feed_name, copy)
        if len(first_of_outlet) >= min_sources:
            reached = sorted(c.when for c in first_of_outlet.values())[min_sources - 1]
            surges.append(StorySurge(story.story_id, about, tuple(map(_match, recent)), len(first_of_outlet), reached))
    return surges


def hourly_counts(times: Sequence[datetime], start: datetime, hours: int) -> list[int]:
    """How many of ``times`` fall in each of ``hours`` clock hours from ``start`` (zeros included)."""
    counts = [0] * hours
    for moment in times:
        index = int((moment - start).total_seconds() // 3600)
        if 0 <= index < hours:
            counts[index] += 1
    return counts


def topic_surge(topic: str, times: Sequence[datetime], now: datetime, sigmas: float, min_count: int,
                watched_since: datetime | None) -> tuple[int, float, float] | None:
    """(count this hour, usual hourly count, its standard deviation) when the clock hour of ``now`` holds at
    least ``min_count`` and ``sigmas`` standard deviations more than the hours of the last ``HISTORY``, and
    the hour before did not surge already; else None."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    history_start = max(hour - HISTORY, watched_since or hour)
    if hour - history_start < MIN_HISTORY:
        return None
    history_hours = int((hour - history_start).total_seconds() // 3600)
    counts = hourly_counts(times, history_start, history_hours + 1)
    previous, current = counts[:-1], counts[-1]

    def surges(count: int, before: list[int]) -> tuple[float, float] | None:
        usual, spread = statistics.fmean(before), statistics.pstdev(before)
        return (usual, spread) if count >= max(min_count, usual + sigmas * spread) else None

    found = surges(current, previous)
    if found is None or (len(previous) > 1 and surges(previous[-1], previous[:-1]) is not None):
        return None
    return current, found[0], found[1]


def topic_surges(times_by_topic: Mapping[str, Sequence[datetime]], stories: Sequence[ScoredStory], now: datetime,
                 sigmas: float, min_count: int, watched_since: datetime | None) -> list[TopicSurge]:
    """Every topic of ``times_by_topic`` (the times of the items the model tagged with it) that surges in the
    hour of ``now``, with the hour's tagged items."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    found = []
    for topic, times in times_by_topic.items():
        surge = topic_surge(topic, times, now, sigmas, min_count, watched_since)
        if surge is None:
            continue
        matches = tuple(_match(c) for story in stories for c in story.copies
                        if c.prediction is not None and hour <= c.when <= now
                        and topic in c.prediction.tags)
        found.append(TopicSurge(topic, hour, *surge, matches=matches))
    return found
