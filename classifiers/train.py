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

from newswatch.models import LabeledItem

from .evaluate import (GateVerdict, documents, estimate, indicator, metrics, paired_gate,  # noqa: F401 (re-exported)
                       precision_recall_points)
from .model import build_model
from .pipeline import TopicClassifier

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)


def dataset_hash(labeled: Sequence[LabeledItem]) -> str:
    """Order-independent: the same examples in another order are the same training data."""
    lines = sorted(json.dumps([example.item.document, sorted(example.topics)]) for example in labeled)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


MIN_EXAMPLES = 4
"""Positive and negative examples every topic needs: fewer leave a validation fold or a calibration fold
without one."""


class TooFewExamplesError(ValueError):
    """Training data with fewer than ``MIN_EXAMPLES`` positive (or negative) examples of a topic."""

    def __init__(self, topic: str, positives: int, negatives: int):
        self.topic, self.positives, self.negatives = topic, positives, negatives
        kind, count = ("positive", positives) if positives < MIN_EXAMPLES else ("negative", negatives)
        super().__init__(f"topic {topic!r} has {count} {kind} example(s); training needs at least {MIN_EXAMPLES} "
                         f"({MIN_EXAMPLES - count} more)")


def _check(Y: np.ndarray, topics: Sequence[str]) -> None:
    for t, topic in enumerate(topics):
        positives = int(Y[:, t].sum())
        if min(positives, len(Y) - positives) < MIN_EXAMPLES:
            raise TooFewExamplesError(topic, positives, len(Y) - positives)


def train(labeled: Sequence[LabeledItem], topics: Sequence[str], weights: np.ndarray | None = None,
          **params: object) -> TopicClassifier:
    Y = indicator(labeled, topics)
    _check(Y, topics)
    return build_model(topics=tuple(topics), **params).fit(documents(labeled), Y, sample_weight=weights)


def example_weights(examples: int, labeled: int, label_weight: float) -> np.ndarray:
    """Weight 1 for each seed example and ``label_weight`` for each of the ``labeled`` analyst labels
    that end the training data: a label of a real item from the analyst's own feeds says more about
    what they want than a short seed example does, and is outnumbered by the seeds at first."""
    return np.concatenate([np.ones(examples - labeled), np.full(labeled, float(label_weight))])


def out_of_fold_scores(labeled: Sequence[LabeledItem], topics: Sequence[str], folds: int = 5,
                       weights: np.ndarray | None = None, **params: object) -> np.ndarray:
    """Each example's calibrated scores from a model that did not train on it."""
    Y = indicator(labeled, topics)
    _check(Y, topics)
    texts = documents(labeled)
    scores = np.zeros(Y.shape, dtype=float)
    stratify = Y @ (1 << np.arange(len(topics)))  # each topic combination spread over the folds
    counts = np.bincount(stratify)
    smallest = int(counts[counts > 0].min())
    splitter = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=0)
    splits = list(splitter.split(texts, stratify))
    # The folds are independent: one process per CPU fits them side by side (each fit is seeded, so
    # the scores are the same in any order or process).
    fitted = Parallel(n_jobs=min(len(splits), os.cpu_count() or 1))(
        delayed(_fold_scores)([texts[i] for i in train_rows], Y[train_rows],
                              None if weights is None else weights[train_rows], [texts[i] for i in test_rows],
                              {**params, "topics": tuple(topics)})
        for train_rows, test_rows in splits)
    for (_, test_rows), fold_scores in zip(splits, fitted):
        scores[test_rows] = fold_scores
    return scores


def _fold_scores(texts: list[str], Y: np.ndarray, weights: np.ndarray | None, held_out: list[str],
                 params: dict) -> np.ndarray:
    return build_model(**params).fit(texts, Y, sample_weight=weights).predict_proba(held_out)


