"""The scheduled `retrain` flow: the gated retrain of `newswatch train`, with its evaluation as an artifact."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from newswatch import app
from newswatch.config import load_settings


@flow(name="retrain", timeout_seconds=3600)
def retrain(config: str | None = None) -> dict:
    settings = load_settings(config)
    with app.open_store(settings) as store:
        report = app.train(settings, store)
    candidate = report.candidate
    metrics = candidate.candidate_metrics or candidate.metadata["metrics"]["cross_validation"]
    create_table_artifact(key="retrain-evaluation",
                          table=[{"topic": name, **values} for name, values in metrics["topics"].items()],
                          description=f"evaluated on {report.evaluated_on}; gate: {candidate.reason}")
    get_run_logger().info("retrain: %s; promoted %s", candidate.reason, report.promoted_version or "nothing")
    return {"promoted": report.promoted_version, "current": report.current_version, "gate": candidate.reason}
