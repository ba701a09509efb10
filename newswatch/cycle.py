"""The one composer of a monitoring cycle: fetch → parse → normalize → store → classify → owe → deliver.

The store is the queue. A cycle (1) refreshes the due feeds and stores their new items; (2) classifies every
stored item the current model has not scored — every item no model has scored yet first, then items an older
model scored, oldest first, in batches, at most ``BACKLOG_PER_CYCLE`` a cycle unless more are owed a first score —
not only the items new in this run, so items a killed run or a full disk left unscored are taken up
by whichever process runs next; each batch's predictions are saved in one transaction with what they owe
(immediate alerts, at most once per item and channel; digest entries follow from the predictions); (3) owes
the due digests and delivers everything owed; (4) only then writes the digest copy files, whose failure
(a full disk) loses nothing. ``newswatch run`` and the Prefect ``monitor`` flow both call ``run_cycle``;
the flow passes a ``step`` that makes each step a Prefect task, and ``due_only``: run every minute, it polls
each feed on that feed's own schedule (``poll_interval``: busy feeds often, quiet ones every ``max_poll``).
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
from typing import Callable, Mapping, Sequence, TypeVar

import requests

from .alerts import channel_matches, owe_due, owe_immediate
from .clock import Clock, utcnow
from .config import FetchSettings, Settings
from .digest import Digest, build_digest
from .feedlist import failures_in_a_row, feed_health, name_and_url
from .fetch import HostLimits, fetch, host_of, new_session
from .fulltext import ArticleFetcher
from .models import Classifier, Feed, Item, Match, Prediction
from .normalize import not_after
from .notify import DeliveryReport, Sender, deliver_owed, send_apprise
from .parallel import WorkerProcesses, forked_map
from .parsers import NotAFeed, parse
from .store import FeedRow, Obligations, Store
from .stories import assign_stories

log = logging.getLogger(__name__)

CLASSIFY_BATCH = 500
"""Items scored and saved (with what they owe) per transaction: a crash loses the work of the batches in flight only."""
BACKLOG_PER_CYCLE = 5000
"""Items one cycle classifies at most, unless more have never been scored: a new model version re-scores the stored
items over several cycles, never a million in one, but every new item is scored (and alerted) in the cycle that
stored it."""

@dataclass(frozen=True)
class FeedOutcome:
    url: str
    name: str
    new_items: tuple[Item, ...] = ()
    error: str | None = None
    not_modified: bool = False
    not_due_until: datetime | None = None
    """Set when the feed was skipped because it is backing off (failures or Retry-After)."""
    waiting_until: datetime | None = None
    """Set when a scheduled cycle skipped the feed because its next poll time has not come."""
    consecutive_failures: int = 0
    unhealthy: bool = False
    never_worked: bool = False
    """No fetch of this feed has ever worked (so one failure already makes it unhealthy)."""
    busy: bool = False
    """Another run was refreshing this feed; it stores and reports what it finds."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.not_due_until is None and self.waiting_until is None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def shown(self) -> str:
        return name_and_url(self.name, self.url)

    @property
    def health_note(self) -> str:
        if not self.unhealthy:
            return ""
        return (f" (unhealthy: {failures_in_a_row(self.consecutive_failures)}"
                + (", never fetched" if self.never_worked else "") + ")")


@dataclass(frozen=True)
class Classified:
    matches: list[Match]
    """The tagged items among those scored."""
    scored: int
    backlog: int
    """Items the model has still not scored (left for the next cycles)."""


