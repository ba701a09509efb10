"""The scheduled `digest` flow: deliver what the outbox still owes to every channel.

A minimal stand-in so `newswatch serve` has a digest to schedule; the digest of everything tagged since
the last one (issue 4) replaces its body. Delivery is the network step, so it alone retries.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from newswatch import app
from newswatch.config import load_settings
from newswatch.notify import deliver_owed


@flow(name="digest")
def digest(config: str | None = None) -> dict:
    settings = load_settings(config)
    store = app.open_store(settings)
    try:
        report = task(deliver_owed, cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30],
                      timeout_seconds=300)(store, settings.channels)
    finally:
        store.close()
    summary = f"alerts: {report.sent} sent, {report.failed} failed" + "".join(
        f"\n  alert failure: {error}" for error in report.errors)
    get_run_logger().info("digest\n%s", summary)
    create_markdown_artifact(key="digest-summary", markdown=f"```\n{summary}\n```",
                             description="newswatch digest delivery")
    return {"alerts_sent": report.sent, "alerts_failed": report.failed}
