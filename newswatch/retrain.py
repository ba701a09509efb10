"""The analyst's loop: the review queue → labels → a candidate trained on seeds + labels → the gate →
promote or keep (or roll back), and what the model page shows of it.

Every front door runs these functions: the `newswatch` CLI (`review`, `train`, `models`), the review
page, the `retrain` flow and the benchmarks (``candidate_for`` is the one training path). This is one of
the composers that import ``classifiers``; the ML itself (features, fitting, metrics) lives there.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from classifiers.evaluate import describe_estimate
from classifiers.registry import LoadedModel, ModelFileError, OutdatedModelError, Registry
from classifiers.train import Candidate, TooFewExamplesError, dataset_hash, documents, example_weights, train_candidate

from .analyst_labels import labeled_examples
from .clock import utcnow
from .config import Settings
from .labeled_items import seed_corpus, training_only_keys
from .models import Item, LabeledItem

if TYPE_CHECKING:  # not imported to run: `classify` and `evaluate` start without SQLAlchemy
    from .store import Store

log = logging.getLogger(__name__)

SIMILAR = 0.5
"""Cosine similarity of two items' word features above which the review queue shows only the first:
near-duplicates (rewrites of one wire story) teach the model the same thing twice."""
REVIEW_CANDIDATES = 5
"""The review queue picks ``limit`` items among the ``limit × REVIEW_CANDIDATES`` most uncertain (see ``diverse``)."""
REVIEW_SHORTLIST = 20
"""Entries (an item and a topic) the review queue reads, per item it lists: the most uncertain only."""
EXPLORE_EVERY = 4
"""Every fourth item the review queue lists is one of its shortlist in a fixed arbitrary order (by a hash of its key), not
the most uncertain: labels taken only near the thresholds tell the retrain about the items it hesitates on and nothing of
the rest of the stream, and thresholds and calibration are chosen on those labels too (sampling bias). Measured against
uncertainty alone and random labels: bench/README.md, "Review queue vs random labels"."""
SURE = 0.8
"""A score at least this share of the way from its topic's threshold to 0 or 1 (under 0.25 at most 0.05, above it at
least 0.85) is one the model is sure of: a label there checks the model rather than teaches it. The review queue lists
such items last, and says so (a small store, or a quiet one, has few items near a threshold)."""
MAX_SHORTLIST = 2000
"""…and at most this many: ``diverse`` compares every pair of them (two 2,000 × 2,000 matrices, 64 MB),
so a `review --limit` in the thousands must not ask for a matrix of gigabytes."""


class TrainingDataError(ValueError):
    """Seeds and labels too few to train a model for one of the config's topics (a topic just added)."""


def registry(settings: Settings) -> Registry:
    """The model versions; only one trained for the config's topics loads (another is TopicsChangedError)."""
    return Registry(settings.models_dir, settings.topic_names)


def pinned_thresholds(settings: Settings) -> dict[str, float | None]:
    """The thresholds an analyst set in the config (``[topics.<t>] threshold``), None where the model chooses."""
    return {topic: options.threshold for topic, options in settings.topics.items()}


def with_pinned_thresholds(model: LoadedModel, settings: Settings) -> LoadedModel:
    """The model tagging at the config's thresholds where set: a threshold chosen on the model page
    applies from the next item scored, without waiting for a retrain."""
    pinned = pinned_thresholds(settings)
    model.estimator.thresholds_ = np.array([pinned.get(topic) or float(model.estimator.thresholds_[t])
                                            for t, topic in enumerate(settings.topic_names)])
    return model


def in_service(settings: Settings) -> LoadedModel | None:
    """The version in service, at the config's thresholds; if its file is refused (tampered, truncated,
    foreign), the newest older version that loads, with the refusal logged; None when none is in
    service or none loads."""
    models = registry(settings)
    version = models.current_version()
    if version is None:
        return None
    try:
        return with_pinned_thresholds(models.load(version), settings)
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
            return with_pinned_thresholds(model, settings)
        log.error("%s; no earlier version loads either: training a new model on the seeds and every label", refused)
        return None


# -- training: labels + seeds → candidate → gate → promote ------------------------------------------

@dataclass(frozen=True)
class TagChange:
    """A stored item whose tags a candidate model would change (`newswatch train --dry-run`)."""

    item: Item
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass
class TrainingReport:
    candidate: Candidate
    current_version: str | None
    evaluated_on: str
    labeled: int
    promoted_version: str | None = None
    forced: bool = False
    changes: list[TagChange] = field(default_factory=list)

    @property
    def estimate(self) -> str:
        """The candidate's estimate on the analysts' labels in words (or why there is none)."""
        return describe_estimate(self.candidate.metadata["metrics"].get("held_out"))

    @property
    def message(self) -> str:
        """The decision in one sentence, for the review page and the flow's log."""
        if self.promoted_version:
            verdict = f"{self.promoted_version} promoted" + (" (forced)" if self.forced and not self.candidate.promote else "")
        else:
            verdict = f"not promoted, {self.current_version} stays in service"
        return f"{verdict}: {self.candidate.reason}"