@dataclass
class CycleReport:
    feeds: list[FeedOutcome] = field(default_factory=list)
    classified: Classified = Classified([], 0, 0)
    delivery: DeliveryReport = DeliveryReport(0, 0, ())
    digest_files: list[Path] = field(default_factory=list)
    digest_error: str | None = None
    """Why the digest copy files could not be written (nothing owed depends on them)."""
    model_version: str | None = None
    seconds: float = 0.0
    topic_titles: Mapping[str, str] = field(default_factory=dict)
    """The config's topics (name → title), whose matches the summary counts."""

    @property
    def matches(self) -> list[Match]:
        return self.classified.matches

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
    def feeds_waiting(self) -> int:
        return sum(f.waiting_until is not None for f in self.feeds)

    @property
    def items_new(self) -> int:
        return sum(len(f.new_items) for f in self.feeds)

    def matches_per_topic(self) -> dict[str, int]:
        return {topic: sum(topic in m.prediction.tags for m in self.matches) for topic in self.topic_titles}

    @property
    def nothing_ran(self) -> bool:
        # a feed waiting for its poll time was fetched fine last time, so something did run
        return self.feeds_failed > 0 and self.feeds_ok == 0 and self.feeds_waiting == 0

    def summary(self) -> str:
        per_topic = ", ".join(f"{self.topic_titles[t]} {n}" for t, n in self.matches_per_topic().items())
        busy = sum(f.busy for f in self.feeds)
        lines = [
            f"feeds: {self.feeds_ok} ok, {self.feeds_failed} failed, {self.feeds_not_due} not due"
            + (f", {busy} busy in another run" if busy else "")
            + (f", {self.feeds_waiting} waiting for their next poll" if self.feeds_waiting else ""),
            f"items: {self.items_new} new, {self.classified.scored} classified"
            + (f", {self.classified.backlog} left for the next cycles" if self.classified.backlog else ""),
            f"matches: {per_topic} (model {self.model_version or 'none'})",
            f"alerts: {self.delivery.sent} sent, {self.delivery.failed} failed, {self.delivery.held} held"
            + (f", {self.delivery.dead} dead" if self.delivery.dead else ""),
            f"took {self.seconds:.2f}s",
        ]
        lines += [f"  failed feed {f.shown}: {f.error}{f.health_note}" for f in self.feeds if f.failed]
        lines += [f"  not due: {f.shown} backing off until {f.not_due_until:%Y-%m-%d %H:%M:%S}Z{f.health_note}"
                  for f in self.feeds if f.not_due_until is not None]
        lines += [f"  alert failure: {error}" for error in self.delivery.errors]
        lines += [f"  partly refused: {note}" for note in self.delivery.notes]
        lines += [f"  digest written: {path}" for path in self.digest_files]
        if self.digest_error:
            lines.append(f"  digest copy not written (nothing owed was lost): {self.digest_error}")
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


ARRIVAL_WINDOW = timedelta(days=1)
"""How far back a feed's items count towards its publishing rate."""
POLLS_PER_ITEM = 4
"""Polls per expected new item: a busy feed's item waits about a quarter of its gap before it is fetched."""


def poll_interval(arrived: tuple[int, datetime | None, datetime | None], settings: FetchSettings,
                  now: datetime) -> float:
    """Seconds a feed would like between two polls, from its recent items (see ``FeedStore.arrivals``).

    The expected gap between its items is the mean gap since the first of them, or the time since the
    last one when that is longer (a feed that has gone quiet, or whose first fetch stored an undated
    backlog at once, is not taken for a busy one); the interval is that gap / POLLS_PER_ITEM, kept within
    ``min_poll`` … ``max_poll``. ``host_share`` then keeps the feed's host within its hourly limit.
    """
    count, first, last = arrived
    if not count or first is None or last is None:
        return settings.max_poll
    gap = max((now - first).total_seconds() / count, (now - last).total_seconds())
    return min(max(gap / POLLS_PER_ITEM, settings.min_poll), settings.max_poll)


def host_share(url: str, wanted: Mapping[str, float], settings: FetchSettings) -> float:
    """The interval of feed ``url`` once its host's feeds (``wanted``: feed url → wanted interval of every feed on
    that host, as ``wanted_intervals`` groups them) share ``per_host_per_hour`` polls: feeds wanting fewer polls than
    an equal share keep them, the busy ones split what is left equally (water-filling). Politeness wins over
    ``max_poll`` when one host serves very many feeds."""
    rates = sorted(3600.0 / interval for interval in wanted.values())
    budget, left = float(settings.per_host_per_hour), len(rates)
    for rate in rates:
        if rate * left > budget:
            return max(wanted[url], 3600.0 * left / budget)
        budget -= rate
        left -= 1
    return wanted[url]


