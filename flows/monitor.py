"""The `monitor` flow: one monitoring cycle, one task per feed, one classify batch, one alert step."""

from __future__ import annotations

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from newswatch import app, refresh
from newswatch.config import Settings, load_settings
from newswatch.fetch import new_session
from newswatch.models import Feed
from newswatch.refresh import CycleReport, FeedOutcome
from newswatch.stories import assign_stories
from newswatch.store import Store, utcnow

# Tasks take live objects (store, model) that cannot be hashed into a cache key; nothing here is cacheable.
step = task(cache_policy=NO_CACHE)


@step(retries=2, retry_delay_seconds=[2, 10], timeout_seconds=120)
def refresh_feed(store: Store, feed: Feed, feed_id: int, settings: Settings) -> FeedOutcome:
    """Fetch, parse and store one feed (its HTTP failures are recorded on the feed row, not raised)."""
    return refresh.refresh_feed(store, new_session(settings.fetch), feed, feed_id, settings)


classify_new = step(refresh.classify_new)
alert = step(refresh.alert, retries=2, retry_delay_seconds=[5, 30])


@flow(name="monitor", task_runner=ThreadPoolTaskRunner(max_workers=8))
def monitor(config: str | None = None) -> dict:
    settings = load_settings(config)
    store = app.open_store(settings)
    try:
        report = CycleReport(model_version=None)
        model = app.current_model(settings)
        report.model_version = model.version
        feed_ids = store.sync_feeds(settings.feeds)
        futures = refresh_feed.map(unmapped(store), settings.feeds, [feed_ids[f.url] for f in settings.feeds],
                                   unmapped(settings))
        report.feeds = [future.result() for future in futures]
        new_items = [item for outcome in report.feeds for item in outcome.new_items]
        assign_stories(store, new_items, utcnow())
        report.matches = classify_new(store, model, new_items, {f.url: f.name for f in settings.feeds})
        report.digest_files, report.delivery = alert(store, settings, report.matches)
    finally:
        store.close()
    get_run_logger().info("monitor cycle\n%s", report.summary())
    create_markdown_artifact(key="monitor-summary", markdown=f"```\n{report.summary()}\n```",
                             description="newswatch monitoring cycle summary")
    return {"feeds_ok": report.feeds_ok, "feeds_failed": report.feeds_failed, "items_new": report.items_new,
            "matches": report.matches_per_topic(), "alerts_sent": report.delivery.sent}
