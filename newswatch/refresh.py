"""The one composer of a monitoring cycle: fetch → parse → normalize → store → classify → alert.

Each step is a function of its own so the Prefect flow can run them as tasks (one per feed, one
classify batch, one alert step); ``run_cycle`` is the same sequence without Prefect.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

import requests

from .alerts import owe_due
from .clock import Clock, utcnow
from .config import FetchSettings, Settings
from .digest import Digest, Match, build_digest
from .fetch import HostLimits, fetch, new_session
from .fulltext import ArticleFetcher
from .models import TOPIC_TITLES, TOPICS, Classifier, Feed, Item
from .normalize import not_after
from .notify import DeliveryReport, Sender, deliver_owed, send_apprise
from .parsers import NotAFeed, parse
from .store import Store
from .stories import assign_stories

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedOutcome:
    url: str
    name: str
    new_items: tuple[Item, ...] = ()
    error: str | None = None
    not_modified: bool = False
    not_due_until: datetime | None = None
    """Set when the feed was skipped because it is backing off (failures or Retry-After)."""
    consecutive_failures: int = 0
    unhealthy: bool = False
    busy: bool = False
    """Another run was refreshing this feed; it stores and reports what it finds."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.not_due_until is None

    @property
    def failed(self) -> bool:
        return self.error is not None


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
        return sum(f.failed for f in self.feeds)

    @property
    def feeds_not_due(self) -> int:
        return sum(f.not_due_until is not None for f in self.feeds)

    @property
    def items_new(self) -> int:
        return sum(len(f.new_items) for f in self.feeds)

    def matches_per_topic(self) -> dict[str, int]:
        return {topic: sum(topic in m.prediction.tags for m in self.matches) for topic in TOPICS}

    @property
    def nothing_ran(self) -> bool:
        return self.feeds_failed > 0 and self.feeds_ok == 0

    def summary(self) -> str:
        per_topic = ", ".join(f"{TOPIC_TITLES[t]} {n}" for t, n in self.matches_per_topic().items())
        busy = sum(f.busy for f in self.feeds)
        lines = [
            f"feeds: {self.feeds_ok} ok, {self.feeds_failed} failed, {self.feeds_not_due} not due"
            + (f", {busy} busy in another run" if busy else ""),
            f"items: {self.items_new} new",
            f"matches: {per_topic} (model {self.model_version or 'none'})",
            f"alerts: {self.delivery.sent} sent, {self.delivery.failed} failed, {self.delivery.held} held",
            f"took {self.seconds:.2f}s",
        ]
        lines += [f"  failed feed {f.name} <{f.url}>: {f.error}"
                  + (f" (unhealthy: {f.consecutive_failures} failures in a row)" if f.unhealthy else "")
                  for f in self.feeds if f.failed]
        lines += [f"  not due: {f.name} <{f.url}> backing off until {f.not_due_until:%Y-%m-%d %H:%M:%S}Z"
                  + (f" (unhealthy: {f.consecutive_failures} failures in a row)" if f.unhealthy else "")
                  for f in self.feeds if f.not_due_until is not None]
        lines += [f"  alert failure: {error}" for error in self.delivery.errors]
        lines += [f"  digest written: {path}" for path in self.digest_files]
        return "\n".join(lines)


def next_attempt(failures: int, retry_after: float | None, settings: FetchSettings, now: datetime) -> datetime | None:
    """When a feed that has just failed ``failures`` times in a row may be tried again.

    The next scheduled cycle is the first retry (one failure is usually a blip); from the second
    failure on the wait doubles from ``backoff_base`` up to ``backoff_max``. A Retry-After from the
    server is honoured when it asks for longer.
    """
    wait = 0.0 if failures < 2 else min(settings.backoff_max, settings.backoff_base * 2 ** (failures - 2))
    wait = max(wait, retry_after or 0.0)
    return now + timedelta(seconds=wait) if wait > 0 else None


def refresh_feed(store: Store, session: requests.Session, feed: Feed, feed_id: int, settings: Settings,
                 clock: Clock = utcnow, limits: HostLimits | None = None,
                 articles: ArticleFetcher | None = None) -> FeedOutcome:
    """Fetch, parse and store one feed when it is due; its failure is recorded on its row, never raised.

    A lease on the feed row keeps two overlapping runs (two workers, or a slow run and the next
    scheduled one) from fetching the same feed at once; it expires by itself if this process dies.
    """
    owner = uuid.uuid4().hex
    lease = timedelta(seconds=2 * settings.fetch.deadline + 60)
    if not store.acquire_feed_lease(feed_id, owner, clock(), lease):
        return FeedOutcome(feed.url, feed.name, busy=True)
    try:
        return _refresh_leased_feed(store, session, feed, feed_id, settings, clock, limits, articles)
    finally:
        store.release_feed_lease(feed_id, owner)