def refresh_feed(store: Store, session: requests.Session, feed: Feed, state: FeedRow, settings: Settings,
                 clock: Clock = utcnow, limits: HostLimits | None = None,
                 articles: ArticleFetcher | None = None, due_only: bool = False,
                 wanted: Mapping[str, float] | None = None, workers: WorkerProcesses | None = None) -> FeedOutcome:
    """Fetch, parse and store one feed (its row: ``state``, as read at the cycle's start) when it is due; its failure
    is recorded on its row, never raised.

    A feed backing off after failures is never due. With ``due_only`` (the scheduled cycle) a feed is
    also left alone until its next poll time, which each success sets from ``poll_interval`` and
    ``host_share`` (``wanted``: the wanted intervals of the feeds on its host, from ``wanted_intervals``). The body is
    parsed in one of ``workers`` where given.

    A lease on the feed row keeps two overlapping runs (two workers, or a slow run and the next
    scheduled one) from fetching the same feed at once; it expires by itself if this process dies. A feed left
    alone is told so without one: the scheduled cycle leaves most feeds alone every minute. Taking the lease
    reads the row again, and the write that records the fetch's success or failure releases it.
    """
    skipped = _left_alone(state, feed, settings, clock(), due_only)
    if skipped is not None:
        return skipped
    owner = uuid.uuid4().hex
    lease = timedelta(seconds=2 * settings.fetch.deadline + 60)
    leased = store.acquire_feed_lease(state.id, owner, clock(), lease)
    if leased is None:
        return FeedOutcome(feed.url, feed.name, busy=True)
    try:
        return _refresh_leased_feed(store, session, feed, leased, owner, settings, clock, limits, articles, due_only,
                                    wanted or {}, workers or WorkerProcesses(0))
    except BaseException:
        store.release_feed_lease(state.id, owner)
        raise


def _unhealthy(state: FeedRow, failures: int, settings: Settings) -> bool:
    return feed_health(failures, state.last_success_at, settings.fetch.unhealthy_after) == "unhealthy"


def _left_alone(state: FeedRow, feed: Feed, settings: Settings, now: datetime, due_only: bool) -> FeedOutcome | None:
    """The outcome of a feed not fetched now: backing off after failures, or (``due_only``) waiting for its poll time."""
    if not state.due(now):
        return FeedOutcome(feed.url, feed.name, not_due_until=state.next_attempt_at,
                           consecutive_failures=state.consecutive_failures,
                           unhealthy=_unhealthy(state, state.consecutive_failures, settings),
                           never_worked=state.last_success_at is None)
    if due_only and not state.poll_due(now):
        return FeedOutcome(feed.url, feed.name, waiting_until=state.next_poll_at)
    return None


def _refresh_leased_feed(store: Store, session: requests.Session, feed: Feed, state: FeedRow, owner: str,
                         settings: Settings, clock: Clock, limits: HostLimits | None, articles: ArticleFetcher | None,
                         due_only: bool, wanted: Mapping[str, float], workers: WorkerProcesses) -> FeedOutcome:
    """``refresh_feed`` once ``owner`` holds the feed's lease (``state``: its row as read under the lease, as another
    run may have fetched it since the cycle began); each of its returns releases the lease (``refresh_feed`` releases
    it on an exception)."""
    feed_id, now = state.id, clock()
    skipped = _left_alone(state, feed, settings, now, due_only)
    if skipped is not None:
        store.release_feed_lease(feed_id, owner)
        return skipped

    def next_poll() -> datetime:
        own = poll_interval(store.arrivals(feed_id, now - ARRIVAL_WINDOW), settings.fetch, now)
        return now + timedelta(seconds=host_share(feed.url, {**wanted, feed.url: own}, settings.fetch))

    result = fetch(session, feed, state.validators, settings.fetch, url=state.fetch_url, limits=limits)
    error = result.error
    if result.ok and not result.not_modified:
        try:
            parsed = workers.call(parse, result, feed.kind)
        except NotAFeed as exc:
            error = str(exc)
    if error is not None:
        failures = state.consecutive_failures + 1
        store.record_failure(feed_id, error, clock(), next_attempt(failures, result.retry_after, settings.fetch, clock()),
                             lease_owner=owner)
        return FeedOutcome(feed.url, feed.name, error=error, consecutive_failures=failures,
                           unhealthy=_unhealthy(state, failures, settings), never_worked=state.last_success_at is None)
    if result.not_modified:
        store.record_success(feed_id, result.validators, 0, clock(), fetch_url=result.permanent_url,
                             next_poll_at=next_poll(), lease_owner=owner)
        return FeedOutcome(feed.url, feed.name, not_modified=True)
    fetched_at = clock()
    new_items = store.insert_new(feed_id, [replace(item, published=not_after(item.published, fetched_at))
                                           for item in parsed.items], fetched_at)
    if feed.fulltext and new_items:
        new_items = (articles or ArticleFetcher(settings.fetch, limits)).with_text(
            session, new_items, feed.allow_private_addresses)
        store.set_texts({item.id: item.text for item in new_items if item.text and item.id is not None})
    store.record_success(feed_id, result.validators, len(new_items), clock(), fetch_url=result.permanent_url,
                         next_poll_at=next_poll(), title=parsed.title, lease_owner=owner)
    return FeedOutcome(feed.url, feed.name, new_items=tuple(new_items))


