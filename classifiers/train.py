"""From labeled items to a fitted TopicClassifier: out-of-fold validation, thresholds, the candidate and its gate."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping, Sequence

import numpy as np
import sklearn
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold

from newswatch.models import TOPICS, LabeledItem

from .evaluate import metrics, passes_gate
from .model import build_model
from .pipeline import TopicClassifier

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)


def documents(labeled: Sequence[LabeledItem]) -> list[str]:
    return [example.item.document for example in labeled]


def indicator(labeled: Sequence[LabeledItem]) -> np.ndarray:
    return np.array([[int(topic in example.topics) for topic in TOPICS] for example in labeled], dtype=int)


def dataset_hash(labeled: Sequence[LabeledItem]) -> str:
    """Order-independent: the same examples in another order are the same training data."""
    lines = sorted(json.dumps([example.item.document, sorted(example.topics)]) for example in labeled)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _check(Y: np.ndarray) -> None:
    lacking = [topic for i, topic in enumerate(TOPICS) if min(Y[:, i].sum(), len(Y) - Y[:, i].sum()) < 4]
    if lacking:
        raise ValueError(f"training data needs at least 4 positive and 4 negative examples of every topic; "
                         f"not of {lacking}")


def train(labeled: Sequence[LabeledItem], weights: np.ndarray | None = None, **params: object) -> TopicClassifier:
    Y = indicator(labeled)
    _check(Y)
    return build_model(**params).fit(documents(labeled), Y, sample_weight=weights)


def example_weights(examples: int, labeled: int, label_weight: float) -> np.ndarray:
    """Weight 1 for each seed example and ``label_weight`` for each of the ``labeled`` analyst labels
    that end the training data: a label of a real item from the analyst's own feeds says more about
    what they want than a short seed example does, and is outnumbered by the seeds at first."""
    return np.concatenate([np.ones(examples - labeled), np.full(labeled, float(label_weight))])


def out_of_fold_scores(labeled: Sequence[LabeledItem], folds: int = 5, weights: np.ndarray | None = None,
                       **params: object) -> np.ndarray:
    """Each example's calibrated scores from a model that did not train on it."""
    Y = indicator(labeled)
    _check(Y)
    texts = documents(labeled)
    scores = np.zeros(Y.shape, dtype=float)
    stratify = Y @ (1 << np.arange(len(TOPICS)))  # each topic combination spread over the folds
    counts = np.bincount(stratify)
    smallest = int(counts[counts > 0].min())
    splitter = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=0)
    splits = list(splitter.split(texts, stratify))
    # The folds are independent: one process per CPU fits them side by side (each fit is seeded, so
    # the scores are the same in any order or process).
    fitted = Parallel(n_jobs=min(len(splits), os.cpu_count() or 1))(
        delayed(_fold_scores)([texts[i] for i in train_rows], Y[train_rows],
                              None if weights is None else weights[train_rows], [texts[i] for i in test_rows], params)
        for train_rows, test_rows in splits)
    for (_, test_rows), fold_scores in zip(splits, fitted):
        scores[test_rows] = fold_scores
    return scores


def _fold_scores(texts: list[str], Y: np.ndarray, weights: np.ndarray | None, held_out: list[str],
                 params: dict) -> np.ndarray:
    return build_model(**params).fit(texts, Y, sample_weight=weights).predict_proba(held_out)


def choose_thresholds(Y: np.ndarray, scores: np.ndarray, pinned: Mapping[str, float | None] | None = None,
                      weights: np.ndarray | None = None) -> dict[str, float]:
    """Per topic, the threshold with the best (weighted) F1 on validation scores (ties: the one nearest 0.5)."""
    pinned = pinned or {}
    weights = np.ones(len(Y)) if weights is None else np.asarray(weights, dtype=float)
    chosen = {}
    for t, topic in enumerate(TOPICS):
        if pinned.get(topic) is not None:
            chosen[topic] = float(pinned[topic])  # type: ignore[arg-type]
            continue
        f1 = [_f1(Y[:, t].astype(bool), scores[:, t] >= threshold, weights) for threshold in THRESHOLD_GRID]
        best = max(f1)
        candidates = [th for th, value in zip(THRESHOLD_GRID, f1) if value >= best - 1e-9]
        chosen[topic] = float(min(candidates, key=lambda th: abs(th - 0.5)))
    return chosen


