"""The composition root: settings → store, model and HTTP session, shared by the CLI and the flows.

This is the one core module that imports ``classifiers``; the steps of the data path take the model
as an argument and never import it themselves.
"""

from __future__ import annotations

from classifiers.registry import LoadedModel, Registry
from classifiers.train import train_with_metadata

from .config import Settings
from .labeled import seed_corpus
from .store import Store


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
