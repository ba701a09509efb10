"""The composition root: settings → store and the model in service, shared by the CLI, the page and the flows.

The analyst's loop (review queue, training, the gate, promote and rollback, what the model page shows)
is ``newswatch.retrain``; this module only puts the pieces together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classifiers.registry import LoadedModel

from . import retrain
from .config import Settings
from .retrain import registry  # noqa: F401  (the model versions: part of what the root hands out)

if TYPE_CHECKING:
    from .store import Store


def open_store(settings: Settings) -> Store:
    from .store import Store  # here: SQLAlchemy costs start-up that `classify` and `evaluate` do not need

    return Store.open(settings.database_url)


def current_model(settings: Settings) -> LoadedModel:
    """The model in service, tagging at the config's thresholds. Where there is none to serve (first
    use; only files an earlier newswatch wrote; only refused ones), one is trained on the seeds and every
    label and put in service, so neither an upgrade nor a broken file stops the cycle or loses what the
    labels taught."""
    model = retrain.in_service(settings)
    if model is not None:
        return model
    with open_store(settings) as store:
        report = retrain.train_against(None, settings, store, force=True)
    return retrain.with_pinned_thresholds(registry(settings).load(report.promoted_version), settings)  # type: ignore[arg-type]
