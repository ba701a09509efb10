"""The scheduled `retrain` flow: the gated retrain of `newswatch train`, with its evaluation as an artifact."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from newswatch import app, retrain as loop
from newswatch.config import load_settings


@flow(name="retrain", timeout_seconds=3600)
def retrain(config: str | None = None) -> dict:
    settings = load_settings(config)
    with app.open_store(settings) as store:
        report = loop.train(settings, store)
    candidate = report.candidate
    held_out = candidate.metadata["metrics"].get("held_out")
    cross_validation = candidate.metadata["metrics"]["cross_validation"]
    table = [{"topic": name, "held-out F1": _cell(held_out, name),
              "labeled positives": held_out["positives"][name] if held_out else 0,
              "F1 cross-validated on the training data": values["f1"]}
             for name, values in cross_validation["topics"].items()]
    create_table_artifact(key="retrain-evaluation", table=table,
                          description=f"held-out estimate: {report.estimate}. Judged on {report.evaluated_on}. "
                                      f"Gate: {candidate.reason}")
    get_run_logger().info("retrain: %s", report.message)
    return {"promoted": report.promoted_version, "current": report.current_version, "gate": candidate.reason,
            "estimate": report.estimate}


def _cell(held_out: dict | None, topic: str) -> str:
    """A topic's held-out F1 with its 90 % interval, or a dash where there are no held-out labels."""
    if not held_out:
        return "-"
    m = held_out["topics"][topic]
    low, high = m["f1_interval"]
    return f"{m['f1']:.2f} ({low:.2f}–{high:.2f})" + ("" if held_out["enough"] else ", too few to estimate")
