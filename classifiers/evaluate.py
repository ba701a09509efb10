"""Metrics per topic and macro-F1, in the shape `newswatch evaluate --json` prints."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from newswatch.models import TOPICS


def metrics(Y_true: np.ndarray, Y_pred: np.ndarray) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(
        np.asarray(Y_true), np.asarray(Y_pred), average=None, labels=range(len(TOPICS)), zero_division=0)
    topics = {
        topic: {"precision": round(float(precision[i]), 4), "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4), "support": int(support[i])}
        for i, topic in enumerate(TOPICS)
    }
    return {"topics": topics, "macro_f1": round(float(np.mean(f1)), 4)}


def passes_gate(candidate: dict | None, current: dict | None, margin: float, has_current: bool = True
                ) -> tuple[bool, str]:
    """Promote unless the candidate's macro-F1 is more than ``margin`` below the current model's on the same data."""
    if not has_current:
        return True, "no model in service"
    if candidate is None or current is None:
        return False, "no labeled items the current model has not seen: nothing to compare on"
    difference = candidate["macro_f1"] - current["macro_f1"]
    verdict = difference >= -margin
    comparison = f"macro-F1 {candidate['macro_f1']:.3f} vs {current['macro_f1']:.3f} ({difference:+.3f}, margin {margin})"
    return verdict, ("not worse: " if verdict else "worse: ") + comparison
