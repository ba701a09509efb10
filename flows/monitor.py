"""The `monitor` flow: one monitoring cycle, one task per chunk of feeds, one classify batch, one alert step."""

from __future__ import annotations

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from newswatch import app, refresh
from newswatch.clock import utcnow
from newswatch.config import Settings, load_settings
from newswatch.fetch import new_session
from newswatch.models import Feed
from newswatch.refresh import CycleReport, FeedOutcome
from newswatch.store import Store
from newswatch.stories import assign_stories

# Tasks take live objects (store, model) that cannot be hashed into a cache key; nothing here is cacheable.
step = task(cache_policy=NO_CACHE)


THREADS = 8
#: A task per feed costs Prefect ~10 ms of bookkeeping, more than a loopback fetch: a few feeds per task
#: keep the flow within 10% of the plain core (bench/README.md) while the threads still overlap slow feeds.
FEEDS_PER_TASK = 4


@step(retries=2, retry_delay_seconds=[2, 10], timeout_seconds=300)
def refresh_feeds(store: Store, feeds: list[Feed], feed_ids: list[int], settings: Settings) -> list[FeedOutcome]:
    """Fetch, parse and store a few feeds (HTTP failures are recorded on the feed rows, not raised)."""
    session = new_session(settings.fetch)
    return [refresh.refresh_feed(store, session, feed, feed_id, settings) for feed, feed_id in zip(feeds, feed_ids)]


classify_new = step(refresh.classify_new)
alert = step(refresh.alert, retries=2, retry_delay_seconds=[5, 30])


@flow(name="monitor", task_runner=ThreadPoolTaskRunner(max_workers=THREADS))
def monitor(config: str | None = None) -> dict:
    settings = load_settings(config)
    with app.open_store(settings) as store:
        report = CycleReport(model_version=None)
        model = app.current_model(settings)
        report.model_version = model.version
        feed_ids = store.sync_feeds(settings.feeds)
        chunks = [list(settings.feeds[i:i + FEEDS_PER_TASK]) for i in range(0, len(settings.feeds), FEEDS_PER_TASK)]
        futures = refresh_feeds.map(unmapped(store), chunks, [[feed_ids[f.url] for f in chunk] for chunk in chunks],
                                    unmapped(settings))
        report.feeds = [outcome for future in futures for outcome in future.result()]
        new_items = [item for outcome in report.feeds for item in outcome.new_items]
        assign_stories(store, new_items, utcnow())
        report.matches = classify_new(store, model, new_items, {f.url: f.name for f in settings.feeds})
        report.digest_files, report.delivery = alert(store, settings, report.matches, tagged_at=model.thresholds)
    get_run_logger().info("monitor cycle\n%s", report.summary())
    create_markdown_artifact(key="monitor-summary", markdown=f"```\n{report.summary()}\n```",
                             description="newswatch monitoring cycle summary")
    return {"feeds_ok": report.feeds_ok, "feeds_failed": report.feeds_failed, "items_new": report.items_new,
            "matches": report.matches_per_topic(), "alerts_sent": report.delivery.sent}
