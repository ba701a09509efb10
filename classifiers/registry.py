"""Model versions on disk: skops files with JSON metadata, a CURRENT pointer, promote and rollback.

Model files are loaded with skops, never pickle, and only when every type they contain is one we
expect, so a tampered or foreign file is refused instead of executed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import skops.io as sio

from newswatch.models import Item, Prediction

from .explain import Explainer, Reading
from .pipeline import TopicClassifier

log = logging.getLogger(__name__)

# skops already trusts numpy, scipy and scikit-learn's own types; ours is the one type a model file
# may add to them. Anything else in a file (a function, a foreign class) gets it refused.
# The calibration helpers are scikit-learn's, but private, so skops does not trust them by default.
TRUSTED_TYPES = frozenset({"classifiers.pipeline.TopicClassifier", "sklearn.calibration._CalibratedClassifier",
                           "sklearn.calibration._SigmoidCalibration"})
_VERSION = re.compile(r"^v(\d+)$")
MODEL_FORMAT = 5
"""Bumped whenever ``TopicClassifier``'s fitted state changes shape or meaning: a file of another format
would load and then fail on its first prediction, or read text differently than it was trained to.
2: concept features, one regression per topic (no char n-grams). 3: Korean and Russian words (particles
stripped, stems) and concept names; the estimator records its topics. 4: concept columns per language,
a lead counted in words, one-syllable Korean lists joined. 5: the beat's people, institutions and places
name Russia and North Korea, and a concept fires on its own names only (not on words sharing a hashed column)."""


class ModelFileError(RuntimeError):
    """A model file that cannot be trusted or read."""


class OutdatedModelError(ModelFileError):
    """A model file an earlier newswatch wrote, in a format this one cannot use: train a new one."""


class TopicsChangedError(OutdatedModelError):
    """A model trained for other topics than those asked for (the config's topics changed): its score
    columns would not match them, so it is refused and a new one is trained."""


@dataclass
class LoadedModel:
    version: str
    estimator: TopicClassifier
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def thresholds(self) -> dict[str, float]:
        """The tagging threshold per topic."""
        return {topic: float(value) for topic, value in zip(self.topics, self.estimator.thresholds_)}

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics of its score columns, in order (the registry loads only a model trained for the config's)."""
        return tuple(self.estimator.topics_)

    @cached_property
    def explainer(self) -> Explainer:
        return Explainer(self.estimator)

    def predict_items(self, items: Sequence[Item], explain: int = 5) -> list[Prediction]:
        """Scores and tags for a batch; the "why" terms are computed only for the tags."""
        if not items:
            return []
        texts = [item.document for item in items]
        features = self.estimator.features(texts)
        scores = self.estimator.proba(features)
        tagged = scores >= self.estimator.thresholds_
        why: list[dict[str, tuple[str, ...]]] = [{} for _ in items]
        readings: dict[int, Reading] = {}  # an item tagged with two topics is read for its words once
        for t, topic in enumerate(self.topics):
            rows = np.flatnonzero(tagged[:, t])
            if explain and len(rows):
                for row, terms in zip(rows, self.explainer.top_terms(texts, features, rows, t, explain, readings)):
                    why[row][topic] = terms
        rounded = np.round(scores, 4).tolist()
        return [
            Prediction(scores=dict(zip(self.topics, rounded[i])),
                       tags=tuple(topic for t, topic in enumerate(self.topics) if tagged[i, t]), why=why[i])
            for i in range(len(items))
        ]


class Registry:
    """The model versions under ``root``; it loads only those trained for ``topics`` (the config's, in order)."""

    def __init__(self, root: Path, topics: Sequence[str]):
        self.root = Path(root)
        self.topics = tuple(topics)

    def _model_path(self, version: str) -> Path:
        return self.root / f"{version}.skops"

    def _metadata_path(self, version: str) -> Path:
        return self.root / f"{version}.json"

    def versions(self) -> list[dict[str, Any]]:
        """Metadata of every stored version, oldest first. A version whose metadata cannot be read (cut
        short, edited by hand) is left out, with the reason logged: it disables that version, not the tool."""
        found = []
        for path in self.root.glob("v*.json"):
            if _VERSION.match(path.stem):
                try:
                    found.append(self._metadata(path.stem))
                except ModelFileError as exc:
                    log.warning("%s", exc)
        return sorted(found, key=lambda meta: int(meta["version"][1:]))

    def _metadata(self, version: str) -> dict[str, Any]:
        path = self._metadata_path(version)
        try:
            metadata = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, OSError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ModelFileError(f"{path}: unreadable model metadata, version {version} disabled ({exc})") from None
        if not isinstance(metadata, dict) or metadata.get("version") != version:
            raise ModelFileError(f"{path}: not the metadata of model {version}, version disabled")
        return metadata

    def save(self, estimator: TopicClassifier, metadata: dict[str, Any]) -> str:
        """Store a new version (not yet in service) and return its name."""
        self.root.mkdir(parents=True, exist_ok=True)
        numbers = [int(m.group(1)) for p in self.root.glob("v*.skops") if (m := _VERSION.match(p.stem))]
        number = max(numbers, default=0) + 1
        while True:
            version = f"v{number}"
            try:
                with open(self._model_path(version), "xb") as handle:  # exclusive: two trainers never share a name
                    handle.write(_reproducible(sio.dumps(estimator)))
                break
            except FileExistsError:
                number += 1
        _write_atomically(self._metadata_path(version),
                          json.dumps({**metadata, "version": version, "model_format": MODEL_FORMAT,
                                      "topics": list(estimator.topics_)}, indent=2))
        return version

    def load(self, version: str) -> LoadedModel:
        """The model ``version``, checked before use: its format, the types in its file and its topics (a
        model trained for other topics is refused with TopicsChangedError: its score columns would be
        read as the wrong topics, or run out)."""
        path = self._model_path(version)
        if not path.exists():
            raise ModelFileError(f"model {version} not found in {self.root}")
        metadata = self._metadata(version)
        if metadata.get("model_format") != MODEL_FORMAT:
            raise OutdatedModelError(f"{path}: written by an earlier newswatch (model format "
                                     f"{metadata.get('model_format', 1)}, this one reads {MODEL_FORMAT})")
        if "topics" in metadata:  # refused before the file is read, where the metadata says it
            _check_topics(path, metadata["topics"], self.topics)
        try:
            untrusted = set(sio.get_untrusted_types(file=path))
        except Exception as exc:  # a truncated or foreign file fails inside skops' zip/JSON reader
            raise ModelFileError(f"{path}: not a readable skops model file ({type(exc).__name__}: {exc})") from None
        unexpected = untrusted - TRUSTED_TYPES
        if unexpected:
            raise ModelFileError(f"{path}: refused: it contains types newswatch does not trust: {sorted(unexpected)}")
        try:
            estimator = sio.load(path, trusted=sorted(untrusted))
        except Exception as exc:
            raise ModelFileError(f"{path}: could not be loaded ({type(exc).__name__}: {exc})") from None
        if not isinstance(estimator, TopicClassifier):
            raise ModelFileError(f"{path}: holds a {type(estimator).__name__}, not a TopicClassifier")
        _check_topics(path, getattr(estimator, "topics_", None), self.topics)
        return LoadedModel(version, estimator, metadata)

    def current_version(self) -> str | None:
        pointer = self.root / "CURRENT"
        return pointer.read_text(encoding="utf-8").strip() or None if pointer.exists() else None

    def promote(self, version: str) -> LoadedModel:
        """Put ``version`` in service, once it has loaded: a refused file leaves the current one serving."""
        model = self.load(version)
        _write_atomically(self.root / "CURRENT", version + "\n")
        return model

    def previous_version(self, before: str | None = None) -> str | None:
        """The newest version older than ``before`` (default: the one in service)."""
        before = before or self.current_version()
        if before is None or not _VERSION.match(before):
            return None
        older = [m["version"] for m in self.versions() if int(m["version"][1:]) < int(before[1:])]
        return older[-1] if older else None


def _check_topics(path: Path, trained_for: Sequence[str] | None, topics: Sequence[str]) -> None:
    if trained_for is None or tuple(trained_for) != tuple(topics):
        raise TopicsChangedError(f"{path}: trained for the topics {list(trained_for or [])}, "
                                 f"not the config's {list(topics)}")


def _reproducible(dumped: bytes) -> bytes:
    """skops' archive made a function of the model alone, so the same model gives the same file bytes:
    skops names objects and array files by their memory address (``id()``) and stamps each entry
    with the clock; here the addresses are numbered in the order the schema meets them (one address,
    one number: shared references stay shared) and the entries get one fixed date. Deflated, for
    the weights are mostly zeros."""
    numbers: dict[int, int] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: numbers.setdefault(value, len(numbers)) if key == "__id__" else
                    _renamed(value, numbers) if isinstance(value, str) else renumber(value)
                    for key, value in node.items()}
        if isinstance(node, list):
            return [renumber(value) for value in node]
        return node

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(dumped)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        schema = renumber(json.loads(source.read("schema.json")))
        entries = {_renamed(name, numbers): source.read(name) for name in source.namelist() if name != "schema.json"}
        entries["schema.json"] = json.dumps(schema, indent=2).encode("utf-8")
        for name in sorted(entries):
            target.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), entries[name],
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


_ARRAY_FILE = re.compile(r"^(\d+)\.npy$")


def _renamed(name: str, numbers: dict[int, int]) -> str:
    """An array file's name ("140167790733968.npy") by the number its address was given."""
    match = _ARRAY_FILE.match(name)
    return f"{numbers.setdefault(int(match.group(1)), len(numbers))}.npy" if match else name


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
