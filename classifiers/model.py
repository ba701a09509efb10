"""The estimator newswatch trains, built in one place: training, validation folds and benchmarks ask
``build_model`` for it rather than naming the class, so a change of model is a change here."""

from __future__ import annotations

from .pipeline import TopicClassifier


def build_model(**params: object) -> TopicClassifier:
    """An unfitted estimator (scikit-learn's contract: parameters stored as given, learned state in
    attributes ending in "_", ``fit`` returns it) with ``params`` over the defaults."""
    return TopicClassifier(**params)  # type: ignore[arg-type]
