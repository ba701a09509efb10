"""The one composer of a monitoring cycle: fetch → parse → normalize → store → classify → alert.

Each step is a function of its own so the Prefect flow can run them as tasks (one per feed, one
classify batch, one alert step); ``run_cycle`` is the same sequence without Prefect.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

import requests

from .config import Settings
from .digest import Digest, Match, build_digest
from .fetch import fetch, new_session
from .models import TOPIC_TITLES, TOPICS, Classifier, Feed, Item, Prediction
from .notify import DeliveryReport, Sender, deliver_owed, send_apprise
from .parse import NotAFeed, parse
from .store import Store, utcnow

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class FeedOutcome:
    url: str
    name: str
    new_items: tuple[Item, ...] = ()
    error: str | None = None
    not_modified: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class CycleReport:
    feeds: list[FeedOutcome] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    delivery: DeliveryReport = DeliveryReport(0, 0, ())
    digest_files: list[Path] = field(default_factory=list)
    model_version: str | None = None
    seconds: float = 0.0

    @property
    def feeds_ok(self) -> int:
        return sum(f.ok for f in self.feeds)

    @property
    def feeds_failed(self) -> int:
        return len(self.feeds) - self.feeds_ok

    @property
    def items_new(self) -> int:
        return sum(len(f.new_items) for f in self.feeds)

    def matches_per_topic(self) -> dict[str, int]:
        return {topic: sum(topic in m.prediction.tags for m in self.matches) for topic in TOPICS}

    @property
    def nothing_ran(self) -> bool:
        return bool(self.feeds) and self.feeds_ok == 0

    def summary(self) -> str:
        per_topic = ", ".join(f"{TOPIC_TITLES[t]} {n}" for t, n in self.matches_per_topic().items())
        lines = [
            f"feeds: {self.feeds_ok} ok, {self.feeds_failed} failed",
            f"items: {self.items_new} new",
            f"matches: {per_topic} (model {self.model_version or 'none'})",
            f"alerts: {self.delivery.sent} sent, {self.delivery.failed} failed",
            f"took {self.seconds:.2f}s",
        ]
        lines += [f"  failed feed {f.name} <{f.url}>: {f.error}" for f in self.feeds if not f.ok]
        lines += [f"  alert failure: {error}" for error in self.delivery.errors]
        lines += [f"  digest written: {path}" for path in self.digest_files]
        return "\n".join(lines)


def refresh_feed(store: Store, session: requests.Session, feed: Feed, feed_id: int, settings: Settings,
                 clock: Clock = utcnow) -> FeedOutcome:
    """Fetch, parse and store one feed; its failure is recorded on its row, never raised."""
    result = fetch(session, feed, store.validators(feed_id), settings.fetch)
    if not result.ok:
        store.record_failure(feed_id, result.error or "unknown error", clock())
        return FeedOutcome(feed.url, feed.name, error=result.error)
    if result.not_modified:
        store.record_success(feed_id, result.validators, 0, clock())
        return FeedOutcome(feed.url, feed.name, not_modified=True)
    try:
        parsed = parse(result)
    except NotAFeed as exc:
        store.record_failure(feed_id, str(exc), clock())
        return FeedOutcome(feed.url, feed.name, error=str(exc))
    new_items = store.insert_new(feed_id, parsed, clock())
    store.record_success(feed_id, result.validators, len(new_items), clock())
    return FeedOutcome(feed.url, feed.name, new_items=tuple(new_items))


def classify_new(store: Store, model: Classifier, new_items: Sequence[Item], sources: dict[str, str],
                 clock: Clock = utcnow) -> list[Match]:
    """Score the new items in one batch, record every prediction, return the tagged ones."""
    predictions = model.predict_items(new_items)
    store.save_predictions(model.version, list(zip(new_items, predictions)), clock())
    return [Match(item, prediction, sources.get(item.feed_url or "", item.feed_url or ""))
            for item, prediction in zip(new_items, predictions) if prediction.tags]


def write_digest_files(digest: Digest, directory: Path, now: datetime) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{now:%Y%m%dT%H%M%SZ}-{digest.key[:8]}"
    paths = [directory / f"{stem}.md", directory / f"{stem}.html"]
    paths[0].write_text(f"# {digest.subject}\n\n{digest.markdown}", encoding="utf-8")
    paths[1].write_text(digest.html, encoding="utf-8")
    return paths


def alert(store: Store, settings: Settings, matches: Sequence[Match], send: Sender = send_apprise,
          clock: Clock = utcnow) -> tuple[list[Path], DeliveryReport]:
    """Write the digest of the new matches, owe it to every subscribed channel, deliver what is owed."""
    now = clock()
    files: list[Path] = []
    full = build_digest(matches, TOPICS, settings.digest.timezone, settings.web.base_url)
    if full is not None:
        files = write_digest_files(full, settings.digests_dir, now)
    for channel in settings.channels:
        digest = build_digest(matches, channel.topics, settings.digest.timezone, settings.web.base_url)
        if digest is not None:
            store.enqueue(channel.name, digest.key, digest.subject, digest.text, digest.html, digest.markdown, now)
    return files, deliver_owed(store, settings.channels, send, clock)


def run_cycle(settings: Settings, store: Store, model: Classifier, session: requests.Session | None = None,
              send: Sender = send_apprise, clock: Clock = utcnow) -> CycleReport:
    started = time.monotonic()
    session = session or new_session(settings.fetch)
    feed_ids = store.sync_feeds(settings.feeds)
    report = CycleReport(model_version=model.version)
    report.feeds = [refresh_feed(store, session, feed, feed_ids[feed.url], settings, clock) for feed in settings.feeds]
    new_items = [item for outcome in report.feeds for item in outcome.new_items]
    report.matches = classify_new(store, model, new_items, {f.url: f.name for f in settings.feeds}, clock)
    report.digest_files, report.delivery = alert(store, settings, report.matches, send, clock)
    report.seconds = time.monotonic() - started
    log.info("cycle done\n%s", report.summary())
    return report
