"""The composition root: settings → store, model and HTTP session, shared by the CLI and the flows.

This is the one core module that imports ``classifiers``; the steps of the data path take the model
as an argument and never import it themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from classifiers.registry import LoadedModel, Registry
from classifiers.train import train_with_metadata

from .config import Settings
from .labeled import seed_corpus
from .models import TOPICS, LabeledItem
from .store import ItemFilter, Store


def open_store(settings: Settings) -> Store:
    return Store.open(settings.database_url)


def registry(settings: Settings) -> Registry:
    return Registry(settings.models_dir)


def current_model(settings: Settings) -> LoadedModel:
    """The model in service; on first use, one trained from the seed corpus and put in service."""
    models = registry(settings)
    model = models.current()
    if model is not None:
        return model
    estimator, metadata = train_with_metadata(seed_corpus())
    version = models.save(estimator, {**metadata, "trained_on": "seeds"})
    models.promote(version)
    return models.load(version)


# ---- issue 7 (web review page): what the web layer needs of the models, without importing them ----

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
    candidate: str
    current: str | None
    candidate_macro_f1: float
    current_macro_f1: float | None
    promoted: bool
    training_examples: int

    @property
    def message(self) -> str:
        against = (f"{self.current} at {self.current_macro_f1:.3f}" if self.current_macro_f1 is not None
                   else "no model with metrics in service")
        verdict = "promoted" if self.promoted else f"not promoted, {self.current} stays in service"
        return (f"candidate {self.candidate} (cross-validated macro-F1 {self.candidate_macro_f1:.3f} on "
                f"{self.training_examples} examples) vs {against}: {verdict}")


def labeled_from_store(store: Store) -> list[LabeledItem]:
    """Stored items with labels as training examples: a labeled topic counts as labeled, a topic left
    unlabeled keeps what the model last said about it."""
    examples = []
    for scored in store.scored_items(ItemFilter(labeled=True), limit=None):
        said = scored.prediction.tags if scored.prediction else ()
        topics = tuple(t for t in TOPICS if (scored.labels[t].value if t in scored.labels else t in said))
        examples.append(LabeledItem(scored.item, topics))
    return examples


def retrain(settings: Settings, store: Store) -> RetrainDecision:
    """Train a candidate on the seeds plus the stored labels and promote it unless its cross-validated
    macro-F1 is worse than the current model's (a stand-in gate until issue 3's real one)."""
    examples = seed_corpus() + labeled_from_store(store)
    estimator, metadata = train_with_metadata(examples)
    models = registry(settings)
    current = models.current_version()
    current_meta = next((v for v in models.versions() if v["version"] == current), {})
    current_f1 = current_meta.get("metrics", {}).get("cross_validation", {}).get("macro_f1")
    candidate_f1 = metadata["metrics"]["cross_validation"]["macro_f1"]
    candidate = models.save(estimator, {**metadata, "trained_on": "seeds+labels"})
    promoted = current_f1 is None or candidate_f1 >= current_f1
    if promoted:
        models.promote(candidate)
    return RetrainDecision(candidate, current, candidate_f1, current_f1, promoted, len(examples))