def training_corpus(settings: Settings, store: Store) -> tuple[list[LabeledItem], int]:
    """The seeds (shipped, and the files the config's topics name) plus every labeled item (a label overrides
    a seed with the same key); the labeled come last."""
    topics = settings.topic_names
    labeled = labeled_examples(store.latest_labels(), topics)
    keys = {example.item.key for example in labeled}
    topic_seeds = [topic.seeds for topic in settings.topics.values() if topic.seeds is not None]
    seeds = [example for example in seed_corpus(topics, topic_seeds) if example.item.key not in keys]
    return seeds + labeled, len(labeled)


def held_out_rows(corpus: Sequence[LabeledItem], labeled: int, min_held_out: int, seen_by_current: set[str]
                  ) -> tuple[np.ndarray, bool, str]:
    """Which examples judge the candidate against the current model, whether to train on them, and a description.

    Once there are enough, a fixed fifth of the labeled items (by a hash of their key, so it never
    moves) that no model trains on; before that, the labeled items the current model did not train on,
    each scored by a candidate fold that did not train on it.
    """
    is_label = np.arange(len(corpus)) >= len(corpus) - labeled
    bucket = np.array([int(hashlib.sha256(e.item.key.encode()).hexdigest(), 16) % 5 == 0 for e in corpus])
    if (is_label & bucket).sum() >= min_held_out:
        return is_label & bucket, False, f"{int((is_label & bucket).sum())} held-out labeled items (a fixed fifth, never trained on)"
    unseen = is_label & np.array([e.item.key not in seen_by_current for e in corpus])
    return unseen, True, (f"{int(unseen.sum())} labeled items the model in service did not train on "
                          "(each scored by a candidate fold that did not train on it)")


def chosen_by(model: LoadedModel | None) -> dict[str, float]:
    """The thresholds ``model`` chose on its validation data (a retrain keeps each while the data allows), not
    those the config pinned when it was trained."""
    if model is None:
        return {}
    sources = model.metadata.get("threshold_source", {})
    return {topic: value for topic, value in model.thresholds.items() if sources.get(topic) == "validation"}


def candidate_for(settings: Settings, corpus: Sequence[LabeledItem], labeled: int, current: LoadedModel | None
                  ) -> tuple[Candidate, np.ndarray, bool, str]:
    """The one training path (production and benchmarks): a candidate trained on ``corpus`` (seeds, then
    ``labeled`` analyst labels), judged against ``current`` on held-out labels. Returns the candidate,
    the held-out rows, whether it trained on them, and what they are in words."""
    seen = set(current.metadata.get("label_keys", [])) if current else set()
    seeds = seeds_hash(corpus, labeled)
    held_out, train_on_held_out, evaluated_on = held_out_rows(corpus, labeled, settings.training.min_held_out, seen)
    # the estimate shown covers every label, each scored by a model that did not train on it
    labels = np.arange(len(corpus)) >= len(corpus) - labeled
    training_only = training_only_keys()
    validates = labels | np.array([example.item.key not in training_only for example in corpus], dtype=bool)
    try:
        candidate = train_candidate(corpus, settings.topic_names, held_out, current.estimator if current else None,
                                    settings.training.gate_margin, pinned_thresholds(settings), settings.training.folds,
                                    train_on_held_out,
                                    example_weights(len(corpus), labeled, settings.training.label_weight),
                                    estimate_rows=labels, validates=validates, kept_thresholds=chosen_by(current),
                                    new_seeds=current is not None and current.metadata.get("seeds_hash") != seeds)
    except TooFewExamplesError as exc:
        raise TrainingDataError(
            f"cannot train: {exc}: label items about it (`newswatch label ITEM_ID {exc.topic} yes|no`, "
            f"`newswatch labels import FILE`) or name a labeled-item file as `seeds` in [topics.{exc.topic}]"
        ) from None
    candidate.metadata["seeds_hash"] = seeds
    return candidate, held_out, train_on_held_out, evaluated_on


def seeds_hash(corpus: Sequence[LabeledItem], labeled: int) -> str:
    """What the seed examples of ``corpus`` (all but its ``labeled`` analyst labels) are: a model records it, so that a
    retrain knows an upgrade brought other seeds (a model written before it recorded one counts as trained on others)."""
    return dataset_hash(corpus[: len(corpus) - labeled])