def choose_thresholds(Y: np.ndarray, scores: np.ndarray, topics: Sequence[str],
                      pinned: Mapping[str, float | None] | None = None, weights: np.ndarray | None = None,
                      kept: Mapping[str, float] | None = None) -> dict[str, float]:
    """Per topic, the lowest threshold whose (weighted) F1 on validation scores is within one standard
    error of the best; or the one in service (``kept``), as long as it is within that band.

    F1 is flat over a wide band of thresholds on validation data, and inside that band the choice is
    noise; the lowest one is taken, for recall, because the validation data (the seed examples, written
    to be clear, and a few labels) score higher than the news does: the same threshold that splits
    them well misses real reports, and a missed report costs an analyst more than a false alarm they
    can label away. The standard error is the binomial one of an F1 over the topic's positives (the
    "one-standard-error rule" of model selection).

    The band's lowest end moves with any change to the data: two labels of false alarms lowered a drills
    threshold from 0.25 to 0.20, so that the topic tagged more after the analyst said it tagged too much. So
    a retrain keeps the threshold in service until the data puts it out of the band."""
    pinned = pinned or {}
    kept = kept or {}
    weights = np.ones(len(Y)) if weights is None else np.asarray(weights, dtype=float)
    chosen = {}
    for t, topic in enumerate(topics):
        if pinned.get(topic) is not None:
            chosen[topic] = float(pinned[topic])  # type: ignore[arg-type]
            continue
        truth = Y[:, t].astype(bool)
        f1 = np.array([_f1(truth, scores[:, t] >= threshold, weights) for threshold in THRESHOLD_GRID])
        best = f1.max()
        lowest_in_band = best - np.sqrt(best * (1 - best) / max(int(truth.sum()), 1)) - 1e-9
        held = kept.get(topic)
        if held is not None and _f1(truth, scores[:, t] >= held, weights) >= lowest_in_band:
            chosen[topic] = float(held)
        else:
            chosen[topic] = float(THRESHOLD_GRID[np.flatnonzero(f1 >= lowest_in_band)[0]])
    return chosen


