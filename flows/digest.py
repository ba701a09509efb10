"""The `digest` flow: every digest-mode channel's digest now, sent, and published as a markdown artifact."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from newswatch import alerts, app, retrain
from newswatch.clock import utcnow
from newswatch.config import load_settings
from newswatch.notify import deliver_owed


@flow(name="digest")
def digest(config: str | None = None, dry_run: bool = False) -> dict:
    settings = load_settings(config)
    with app.open_store(settings) as store:
        planned = alerts.digest_now(store, settings, utcnow(), dry_run=dry_run, tagged_at=retrain.thresholds(settings))
        delivery = None if dry_run else deliver_owed(store, settings.channels)
    built = [one for one in planned if one.digest is not None]
    for one in built:
        create_markdown_artifact(key=f"digest-{_artifact_key(one.channel.name)}",
                                 markdown=f"# {one.digest.subject}\n\n{one.digest.markdown}",
                                 description=f"newswatch digest for channel {one.channel.name}")
    get_run_logger().info("digests built for %d of %d channels", len(built), len(planned))
    return {"digests": {one.channel.name: one.digest.subject for one in built},
            "sent": delivery.sent if delivery else 0, "failed": delivery.failed if delivery else 0}


def _artifact_key(name: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "channel"
