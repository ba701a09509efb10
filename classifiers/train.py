"""From labeled items to a fitted TopicClassifier, and the fingerprint of what it learned from."""

from __future__ import annotations

import hashlib
import json
from typing import Sequence

from datetime import datetime, timezone

import numpy as np
import sklearn
from sklearn.model_selection import StratifiedKFold

from newswatch.models import TOPICS, LabeledItem

from .evaluate import metrics
from .pipeline import TopicClassifier


def documents(labeled: Sequence[LabeledItem]) -> list[str]:
    return [example.item.document for example in labeled]


def indicator(labeled: Sequence[LabeledItem]) -> np.ndarray:
    return np.array([[int(topic in example.topics) for topic in TOPICS] for example in labeled], dtype=int)


def dataset_hash(labeled: Sequence[LabeledItem]) -> str:
    """Order-independent: the same examples in another order are the same training data."""
    lines = sorted(json.dumps([example.item.document, sorted(example.topics)]) for example in labeled)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def train(labeled: Sequence[LabeledItem], **params: object) -> TopicClassifier:
    Y = indicator(labeled)
    missing = [topic for i, topic in enumerate(TOPICS) if not 0 < Y[:, i].sum() < len(labeled)]
    if missing:
        raise ValueError(f"training data needs positive and negative examples of every topic; not of {missing}")
    return TopicClassifier(**params).fit(documents(labeled), Y)  # type: ignore[arg-type]


def cross_validated_metrics(labeled: Sequence[LabeledItem], folds: int = 5, **params: object) -> dict:
    """Metrics of out-of-fold predictions: how the model does on examples it did not train on."""
    Y = indicator(labeled)
    texts = documents(labeled)
    predicted = np.zeros_like(Y)
    stratify = Y @ (1 << np.arange(len(TOPICS)))  # each topic combination spread over the folds
    counts = np.bincount(stratify)
    smallest = int(counts[counts > 0].min())
    splitter = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=0)
    for train_rows, test_rows in splitter.split(texts, stratify):
        model = TopicClassifier(**params).fit([texts[i] for i in train_rows], Y[train_rows])  # type: ignore[arg-type]
        predicted[test_rows] = model.predict([texts[i] for i in test_rows])
    return metrics(Y, predicted)


def train_with_metadata(labeled: Sequence[LabeledItem], **params: object) -> tuple[TopicClassifier, dict]:
    """A fitted model and what is stored beside it: data fingerprint, versions, validation metrics."""
    model = train(labeled, **params)
    metadata = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sklearn_version": sklearn.__version__,
        "training_data_hash": dataset_hash(labeled),
        "training_examples": len(labeled),
        "params": model.get_params(),
        "thresholds": dict(zip(TOPICS, map(float, model.thresholds_))),
        "metrics": {"cross_validation": cross_validated_metrics(labeled, **params)},
    }
    return model, metadata