def _f1(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> float:
    true_positives = float(weights[truth & predicted].sum())
    denominator = float(weights[truth].sum() + weights[predicted].sum())
    return 2 * true_positives / denominator if denominator else 0.0


def apply_thresholds(scores: np.ndarray, thresholds: Mapping[str, float], topics: Sequence[str]) -> np.ndarray:
    return (scores >= np.array([thresholds[topic] for topic in topics])).astype(int)


def _metadata(labeled: Sequence[LabeledItem], model: TopicClassifier, thresholds: Mapping[str, float],
              pinned: Mapping[str, float | None] | None, cross_validation: dict) -> dict:
    topics = model.topics_
    return {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sklearn_version": sklearn.__version__,
        "training_data_hash": dataset_hash(labeled),
        "training_examples": len(labeled),
        "params": {k: v for k, v in model.get_params().items() if k not in ("thresholds", "topics")},
        "thresholds": dict(thresholds),
        "threshold_source": {t: "config" if (pinned or {}).get(t) is not None else "validation" for t in topics},
        "metrics": {"cross_validation": cross_validation},
    }


def precision_recall_curves(Y: np.ndarray, scores: np.ndarray, topics: Sequence[str]) -> dict[str, list[dict]]:
    """Per topic, precision and recall of validation (out-of-fold) scores at every grid threshold."""
    return {topic: precision_recall_points(Y[:, t], scores[:, t], THRESHOLD_GRID) for t, topic in enumerate(topics)}


def _tags_without_choosing_on_them(Y: np.ndarray, scores: np.ndarray, topics: Sequence[str], rows: np.ndarray,
                                   chose: np.ndarray, pinned: Mapping[str, float | None] | None,
                                   weights: np.ndarray | None, groups: int,
                                   kept: Mapping[str, float] | None = None) -> np.ndarray:
    """Tags of ``rows`` (scores from models that did not train on them) at thresholds chosen, as
    ``choose_thresholds`` does, on the ``chose`` rows minus a group of ``rows`` at a time: a threshold
    fitted to the very labels it is then scored on would make the estimate look better than it is."""
    weights = np.ones(len(Y)) if weights is None else np.asarray(weights, dtype=float)
    indices = np.flatnonzero(rows)
    tags = np.zeros((len(indices), Y.shape[1]), dtype=int)
    for group in range(groups):
        scored = np.zeros(len(Y), dtype=bool)
        scored[indices[group::groups]] = True
        basis = chose & ~scored
        thresholds = choose_thresholds(Y[basis], scores[basis], topics, pinned, weights[basis], kept)
        tags[group::groups] = apply_thresholds(scores[scored], thresholds, topics)
    return tags


@dataclass
class Candidate:
    """A trained candidate, how it and the model in service did on the same held-out examples, the verdict."""

    model: TopicClassifier
    metadata: dict
    held_out: int
    candidate_metrics: dict | None
    """On the held-out rows, with bootstrap intervals (``evaluate.estimate``)."""
    current_metrics: dict | None
    verdict: GateVerdict
    held_out_truth: np.ndarray | None = None
    candidate_tags: np.ndarray | None = None
    current_tags: np.ndarray | None = None

    @property
    def promote(self) -> bool:
        return self.verdict.promote

    @property
    def reason(self) -> str:
        return self.verdict.reason


def train_candidate(labeled: Sequence[LabeledItem], topics: Sequence[str], held_out: np.ndarray,
                    current: TopicClassifier | None,
                    margin: float, pinned: Mapping[str, float | None] | None = None, folds: int = 5,
                    train_on_held_out: bool = True, weights: np.ndarray | None = None,
                    estimate_rows: np.ndarray | None = None, validates: np.ndarray | None = None,
                    kept_thresholds: Mapping[str, float] | None = None, new_seeds: bool = False,
                    **params: object) -> Candidate:
    """Train a candidate; judge it against ``current`` on the rows ``held_out`` marks (``evaluate.paired_gate``).

    With ``train_on_held_out`` False the held-out rows are a slice no model trains on, scored by the
    candidate itself; otherwise they are rows the current model did not train on, scored out-of-fold
    (no candidate fold saw the row it scores). Thresholds are chosen on the other rows' out-of-fold scores,
    whose precision/recall curve per topic is kept in the metadata (``pr_curve``). The estimate kept in
    the metadata (``metrics.held_out``) covers ``estimate_rows`` (default: the held-out rows), each
    scored by a model that did not train on it. ``validates`` marks the rows whose out-of-fold scores
    may choose thresholds (default: all; the others only train). ``kept_thresholds``: those the model in
    service chose itself, each kept while it stays in its topic's band (``choose_thresholds``). ``new_seeds``: the
    seed examples changed since ``current`` was trained (``evaluate.paired_gate``).
    """
    held_out = np.asarray(held_out, dtype=bool)
    estimate_rows = held_out if estimate_rows is None else np.asarray(estimate_rows, dtype=bool)
    Y = indicator(labeled, topics)
    rows = np.arange(len(labeled)) if train_on_held_out else np.flatnonzero(~held_out)
    training = [labeled[i] for i in rows]
    training_weights = None if weights is None else np.asarray(weights)[rows]
    scores = out_of_fold_scores(training, topics, folds, training_weights, **params)
    validation = ~held_out[rows] if (~held_out[rows]).any() else np.ones(len(rows), dtype=bool)
    if validates is not None and (validation & np.asarray(validates, dtype=bool)[rows]).any():
        validation &= np.asarray(validates, dtype=bool)[rows]
    thresholds = choose_thresholds(Y[rows][validation], scores[validation], topics, pinned,
                                   None if training_weights is None else training_weights[validation], kept_thresholds)
    model = train(training, topics, training_weights, **params, thresholds=thresholds)
    unseen = np.zeros(Y.shape, dtype=float)  # every row's scores from a model that did not train on it
    unseen[rows] = scores
    if not train_on_held_out and held_out.any():
        unseen[held_out] = model.predict_proba([d for d, h in zip(documents(labeled), held_out) if h])
    candidate_metrics = current_metrics = candidate_tags = current_tags = None
    if held_out.any():
        candidate_tags = apply_thresholds(unseen[held_out], thresholds, topics)
        candidate_metrics = estimate(Y[held_out], candidate_tags, topics)
        if current is not None:
            current_tags = current.predict([d for d, h in zip(documents(labeled), held_out) if h])
            current_metrics = metrics(Y[held_out], current_tags, topics)
    verdict = paired_gate(Y[held_out] if held_out.any() else None, candidate_tags, current_tags, margin, topics,
                          has_current=current is not None, new_seeds=new_seeds)
    metadata = _metadata(training, model, thresholds, pinned,
                         metrics(Y[rows], apply_thresholds(scores, thresholds, topics), topics))
    metadata["pr_curve"] = precision_recall_curves(Y[rows][validation], scores[validation], topics)
    if estimate_rows.any():
        chose = np.zeros(len(labeled), dtype=bool)
        chose[rows[validation]] = True
        tags = _tags_without_choosing_on_them(Y, unseen, topics, estimate_rows, chose, pinned, weights, folds,
                                              kept_thresholds)
        metadata["metrics"]["held_out"] = estimate(Y[estimate_rows], tags, topics)
    return Candidate(model, metadata, int(held_out.sum()), candidate_metrics, current_metrics, verdict,
                     Y[held_out] if held_out.any() else None, candidate_tags, current_tags)
