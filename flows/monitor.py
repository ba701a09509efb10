"""The `monitor` flow: `newswatch run`'s cycle (``newswatch.cycle.run_cycle``) with each step a Prefect task.

The steps are the core's own: the same feed refresh (``fetch.max_workers`` threads, ``fetch.per_host`` per
host, one feed's failure or parser bug recorded on that feed), the same classification of every stored item
the model has not scored, the same delivery. Nothing here re-composes them.
"""

from __future__ import annotations

from typing import Any, Callable

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from newswatch import app
from newswatch.config import load_settings
from newswatch.cycle import run_cycle


def as_task(function: Callable[..., Any]) -> Callable[..., Any]:
    """A cycle step as a Prefect task. No retries: a step records its failures as data (a feed's error, a
    message's backoff) and a re-run of the flow takes up whatever is left. The steps take live objects
    (store, model) that cannot be hashed into a cache key; nothing is cacheable."""
    return task(function, name=function.__name__, cache_policy=NO_CACHE)


@flow(name="monitor")
def monitor(config: str | None = None, due_only: bool = True) -> dict:
    """Scheduled every minute: polls only the feeds whose poll time has come (``due_only=False`` fetches all)."""
    settings = load_settings(config)
    with app.open_store(settings) as store:
        report = run_cycle(settings, store, app.current_model(settings), step=as_task, due_only=due_only)
    get_run_logger().info("monitor cycle\n%s", report.summary())
    create_markdown_artifact(key="monitor-summary", markdown=f"```\n{report.summary()}\n```",
                             description="newswatch monitoring cycle summary")
    return {"feeds_ok": report.feeds_ok, "feeds_failed": report.feeds_failed,
            "feeds_waiting": report.feeds_waiting, "items_new": report.items_new,
            "classified": report.classified.scored, "backlog": report.classified.backlog,
            "matches": report.matches_per_topic(), "alerts_sent": report.delivery.sent,
            "alerts_dead": report.delivery.dead}
