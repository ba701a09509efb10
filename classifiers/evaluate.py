"""Metrics per topic and macro-F1; how sure we can be of them (bootstrap intervals); the paired gate test.

A figure measured on a few dozen analyst labels moves a lot with which items happen to be labeled:
every figure shown to analysts comes with its 90 % bootstrap interval, and a candidate model is refused
only when it is worse than the model in service beyond that noise, judged on the same items (paired).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from newswatch.models import LabeledItem

CONFIDENCE = 0.9
RESAMPLES = 2000
MIN_POSITIVES = 15
"""Held-out positives of every topic needed before a held-out F1 is shown as an estimate: below it one
item more or less moves a topic's F1 by several points, and the 90 % interval spans ±0.15 or more."""


def documents(labeled: Sequence[LabeledItem]) -> list[str]:
    return [example.item.document for example in labeled]


def indicator(labeled: Sequence[LabeledItem], topics: Sequence[str]) -> np.ndarray:
    """One row per example, one column per topic of ``topics``: 1 where the example is about it. A topic
    an example does not name counts as "no" (most news is about none of them)."""
    return np.array([[int(topic in example.topics) for topic in topics] for example in labeled], dtype=int
                    ).reshape(len(labeled), len(topics))


class Tagger(Protocol):
    def predict(self, texts: Sequence[str]) -> np.ndarray: ...


def evaluate_model(model: Tagger, labeled: Sequence[LabeledItem], topics: Sequence[str]) -> dict:
    """What `newswatch evaluate` prints: ``estimate`` of the model's tags (columns: ``topics``) on labeled examples."""
    return estimate(indicator(labeled, topics), model.predict(documents(labeled)), topics)