def wanted_intervals(settings: Settings, store: Store, feed_ids: Mapping[str, int],
                     now: datetime) -> dict[str, dict[str, float]]:
    """Each configured feed's wanted poll interval as its items stand (its own is recomputed after its fetch), by
    host (host → feed url → seconds): a feed's share is computed among its host's feeds only, and a thousand feeds
    each sharing among every configured feed cost seconds a cycle."""
    arrived = store.arrivals_by_feed(now - ARRIVAL_WINDOW)
    wanted: dict[str, dict[str, float]] = {}
    for feed in settings.feeds:
        wanted.setdefault(host_of(feed.url), {})[feed.url] = poll_interval(
            arrived.get(feed_ids[feed.url], (0, None, None)), settings.fetch, now)
    return wanted


def refresh_feeds(settings: Settings, store: Store, session: requests.Session | None = None,
                  clock: Clock = utcnow, due_only: bool = False) -> list[FeedOutcome]:
    """Refresh every configured feed (with ``due_only``, those whose poll time has come), ``fetch.max_workers``
    at a time and ``fetch.per_host`` per host.

    Each worker thread has its own HTTP session (requests does not promise a Session is thread-safe)
    unless one is given; the store is safe to share (one connection per operation from its pool,
    uniqueness enforced by constraints). The bodies are parsed in ``fetch.parse_processes`` worker processes,
    forked before the threads start: feedparser is pure Python, and the threads alone would parse on one core.
    """
    feed_ids = store.sync_feeds(settings.feeds)
    limits = HostLimits(settings.fetch.per_host)
    articles = ArticleFetcher(settings.fetch, limits)
    sessions = threading.local()
    wanted = wanted_intervals(settings, store, feed_ids, clock())
    states = store.feed_rows_of(feed_ids.values())

    def refresh_one(feed: Feed) -> FeedOutcome:
        if session is None and not hasattr(sessions, "session"):
            sessions.session = new_session(settings.fetch)
        try:
            return refresh_feed(store, session or sessions.session, feed, states[feed_ids[feed.url]], settings, clock,
                                limits, articles, due_only, wanted[host_of(feed.url)], parsers)
        except Exception as exc:  # a bug met on one feed's data must not cost the other feeds their cycle
            log.exception("refreshing %s failed unexpectedly", feed.url)
            error = feed.conceal(f"internal error: {type(exc).__name__}: {exc}")
            store.record_failure(feed_ids[feed.url], error, clock())
            return FeedOutcome(feed.url, feed.name, error=error)

    with (WorkerProcesses(settings.fetch.parse_processes) as parsers,
          ThreadPoolExecutor(max_workers=settings.fetch.max_workers, thread_name_prefix="refresh") as pool):
        return list(pool.map(refresh_one, settings.feeds))


def ingest(settings: Settings, store: Store, session: requests.Session | None = None,
           clock: Clock = utcnow, due_only: bool = False) -> list[FeedOutcome]:
    """The ingestion half of a cycle: refresh every feed (or only the due ones), then group the new items
    into stories."""
    outcomes = refresh_feeds(settings, store, session, clock, due_only)
    new_items = [item for outcome in outcomes for item in outcome.new_items]
    # Per-item work on the newly stored items (their representations) goes here, before stories and classification.
    assign_stories(store, new_items, clock())
    return outcomes


def record_predictions(store: Store, settings: Settings, model_version: str, items: Sequence[Item],
                       predictions: Sequence[Prediction], now: datetime, tagged_at: Mapping[str, float]) -> list[Match]:
    """Save the predictions and, in the same transaction, the immediate alerts that the items scored for the
    first time owe (an item re-scored by a later model owes nothing again), naming the thresholds the
    model tagged at (``tagged_at``). Returns every item as a match."""
    sources = store.names_by_url()
    matches = [Match(item, prediction, sources.get(item.feed_url or "", item.feed_url or ""))
               for item, prediction in zip(items, predictions)]

    shares = channel_matches(store, settings, matches)

    def owe(obligations: Obligations, first: frozenset[int]) -> None:
        owe_immediate(obligations, settings, {name: [m for m in share if m.item.id in first]
                                              for name, share in shares.items()}, now, tagged_at)

    store.save_predictions(model_version, list(zip(items, predictions)), now, owe)
    return matches


