"""The scheduled `retrain` flow: train a candidate on the seed corpus and publish its evaluation.

A minimal stand-in so `newswatch serve` has a retrain to schedule: the candidate is saved but not put
in service, since promotion is gated on labeled data (the classifier issue replaces this body).
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from classifiers.train import train_with_metadata
from newswatch import app
from newswatch.config import load_settings
from newswatch.labeled import seed_corpus


@flow(name="retrain", timeout_seconds=3600)
def retrain(config: str | None = None) -> dict:
    settings = load_settings(config)
    estimator, metadata = train_with_metadata(seed_corpus())
    version = app.registry(settings).save(estimator, {**metadata, "trained_on": "seeds"})
    topics = metadata["metrics"]["cross_validation"]["topics"]
    create_table_artifact(key="retrain-evaluation", table=[{"topic": name, **values} for name, values in topics.items()],
                          description=f"candidate {version}: cross-validated metrics (not promoted)")
    get_run_logger().info("retrain: candidate %s saved, not promoted", version)
    return {"version": version, "promoted": False}
