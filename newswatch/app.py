"""The composition root: settings → store, model and HTTP session, shared by the CLI and the flows.

This is the one core module that imports ``classifiers``; the steps of the data path take the model
as an argument and never import it themselves. It also composes label → retrain → evaluate → promote:
the ML lives in ``classifiers.train``, the labels in ``labels``, the versions in the registry.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifiers.registry import LoadedModel, ModelFileError, OutdatedModelError, Registry
from classifiers.train import Candidate, documents, example_weights, train_candidate

from .clock import utcnow
from .config import Settings
from .cycle import record_predictions
from .labeled import seed_corpus
from .labels import labeled_examples
from .models import TOPICS, Item, LabeledItem
from .store import Store

log = logging.getLogger(__name__)


def open_store(settings: Settings) -> Store:
    return Store.open(settings.database_url)


def registry(settings: Settings) -> Registry:
    return Registry(settings.models_dir)


def pinned_thresholds(settings: Settings) -> dict[str, float | None]:
    return {topic: options.threshold for topic, options in settings.topics.items()}


def current_model(settings: Settings) -> LoadedModel:
    """The model in service. Where there is none to serve (first use; only files an earlier newswatch
    wrote; only refused ones), one is trained on the seeds and every label and put in service, so
    neither an upgrade nor a broken file stops the cycle or loses what the labels taught."""
    models = registry(settings)
    model = _in_service(models)
    if model is not None:
        return model
    with open_store(settings) as store:
        report = train(settings, store, force=True)
    return models.load(report.promoted_version)  # type: ignore[arg-type]


def _in_service(models: Registry) -> LoadedModel | None:
    """The version in service; if its file is refused (tampered, truncated, foreign), the newest older
    version that loads, with the refusal logged; None when none is in service or none loads."""
    version = models.current_version()
    if version is None:
        return None
    try:
        return models.load(version)
    except OutdatedModelError as outdated:
        log.warning("%s; training a current model on the seeds and every label", outdated)
        return None
    except ModelFileError as refused:
        fallback = models.previous_version(version)
        while fallback is not None:
            try:
                model = models.load(fallback)
            except ModelFileError:
                fallback = models.previous_version(fallback)
                continue
            log.error("%s; serving %s instead", refused, fallback)
            return model
        log.error("%s; no earlier version loads either: training a new model on the seeds and every label", refused)
        return None


@dataclass(frozen=True)
class TagChange:
    item: Item
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass
class TrainingReport:
    candidate: Candidate
    current_version: str | None
    evaluated_on: str
    promoted_version: str | None = None
    forced: bool = False
    changes: list[TagChange] = field(default_factory=list)


def training_corpus(store: Store) -> tuple[list[LabeledItem], int]:
    """The seeds plus every labeled item (a label overrides a seed with the same key); the labeled come last."""
    labeled = labeled_examples(store.latest_labels())
    keys = {example.item.key for example in labeled}
    seeds = [example for example in seed_corpus() if example.item.key not in keys]
    return seeds + labeled, len(labeled)


def held_out_rows(corpus: list[LabeledItem], labeled: int, min_held_out: int, seen_by_current: set[str]
                  ) -> tuple[np.ndarray, bool, str]:
    """Which examples judge the candidate against the current model, whether to train on them, and a description.

    Once there are enough, a fixed fifth of the labeled items (by a hash of their key, so it never
    moves) that no model trains on; before that, the labeled items the current model did not train on.
    """
    is_label = np.arange(len(corpus)) >= len(corpus) - labeled
    bucket = np.array([int(hashlib.sha256(e.item.key.encode()).hexdigest(), 16) % 5 == 0 for e in corpus])
    if (is_label & bucket).sum() >= min_held_out:
        return is_label & bucket, False, f"{int((is_label & bucket).sum())} held-out labeled items (a fixed fifth, never trained on)"
    unseen = is_label & np.array([e.item.key not in seen_by_current for e in corpus])
    return unseen, True, f"{int(unseen.sum())} labeled items the current model did not train on"


def train(settings: Settings, store: Store, force: bool = False, dry_run: bool = False) -> TrainingReport:
    """Train a candidate on seeds + labels, judge it against the model in service, promote it if it passes.

    ``force`` promotes whatever the verdict; ``dry_run`` promotes nothing and lists the stored items
    whose tags the candidate would change.
    """
    corpus, labeled = training_corpus(store)
    models = registry(settings)
    current = _in_service(models)
    seen = set(current.metadata.get("label_keys", [])) if current else set()
    held_out, train_on_held_out, evaluated_on = held_out_rows(corpus, labeled, settings.training.min_held_out, seen)
    candidate = train_candidate(corpus, held_out, current.estimator if current else None,
                                settings.training.gate_margin, pinned_thresholds(settings), settings.training.folds,
                                train_on_held_out, example_weights(len(corpus), labeled, settings.training.label_weight))
    report = TrainingReport(candidate, current.version if current else None, evaluated_on, forced=force)
    if dry_run:
        report.changes = backtest(store, current, candidate, settings.training.backtest_items)
        return report
    if candidate.promote or force:
        trained_keys = [e.item.key for e, h in zip(corpus[len(corpus) - labeled:], held_out[len(corpus) - labeled:])
                        if train_on_held_out or not h]
        metadata = {**candidate.metadata, "trained_on": "seeds+labels" if labeled else "seeds", "labeled_items": labeled,
                    "label_keys": trained_keys,
                    "gate": {"evaluated_on": evaluated_on, "current_version": report.current_version,
                             "current_metrics": candidate.current_metrics, "passed": candidate.promote,
                             "reason": candidate.reason, "forced": force and not candidate.promote}}
        report.promoted_version = models.save(candidate.model, metadata)
        models.promote(report.promoted_version)
    return report


def backtest(store: Store, current: LoadedModel | None, candidate: Candidate, limit: int) -> list[TagChange]:
    """The most recent stored items whose tags differ between the model in service and the candidate."""
    stored = store.newest_items(limit)
    if not stored:
        return []
    texts = documents([LabeledItem(item, ()) for item in stored])
    after = candidate.model.predict(texts)
    before = current.estimator.predict(texts) if current else np.zeros_like(after)
    return [TagChange(item, _tags(before[i]), _tags(after[i]))
            for i, item in enumerate(stored) if (before[i] != after[i]).any()]


def _tags(row: np.ndarray) -> tuple[str, ...]:
    return tuple(topic for topic, tagged in zip(TOPICS, row) if tagged)


def rollback(settings: Settings, version: str | None = None) -> str:
    """Put ``version`` (default: the one before the version in service) back in service; return it."""
    models = registry(settings)
    if version and version.isascii() and version.isdigit():
        version = f"v{version}"  # `models rollback 2` means v2, as `models list` names it
    target = version or models.previous_version()
    if target is None:
        raise ModelFileError("no earlier model version to roll back to")
    models.promote(target)
    return target


@dataclass(frozen=True)
class ReviewEntry:
    item: Item
    topic: str
    score: float
    threshold: float


def review_queue(settings: Settings, store: Store, limit: int) -> list[ReviewEntry]:
    """Stored (item, topic) pairs nobody labeled yet whose score is nearest the threshold: labeling
    these teaches the model most. Items the model in service has not scored are scored first."""
    model = current_model(settings)
    unscored = store.items_unscored_by(model.version, settings.training.review_pool)
    record_predictions(store, settings, model.version, unscored, model.predict_items(unscored, explain=0), utcnow())
    labeled = {(label.item_key, label.topic) for label in store.latest_labels()}
    thresholds = dict(zip(TOPICS, map(float, model.estimator.thresholds_)))
    entries = [ReviewEntry(item, topic, scores[topic], thresholds[topic])
               for item, scores in store.latest_predictions(model.version)
               for topic in TOPICS if (item.key, topic) not in labeled]
    return sorted(entries, key=lambda e: abs(e.score - e.threshold))[:limit]



# What the web review page needs of the models, without importing classifiers itself.

def model_versions(settings: Settings) -> list[dict[str, Any]]:
    """Metadata of every stored model version, oldest first (with "metrics" from its training)."""
    return registry(settings).versions()


def current_version(settings: Settings) -> str | None:
    return registry(settings).current_version()


def thresholds(settings: Settings) -> dict[str, float]:
    """The tagging threshold per topic: pinned in the config, else the current model's, else 0.5."""
    version = current_version(settings)
    chosen = next((v.get("thresholds", {}) for v in model_versions(settings) if v["version"] == version), {})
    pinned = {name: topic.threshold for name, topic in settings.topics.items() if topic.threshold is not None}
    return {topic: float(pinned.get(topic, chosen.get(topic, 0.5))) for topic in TOPICS}


@dataclass(frozen=True)
class RetrainDecision:
    promoted: str | None
    """The version put in service, or None when the gate kept the current model."""
    current: str | None
    reason: str
    evaluated_on: str

    @property
    def message(self) -> str:
        verdict = f"{self.promoted} promoted" if self.promoted else f"not promoted, {self.current} stays in service"
        return f"{verdict}: {self.reason} (evaluated on {self.evaluated_on})"


def retrain(settings: Settings, store: Store) -> RetrainDecision:
    """The gated retrain of `newswatch train`, summed up for the review page."""
    report = train(settings, store)
    return RetrainDecision(report.promoted_version, report.current_version, report.candidate.reason,
                           report.evaluated_on)