def _refresh_leased_feed(store: Store, session: requests.Session, feed: Feed, feed_id: int, settings: Settings,
                         clock: Clock, limits: HostLimits | None, articles: ArticleFetcher | None) -> FeedOutcome:
    state = store.feed_row(feed_id)
    now = clock()
    unhealthy_after = settings.fetch.unhealthy_after
    if not state.due(now):
        return FeedOutcome(feed.url, feed.name, not_due_until=state.next_attempt_at,
                           consecutive_failures=state.consecutive_failures,
                           unhealthy=state.consecutive_failures >= unhealthy_after)
    result = fetch(session, feed, state.validators, settings.fetch, url=state.fetch_url, limits=limits)
    error = result.error
    if result.ok and not result.not_modified:
        try:
            parsed = parse(result, feed.kind)
        except NotAFeed as exc:
            error = str(exc)
    if error is not None:
        failures = state.consecutive_failures + 1
        store.record_failure(feed_id, error, clock(), next_attempt(failures, result.retry_after, settings.fetch, clock()))
        return FeedOutcome(feed.url, feed.name, error=error, consecutive_failures=failures,
                           unhealthy=failures >= unhealthy_after)
    if result.not_modified:
        store.record_success(feed_id, result.validators, 0, clock(), fetch_url=result.permanent_url)
        return FeedOutcome(feed.url, feed.name, not_modified=True)
    fetched_at = clock()
    parsed = [replace(item, published=not_after(item.published, fetched_at)) for item in parsed]
    new_items = store.insert_new(feed_id, parsed, fetched_at)
    if feed.fulltext and new_items:
        new_items = (articles or ArticleFetcher(settings.fetch, limits)).with_text(
            session, new_items, feed.allow_private_addresses)
        store.set_texts({item.id: item.text for item in new_items if item.text and item.id is not None})
    store.record_success(feed_id, result.validators, len(new_items), clock(), fetch_url=result.permanent_url)
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
    """Write the digest of the new matches, owe each channel its immediate alerts and due digests, deliver
    what is owed (including earlier messages whose retry or quiet hours are over)."""
    now = clock()
    files: list[Path] = []
    full = build_digest(matches, TOPICS, settings.digest.timezone, web_base_url=settings.web.base_url)
    if full is not None:
        files = write_digest_files(full, settings.digests_dir, now)
    owe_due(store, settings, matches, now)
    return files, deliver_owed(store, settings.channels, send, clock)


def refresh_feeds(settings: Settings, store: Store, session: requests.Session | None = None,
                  clock: Clock = utcnow) -> list[FeedOutcome]:
    """Refresh every configured feed, ``fetch.max_workers`` at a time and ``fetch.per_host`` per host.

    Each worker thread has its own HTTP session (requests does not promise a Session is thread-safe)
    unless one is given; the store is safe to share (one connection per operation from its pool,
    uniqueness enforced by constraints).
    """
    feed_ids = store.sync_feeds(settings.feeds)
    limits = HostLimits(settings.fetch.per_host)
    articles = ArticleFetcher(settings.fetch, limits)
    sessions = threading.local()

    def refresh_one(feed: Feed) -> FeedOutcome:
        if session is None and not hasattr(sessions, "session"):
            sessions.session = new_session(settings.fetch)
        try:
            return refresh_feed(store, session or sessions.session, feed, feed_ids[feed.url], settings, clock,
                                limits, articles)
        except Exception as exc:  # a bug met on one feed's data must not cost the other feeds their cycle
            log.exception("refreshing %s failed unexpectedly", feed.url)
            error = f"internal error: {type(exc).__name__}: {exc}"
            store.record_failure(feed_ids[feed.url], error, clock())
            return FeedOutcome(feed.url, feed.name, error=error)

    with ThreadPoolExecutor(max_workers=settings.fetch.max_workers, thread_name_prefix="refresh") as pool:
        return list(pool.map(refresh_one, settings.feeds))


def ingest(settings: Settings, store: Store, session: requests.Session | None = None,
           clock: Clock = utcnow) -> list[FeedOutcome]:
    """The ingestion half of a cycle: refresh every feed, then group the new items into stories."""
    outcomes = refresh_feeds(settings, store, session, clock)
    assign_stories(store, [item for outcome in outcomes for item in outcome.new_items], clock())
    return outcomes


def run_cycle(settings: Settings, store: Store, model: Classifier, session: requests.Session | None = None,
              send: Sender = send_apprise, clock: Clock = utcnow) -> CycleReport:
    started = time.monotonic()
    report = CycleReport(model_version=model.version)
    report.feeds = ingest(settings, store, session, clock)
    new_items = [item for outcome in report.feeds for item in outcome.new_items]
    report.matches = classify_new(store, model, new_items, {f.url: f.name for f in settings.feeds}, clock)
    report.digest_files, report.delivery = alert(store, settings, report.matches, send, clock)
    report.seconds = time.monotonic() - started
    log.info("cycle done\n%s", report.summary())
    return report