def metrics(Y_true: np.ndarray, Y_pred: np.ndarray, topics: Sequence[str]) -> dict:
    """Precision, recall, F1 and support per topic (the columns of ``Y_true``, named by ``topics``) and macro-F1."""
    precision, recall, f1, support = precision_recall_fscore_support(
        np.asarray(Y_true), np.asarray(Y_pred), average=None, labels=range(len(topics)), zero_division=0)
    per_topic = {
        topic: {"precision": round(float(precision[i]), 4), "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4), "support": int(support[i])}
        for i, topic in enumerate(topics)
    }
    return {"topics": per_topic, "macro_f1": round(float(np.mean(f1)), 4)}


def _f1_columns(Y_true: np.ndarray, Y_pred: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """F1 per topic (columns) for each bootstrap resample (rows of ``rows``: indices into the items).

    Vectorized: counts of true positives, predicted and actual positives per resample, so 2,000
    resamples of a few hundred items take milliseconds. A topic with no positives either way scores 0,
    as ``precision_recall_fscore_support(zero_division=0)`` does.
    """
    truth, predicted = Y_true[rows].astype(bool), Y_pred[rows].astype(bool)  # resamples × items × topics
    true_positives = (truth & predicted).sum(axis=1)
    denominator = truth.sum(axis=1) + predicted.sum(axis=1)
    return np.divide(2 * true_positives, denominator, out=np.zeros(denominator.shape, dtype=float),
                     where=denominator > 0)


def _resamples(n: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _interval(values: np.ndarray, confidence: float) -> list[float]:
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return [round(float(low), 4), round(float(high), 4)]


def estimate(Y_true: np.ndarray, Y_pred: np.ndarray, topics: Sequence[str], confidence: float = CONFIDENCE,
             resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """``metrics`` plus a bootstrap interval for macro-F1 and each topic's F1, the positives per topic,
    and whether there are enough (``MIN_POSITIVES`` of every topic) to call it an estimate."""
    Y_true, Y_pred = np.asarray(Y_true), np.asarray(Y_pred)
    result = {**metrics(Y_true, Y_pred, topics), **_counts(Y_true, topics), "confidence": confidence}
    if len(Y_true):
        f1 = _f1_columns(Y_true, Y_pred, _resamples(len(Y_true), resamples, seed))
        result["macro_f1_interval"] = _interval(f1.mean(axis=1), confidence)
        for t, topic in enumerate(topics):
            result["topics"][topic]["f1_interval"] = _interval(f1[:, t], confidence)
    return result


def _counts(Y_true: np.ndarray, topics: Sequence[str]) -> dict:
    positives = {topic: int(Y_true[:, t].sum()) if len(Y_true) else 0 for t, topic in enumerate(topics)}
    return {"examples": int(len(Y_true)), "positives": positives,
            "enough": bool(len(Y_true)) and min(positives.values()) >= MIN_POSITIVES}


def describe_estimate(result: dict | None) -> str:
    """One line an analyst can act on: the held-out figure with its interval, or why there is none."""
    if not result or not result.get("examples"):
        return "no held-out labels yet: label items (the review queue) to get an estimate on your own news"
    if "positives" not in result:  # written before estimates carried their counts and interval
        return f"macro-F1 {result.get('macro_f1', 0):.2f} on {result['examples']} held-out labels (no interval recorded)"
    counts = _in_words(result)
    if not result.get("enough"):
        return f"{counts}: too few to estimate (needs {MIN_POSITIVES} positives of each topic)"
    low, high = result["macro_f1_interval"]
    return (f"macro-F1 {result['macro_f1']:.2f} (90 % interval {low:.2f}–{high:.2f}) on {counts}")


def _in_words(result: dict) -> str:
    positives = ", ".join(f"{n} {topic} positives" for topic, n in result["positives"].items())
    return f"{result['examples']} held-out labels, {positives}"


@dataclass(frozen=True)
class GateVerdict:
    promote: bool
    reason: str
    difference: float | None = None
    """Candidate minus current macro-F1 on the held-out labels."""
    interval: tuple[float, float] | None = None
    """The 90 % paired-bootstrap interval of that difference."""

    def as_json(self) -> dict:
        return {"promote": self.promote, "reason": self.reason, "difference": self.difference,
                "interval": list(self.interval) if self.interval else None}


def paired_gate(Y_true: np.ndarray | None, candidate: np.ndarray | None, current: np.ndarray | None,
                margin: float, topics: Sequence[str], has_current: bool = True, confidence: float = CONFIDENCE,
                resamples: int = RESAMPLES, seed: int = 0, new_seeds: bool = False) -> GateVerdict:
    """Judge a candidate against the model in service on the same held-out labels (tags of each).

    Paired bootstrap: the same resampled items score both models, so what they have in common (easy or
    hard items) cancels out. The candidate is refused only when even the top of the 90 % interval of
    the macro-F1 difference is more than ``margin`` below zero, i.e. it is worse beyond noise. With no label to
    compare on, it is promoted only when it learned from ``new_seeds``: seed examples the model in service was not
    trained on (an upgrade of newswatch that ships better ones, or an edited seeds file).
    """
    if not has_current:
        return GateVerdict(True, "no model in service: the candidate is the first")
    if Y_true is None or candidate is None or current is None or not len(Y_true):
        if new_seeds:
            return GateVerdict(True, "promoted: the seed examples changed since the model in service was trained "
                                     "(a newswatch upgrade or an edited seeds file); no label it has not seen to "
                                     "compare the two on")
        return GateVerdict(False, "kept: no labels the model in service has not seen, so nothing new to learn "
                                  "from or to compare on")
    Y_true, candidate, current = np.asarray(Y_true), np.asarray(candidate), np.asarray(current)
    rows = _resamples(len(Y_true), resamples, seed)
    differences = (_f1_columns(Y_true, candidate, rows).mean(axis=1)
                   - _f1_columns(Y_true, current, rows).mean(axis=1))
    new, old = metrics(Y_true, candidate, topics)["macro_f1"], metrics(Y_true, current, topics)["macro_f1"]
    difference = round(new - old, 4)
    low, high = _interval(differences, confidence)
    counts = _counts(Y_true, topics)
    # the tags each got wrong: with few or no positives held out (an analyst's first labels are often false
    # alarms) F1 cannot tell the two apart, and this can
    wrong = f"wrong tags {int((candidate != Y_true).sum())} vs {int((current != Y_true).sum())} in service"
    if not any(counts["positives"].values()):  # F1 is 0 for both whatever they tag: only the wrong tags say anything
        compared = f"{wrong}, on {_in_words(counts)} (F1 needs a positive to compare the models on)"
    else:
        compared = (f"macro-F1 {new:.3f} vs {old:.3f} in service ({difference:+.3f}; 90 % interval of the "
                    f"difference {low:+.3f} to {high:+.3f}), {wrong}, on {_in_words(counts)}")
    if high < -margin:
        return GateVerdict(False, f"refused: worse beyond noise: {compared}", difference, (low, high))
    if difference < -margin:
        why = (f"too few to tell a {-difference:.2f} drop from noise" if not counts["enough"]
               else f"a {-difference:.2f} drop is within the noise of this many labels")
        return GateVerdict(True, f"promoted: {why}, and the candidate learned from every label: {compared}",
                           difference, (low, high))
    return GateVerdict(True, f"promoted: not worse: {compared}", difference, (low, high))


def precision_recall_points(truth: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> list[dict]:
    """For one topic, precision and recall at each threshold, from scores of models that did not train
    on the items (out of fold): the curve an analyst picks a threshold from."""
    truth = np.asarray(truth).astype(bool)
    points = []
    for threshold in thresholds:
        tagged = scores >= threshold
        hits = int((tagged & truth).sum())
        points.append({"threshold": round(float(threshold), 2),
                       "precision": round(hits / int(tagged.sum()), 3) if tagged.any() else 1.0,
                       "recall": round(hits / int(truth.sum()), 3) if truth.any() else 0.0,
                       "tagged": int(tagged.sum())})
    return points