def train(settings: Settings, store: Store, force: bool = False, dry_run: bool = False) -> TrainingReport:
    """Train a candidate on seeds + labels, judge it against the model in service, promote it if it passes.

    ``force`` promotes whatever the verdict; ``dry_run`` promotes nothing and lists the stored items
    whose tags the candidate would change.
    """
    return train_against(in_service(settings), settings, store, force, dry_run)


def train_against(current: LoadedModel | None, settings: Settings, store: Store, force: bool = False,
                  dry_run: bool = False) -> TrainingReport:
    """``train``, judging the candidate against ``current``: a caller that has just found no model to serve
    passes None rather than have the reason looked up, and logged, again."""
    corpus, labeled = training_corpus(settings, store)
    candidate, held_out, train_on_held_out, evaluated_on = candidate_for(settings, corpus, labeled, current)
    report = TrainingReport(candidate, current.version if current else None, evaluated_on, labeled, forced=force)
    if dry_run:
        report.changes = backtest(store, current, candidate, settings.training.backtest_items)
        return report
    if candidate.promote or force:
        trained_keys = [e.item.key for e, h in zip(corpus[len(corpus) - labeled:], held_out[len(corpus) - labeled:])
                        if train_on_held_out or not h]
        metadata = {**candidate.metadata, "trained_on": "seeds+labels" if labeled else "seeds", "labeled_items": labeled,
                    "label_keys": trained_keys,
                    "gate": {"evaluated_on": evaluated_on, "current_version": report.current_version,
                             "current_metrics": candidate.current_metrics, **candidate.verdict.as_json(),
                             "passed": candidate.promote, "forced": force and not candidate.promote}}
        models = registry(settings)
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
    topics = candidate.model.topics_
    return [TagChange(item, _tags(before[i], topics), _tags(after[i], topics))
            for i, item in enumerate(stored) if (before[i] != after[i]).any()]


def _tags(row: np.ndarray, topics: Sequence[str]) -> tuple[str, ...]:
    return tuple(topic for topic, tagged in zip(topics, row) if tagged)


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


# -- the review queue: what to label next ------------------------------------------------------------

@dataclass(frozen=True)
class ReviewEntry:
    """An item in the review queue with the topic it is asked about: its score is nearest that topic's threshold."""

    item: Item
    topic: str
    score: float
    threshold: float
    distance: float
    """From the threshold, as a share of the way to 0 or 1 on the score's side (``store.threshold_distance``)."""

    @property
    def uncertainty(self) -> float:
        """1 at the threshold, 0 at a score of 0 or 1."""
        return 1.0 - self.distance

    @property
    def sure(self) -> bool:
        """Whether the model is sure of the item for this topic (``SURE``)."""
        return self.distance >= SURE


def review_queue(settings: Settings, store: Store, model: LoadedModel | None, limit: int) -> list[ReviewEntry]:
    """Stored items nobody labeled yet, in the order a label teaches the model most: uncertain items
    (score near a topic's threshold) unlike one another (``diverse``); one item per story, and none too
    similar to one already listed.

    Items the model has not scored yet (the newest ``review_pool``) are scored first. Each entry names
    the topic whose threshold it sits near (a topic the item is not labeled for).
    """
    from .cycle import record_predictions  # here: the cycle's imports (feeds, mail, the store) cost start-up

    if model is None or limit <= 0:
        return []
    unscored = store.items_unscored_by(model.version, settings.training.review_pool)
    # as the cycle records them: an item's first prediction owes its immediate alerts in the same transaction
    record_predictions(store, settings, model.version, unscored, model.predict_items(unscored, explain=0), utcnow(),
                       model.thresholds)
    thresholds = {topic: model.thresholds[topic] for topic in model.topics}
    nearest = store.nearest_thresholds(model.version, thresholds, min(limit * REVIEW_SHORTLIST, MAX_SHORTLIST))
    by_id = {item.id: item for item in store.items_by_id(sorted({item_id for item_id, *_ in nearest}))}
    return diverse([ReviewEntry(by_id[item_id], topic, score, thresholds[topic], distance)
                    for item_id, topic, score, distance in nearest if item_id in by_id], model, limit)