def _f1(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> float:
    true_positives = float(weights[truth & predicted].sum())
    denominator = float(weights[truth].sum() + weights[predicted].sum())
    return 2 * true_positives / denominator if denominator else 0.0


def apply_thresholds(scores: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
    return (scores >= np.array([thresholds[topic] for topic in TOPICS])).astype(int)


def train_with_metadata(labeled: Sequence[LabeledItem], pinned: Mapping[str, float | None] | None = None,
                        folds: int = 5, weights: np.ndarray | None = None, **params: object
                        ) -> tuple[TopicClassifier, dict, np.ndarray]:
    """A fitted model, what is stored beside it, and the out-of-fold scores its thresholds came from."""
    Y = indicator(labeled)
    scores = out_of_fold_scores(labeled, folds, weights, **params)
    thresholds = choose_thresholds(Y, scores, pinned, weights)
    model = train(labeled, weights, **params, thresholds=thresholds)
    return model, _metadata(labeled, model, thresholds, pinned, metrics(Y, apply_thresholds(scores, thresholds))), scores


def _metadata(labeled: Sequence[LabeledItem], model: TopicClassifier, thresholds: Mapping[str, float],
              pinned: Mapping[str, float | None] | None, cross_validation: dict) -> dict:
    return {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sklearn_version": sklearn.__version__,
        "training_data_hash": dataset_hash(labeled),
        "training_examples": len(labeled),
        "params": {k: v for k, v in model.get_params().items() if k != "thresholds"},
        "thresholds": dict(thresholds),
        "threshold_source": {t: "config" if (pinned or {}).get(t) is not None else "validation" for t in TOPICS},
        "metrics": {"cross_validation": cross_validation},
    }


@dataclass
class Candidate:
    """A trained candidate, how it and the model in service did on the same held-out examples, the verdict."""

    model: TopicClassifier
    metadata: dict
    held_out: int
    candidate_metrics: dict | None
    current_metrics: dict | None
    promote: bool
    reason: str


def train_candidate(labeled: Sequence[LabeledItem], held_out: np.ndarray, current: TopicClassifier | None,
                    margin: float, pinned: Mapping[str, float | None] | None = None, folds: int = 5,
                    train_on_held_out: bool = True, weights: np.ndarray | None = None, **params: object
                    ) -> Candidate:
    """Train a candidate; judge it against ``current`` on the rows ``held_out`` marks.

    With ``train_on_held_out`` False the held-out rows are a slice no model trains on, scored by the
    candidate itself; otherwise they are rows the current model did not train on, scored out-of-fold
    (no candidate fold saw the row it scores). Thresholds are chosen on the other rows' out-of-fold scores.
    """
    held_out = np.asarray(held_out, dtype=bool)
    Y = indicator(labeled)
    rows = np.arange(len(labeled)) if train_on_held_out else np.flatnonzero(~held_out)
    training = [labeled[i] for i in rows]
    training_weights = None if weights is None else np.asarray(weights)[rows]
    scores = out_of_fold_scores(training, folds, training_weights, **params)
    validation = ~held_out[rows] if (~held_out[rows]).any() else np.ones(len(rows), dtype=bool)
    thresholds = choose_thresholds(Y[rows][validation], scores[validation], pinned,
                                   None if training_weights is None else training_weights[validation])
    model = train(training, training_weights, **params, thresholds=thresholds)
    held_texts = [d for d, h in zip(documents(labeled), held_out) if h]
    candidate_metrics = current_metrics = None
    if held_texts:
        held_scores = scores[held_out[rows]] if train_on_held_out else model.predict_proba(held_texts)
        candidate_metrics = metrics(Y[held_out], apply_thresholds(held_scores, thresholds))
        if current is not None:
            current_metrics = metrics(Y[held_out], current.predict(held_texts))
    promote, reason = passes_gate(candidate_metrics, current_metrics, margin, has_current=current is not None)
    metadata = _metadata(training, model, thresholds, pinned, metrics(Y[rows], apply_thresholds(scores, thresholds)))
    if candidate_metrics:
        metadata["metrics"]["held_out"] = {**candidate_metrics, "examples": int(held_out.sum())}
    return Candidate(model, metadata, int(held_out.sum()), candidate_metrics, current_metrics, promote, reason)