def classify_backlog(settings: Settings, store: Store, model: Classifier, clock: Clock = utcnow,
                     batch: int = CLASSIFY_BATCH, limit: int = BACKLOG_PER_CYCLE) -> Classified:
    """Score the stored items the model has not scored yet (see ``Store.classification_queue``), ``batch``
    at a time: every item no model has scored (the queue gives them first: their alerts are due now), and up to
    ``limit`` in all; each batch's predictions are saved with what they owe. Where there are more batches than
    ``fetch.parse_processes``, forked workers score while this process saves (scoring is pure CPU work)."""
    wanted = max(limit, store.count_never_scored())
    queue = store.classification_queue(model.version, wanted)
    queued = queue.items
    batches = [queued[start:start + batch] for start in range(0, len(queued), batch)]
    processes = settings.fetch.parse_processes
    tagged: list[Match] = []
    scored = forked_map(_predict, model, batches, processes if len(batches) > processes else 0)
    for items, predictions in zip(batches, scored, strict=True):  # strict: the map runs to its end, its pool closed
        matches = record_predictions(store, settings, model.version, items, predictions, clock(), model.thresholds)
        tagged += [m for m in matches if m.prediction.tags]
    if queue.scored_through is not None:  # only now: a run killed before this point takes the same queue again
        store.save_progress(model.version, queue.scored_through)
    # a shorter queue than asked for held every item this model had not scored, so none is left (but what other
    # processes stored since, which their cycles score): the count, which reads every stored item, is not needed
    backlog = store.count_unscored_by(model.version) if len(queued) == wanted else 0
    return Classified(tagged, len(queued), backlog)


def _predict(model: Classifier, items: list[Item]) -> list[Prediction]:
    return model.predict_items(items)


def deliver(store: Store, settings: Settings, tagged_at: Mapping[str, float], send: Sender = send_apprise,
            clock: Clock = utcnow) -> DeliveryReport:
    """Owe every due digest and surge alert (naming the model's tagging thresholds, ``tagged_at``), then
    deliver everything owed (including earlier messages whose retry or quiet hours are over)."""
    owe_due(store, settings, clock(), tagged_at)
    return deliver_owed(store, settings.channels, send, clock)


def write_digest_files(digest: Digest, directory: Path, now: datetime) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{now:%Y%m%dT%H%M%SZ}-{digest.key[:8]}"
    paths = [directory / f"{stem}.md", directory / f"{stem}.html"]
    # streamed: a first run's copy of thousands of stories never has its whole text in memory
    with paths[0].open("w", encoding="utf-8") as markdown:
        markdown.write(f"# {digest.subject}\n\n")
        markdown.writelines(digest.markdown_pieces())
    with paths[1].open("w", encoding="utf-8") as page:
        page.writelines(digest.html_pieces())
    return paths


def write_digest_copy(settings: Settings, matches: Sequence[Match], now: datetime,
                      tagged_at: Mapping[str, float]) -> tuple[list[Path], str | None]:
    """The cycle's matches as Markdown and HTML files under the data dir, for reading without a channel.

    Written after everything owed is recorded and delivered: a full disk costs the copy only, and is
    reported, not raised."""
    digest = build_digest(matches, settings.titles(), settings.digest.timezone, web_base_url=settings.web.base_url,
                          tagged_at=tagged_at)
    if digest is None:
        return [], None
    try:
        return write_digest_files(digest, settings.digests_dir, now), None
    except OSError as exc:
        log.error("digest copy not written to %s: %s", settings.digests_dir, exc)
        return [], f"{settings.digests_dir}: {exc.strerror or exc}"


T = TypeVar("T")
Step = Callable[[Callable[..., T]], Callable[..., T]]


def _direct(function: Callable[..., T]) -> Callable[..., T]:
    return function


def run_cycle(settings: Settings, store: Store, model: Classifier, session: requests.Session | None = None,
              send: Sender = send_apprise, clock: Clock = utcnow, step: Step = _direct,
              due_only: bool = False) -> CycleReport:
    """One cycle (see the module's docstring). ``step`` wraps each step: the Prefect flow makes them tasks.

    ``due_only`` polls only the feeds whose poll time has come (the scheduled cycle, every minute);
    without it every feed not backing off is fetched now (a user typing ``newswatch run``)."""
    started = time.monotonic()
    report = CycleReport(model_version=model.version, topic_titles=settings.titles())
    report.feeds = step(ingest)(settings, store, session, clock, due_only)
    report.classified = step(classify_backlog)(settings, store, model, clock)
    report.delivery = step(deliver)(store, settings, model.thresholds, send, clock)
    report.digest_files, report.digest_error = step(write_digest_copy)(settings, report.matches, clock(),
                                                                       model.thresholds)
    report.seconds = time.monotonic() - started
    log.info("cycle done\n%s", report.summary())
    return report