def diverse(nearest: Sequence[ReviewEntry], model: LoadedModel, limit: int) -> list[ReviewEntry]:
    """``limit`` entries of ``nearest`` (most uncertain first): first the most uncertain, then each time,
    among the ``limit × REVIEW_CANDIDATES`` most uncertain entries still acceptable, the one with the most
    uncertainty × unlikeness: its uncertainty times one minus its highest cosine similarity to the entries
    taken (over the model's features; the more uncertain on a tie); but every ``EXPLORE_EVERY``-th, the first
    acceptable entry of the whole shortlist in an arbitrary fixed order. Never a second item of one story or a
    near-duplicate of one taken (cosine of their TF-IDF word features above ``SIMILAR``).

    Why: the items nearest a threshold may all be one kind of item, and labels on one kind teach one
    thing; uncertain items spread over what the pool holds teach the model, and the thresholds chosen
    on the labels, about more of it. Why uncertainty weighs in, not unlikeness alone: in a small or quiet
    store the window reaches items the model is sure of (a tennis final at 0.02 under a drills threshold
    of 0.25), and those are the most unlike the rest; a label on one teaches nothing. Those (``SURE``) come last
    whatever their unlikeness. Measured against random labels and other orders: bench/README.md, "Review queue vs
    random labels"."""
    items = {entry.item.id: entry.item for entry in nearest}
    if not items:
        return []
    row = {item_id: n for n, item_id in enumerate(items)}
    features = model.estimator.features([item.document for item in items.values()])
    same_words, alike = _cosines(features.words), _cosines(features.matrix)
    taken: list[ReviewEntry] = []
    in_arbitrary_order = sorted(nearest, key=_arbitrary_rank)  # once: every EXPLORE_EVERY-th pick walks it
    stories: set[int] = set()
    # each item's highest similarity to the entries taken so far, kept up to date as each is taken
    words_like_taken = np.full(len(items), -np.inf)
    like_taken = np.zeros(len(items))

    def acceptable(entry: ReviewEntry) -> bool:
        return (entry.item.story_id or entry.item.id) not in stories and words_like_taken[row[entry.item.id]] <= SIMILAR

    while len(taken) < limit:
        candidates: dict[int, ReviewEntry] = {}  # by item: an item's most uncertain topic
        for entry in nearest:
            if len(candidates) == limit * REVIEW_CANDIDATES:
                break
            if entry.item.id not in candidates and acceptable(entry):
                candidates[entry.item.id] = entry
        if not candidates:
            break
        if len(taken) % EXPLORE_EVERY == EXPLORE_EVERY - 1:
            chosen = next(entry for entry in in_arbitrary_order if acceptable(entry))
        else:  # of equals, the first: the most uncertain
            chosen = max(candidates.values(), key=lambda e: e.uncertainty * (1.0 - like_taken[row[e.item.id]]))
        taken.append(chosen)
        np.maximum(words_like_taken, same_words[row[chosen.item.id]], out=words_like_taken)
        np.maximum(like_taken, alike[row[chosen.item.id]], out=like_taken)
        stories.add(chosen.item.story_id or chosen.item.id)  # type: ignore[arg-type]
    # an item the model is sure of, taken for being unlike the rest, never comes before one it is unsure of
    return [entry for entry in taken if not entry.sure] + [entry for entry in taken if entry.sure]


def _arbitrary_rank(entry: ReviewEntry) -> str:
    """A fixed order unrelated to scores or text (the same queue each time it is asked for)."""
    return hashlib.sha256(entry.item.key.encode()).hexdigest()


def _cosines(rows) -> np.ndarray:
    """Cosine similarity of every pair of a sparse matrix's rows (an empty row is like nothing)."""
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    unit = rows.multiply(1 / norms[:, None]).tocsr()
    return (unit @ unit.T).toarray()


# -- what the model page shows ------------------------------------------------------------------------

def model_versions(settings: Settings) -> list[dict[str, Any]]:
    """Metadata of every stored model version, oldest first, each with "estimate" (its held-out figure)
    and "cross_validation" in words."""
    return [{**meta, "estimate": describe_estimate(meta.get("metrics", {}).get("held_out")),
             "cross_validation": cross_validation_in_words(meta)} for meta in registry(settings).versions()]


def cross_validation_in_words(metadata: dict[str, Any]) -> str:
    """The training-time cross-validation, said for what it is: a figure on the data the model learned from."""
    value = metadata.get("metrics", {}).get("cross_validation", {}).get("macro_f1")
    data = "the seeds" if not metadata.get("labeled_items") else "the seeds and the labels it trained on"
    return f"macro-F1 {value:.2f} cross-validated on {data} (not an estimate on your news)" if value is not None else "-"


def current_version(settings: Settings) -> str | None:
    return registry(settings).current_version()


def thresholds(settings: Settings) -> dict[str, float]:
    """The tagging threshold per topic: pinned in the config, else the current model's, else 0.5."""
    version = current_version(settings)
    chosen = next((v.get("thresholds", {}) for v in registry(settings).versions() if v["version"] == version), {})
    pinned = {name: topic.threshold for name, topic in settings.topics.items() if topic.threshold is not None}
    return {topic: float(pinned.get(topic, chosen.get(topic, 0.5))) for topic in settings.topic_names}
