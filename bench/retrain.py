"""The analyst's loop, measured on ../shared/eval/dev.jsonl (these benchmarks train on dev labels and say so):

    python bench/retrain.py estimate   # the estimate the model page shows vs the score on the rest of dev
    python bench/retrain.py active [--halvings 3] [--random-runs 10]   # review-queue labels vs random ones

Both train exactly as `newswatch train` does (``newswatch.retrain.candidate_for`` / ``retrain.train``,
default config: 5 folds, labels weighted 10, thresholds from out-of-fold scores).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from classifiers.evaluate import describe_estimate, evaluate_model
from newswatch import retrain
from newswatch.analyst_labels import label_stored_item
from newswatch.config import DEFAULT_TOPICS, load_settings
from newswatch.labeled_items import read_labeled_file, seed_corpus
from newswatch.models import Feed
from newswatch.store import Store
from newswatch.stories import assign_stories

DEV = Path(os.environ.get("NEWSWATCH_DEV_SET", Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"))
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
CHECKPOINTS = (10, 25, 50)


TOPICS = tuple(topic.name for topic in DEFAULT_TOPICS)
"""The dev set's topics: the two a default config has."""


def dev():
    if not DEV.exists():
        sys.exit(f"skipped: no dev set at {DEV} (set NEWSWATCH_DEV_SET)")
    with DEV.open(encoding="utf-8") as stream:
        return read_labeled_file(stream, str(DEV), TOPICS)


def settings_in(home: str):
    return load_settings(env={"NEWSWATCH_HOME": home})


def candidate(settings, labels):
    """A candidate trained as `newswatch train` would after importing ``labels`` (no model in service)."""
    corpus = seed_corpus(TOPICS) + list(labels)
    started = time.perf_counter()
    trained, *_ = retrain.candidate_for(settings, corpus, len(labels), None)
    return trained, time.perf_counter() - started


def macro(model, examples) -> float:
    return evaluate_model(model, examples, TOPICS)["macro_f1"]


def estimate(splits: int = 10):
    """Import a share of dev as labels, train, and set what the model page would show against the truth:
    the macro-F1 on the rest of dev, which no part of training saw. Also the figure the page showed
    before, the cross-validation on the training data (seeds + labels).

    The truth is itself measured on a sample (43 items at 80 %), so a sound 90 % interval holds it less
    often than 9 times in 10; the check that allows for that compares the error with both figures'
    noise: |shown - truth| within 1.645 times the root of the sum of their bootstrap variances."""
    examples = dev()
    with tempfile.TemporaryDirectory() as home:
        settings = settings_in(home)
        for share in (0.5, 0.8):
            rows = []
            for split in range(splits):
                order = np.random.default_rng(split).permutation(len(examples))
                cut = int(round(share * len(examples)))
                labels, rest = [examples[i] for i in order[:cut]], [examples[i] for i in order[cut:]]
                trained, seconds = candidate(settings, labels)
                shown = trained.metadata["metrics"]["held_out"]
                truth = evaluate_model(trained.model, rest, TOPICS)
                cv = trained.metadata["metrics"]["cross_validation"]["macro_f1"]
                rows.append((shown["macro_f1"], *shown["macro_f1_interval"], truth["macro_f1"],
                             _spread(truth["macro_f1_interval"]), cv, shown["enough"]))
                print(f"{share:.0%} of dev as labels, split {split}: shown {describe_estimate(shown)}; "
                      f"truth on the other {len(rest)} items {truth['macro_f1']:.3f} "
                      f"({truth['macro_f1_interval'][0]:.2f}–{truth['macro_f1_interval'][1]:.2f}); "
                      f"cross-validation {cv:.3f} ({seconds:.0f} s)", flush=True)
            shown, low, high, truth, truth_spread, cv, enough = map(np.array, zip(*rows))
            inside = (low <= truth) & (truth <= high)
            within_noise = np.abs(shown - truth) <= 1.645 * np.hypot(_spread([low, high]), truth_spread)
            print(f"== {share:.0%}: shown estimate {shown.mean():.3f} vs truth {truth.mean():.3f} (mean error "
                  f"{(shown - truth).mean():+.3f}, mean |error| {np.abs(shown - truth).mean():.3f}; truth inside the "
                  f"90 % interval in {int(inside.sum())}/{splits}, within both figures' noise in "
                  f"{int(within_noise.sum())}/{splits}; 'enough' in {int(enough.sum())}/{splits}); cross-validation "
                  f"{cv.mean():.3f} (mean |error| {np.abs(cv - truth).mean():.3f})", flush=True)


def _spread(interval) -> np.ndarray:
    """The standard deviation a 90 % interval implies (its width over 2 × 1.645)."""
    low, high = np.asarray(interval[0]), np.asarray(interval[1])
    return (high - low) / 3.29


def _half(example, halving: int = 0) -> int:
    """Which half of dev an item falls in; halving 0 is the halves whose errors may be read (half A = 0)."""
    key = example.item.key if halving == 0 else f"{halving}:{example.item.key}"
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2


def active(random_seeds: int = 10, halvings: int = 1):
    """Pool = one half of dev (by a hash of the id), test = the other half, then swapped. From the seed
    model, an analyst labels the next items (every topic, from the dev truth) and runs `newswatch train
    --force`, until 10, 25 and 50 items are labeled. The items are the review queue's (``retrain.review_queue``
    of the model in service), or drawn at random from the pool: the only difference between the runs.

    The queue is one run per split; random labels are ``random_seeds`` runs per split, so the summary sets
    the queue against the spread of random runs on the same split, not only against their mean. With
    ``halvings`` > 1, dev is also halved by other hashes of the id (two splits each): one halving's test half
    holds about 13 drill reports, so one item moves a split's figure by 0.02-0.03, and more splits average that out."""
    examples = dev()
    queue: list[list[float]] = []
    random: list[np.ndarray] = []
    for halving, split in [(h, s) for h in range(halvings) for s in (0, 1)]:
        pool = [e for e in examples if _half(e, halving) == split]
        test = [e for e in examples if _half(e, halving) != split]
        split = f"{halving}.{split}" if halvings > 1 else split
        with tempfile.TemporaryDirectory() as base:
            seeded = settings_in(base)
            with Store.open(seeded.database_url) as store:
                retrain.train(seeded, store, force=True)  # the seed model, as on first use
            seed_f1 = macro(retrain.in_service(seeded).estimator, test)  # type: ignore[union-attr]
            print(f"split {split}: pool {len(pool)}, test {len(test)}; seeds only: macro-F1 {seed_f1:.3f}", flush=True)
            curves = []
            for seed in [None, *range(random_seeds)]:
                with tempfile.TemporaryDirectory() as home:
                    shutil.copytree(seeded.models_dir, Path(home) / "models")
                    started = time.perf_counter()
                    curve = _curve(settings_in(home), pool, test, seed)
                curves.append(curve)
                name = "review queue" if seed is None else f"random (seed {seed})"
                print(f"  {name:<16} " + "  ".join(f"{n}: {f:.3f}" for n, f in zip(CHECKPOINTS, curve))
                      + f"   ({time.perf_counter() - started:.0f} s)", flush=True)
        queue.append(curves[0])
        random.append(np.array(curves[1:]))
        beaten = (np.array(curves[0]) > random[-1]).sum(axis=0)
        print(f"  split {split}: the queue above " + ", ".join(f"{b}/{random_seeds} random runs at {n}"
                                                              for n, b in zip(CHECKPOINTS, beaten)), flush=True)
    every_random = np.vstack(random)
    print(f"review queue  mean of {len(queue)} splits: "
          + "  ".join(f"{n}: {f:.3f}" for n, f in zip(CHECKPOINTS, np.mean(queue, axis=0))))
    print(f"random        mean of {len(every_random)} runs (± standard deviation): "
          + "  ".join(f"{n}: {m:.3f} ± {d:.3f}" for n, m, d in zip(CHECKPOINTS, every_random.mean(axis=0),
                                                               every_random.std(axis=0, ddof=1))))


def _curve(settings, pool, test, seed: int | None) -> list[float]:
    """Label up to each checkpoint (the queue's picks, or with ``seed`` random ones), retrain, score on test."""
    truth = {e.item.key: e for e in pool}
    with Store.open(settings.database_url) as store:
        feed_id = store.sync_feeds([Feed("https://dev.example/rss", "dev")])["https://dev.example/rss"]
        stored = store.insert_new(feed_id, [e.item for e in pool], NOW)
        assign_stories(store, stored, NOW)
        order = None if seed is None else np.random.default_rng(seed).permutation(len(stored))
        curve, labeled = [], 0
        for n in CHECKPOINTS:
            if order is None:
                chosen = [e.item for e in retrain.review_queue(settings, store, retrain.in_service(settings), n - labeled)]
            else:
                chosen = [stored[i] for i in order[labeled:n]]
            for item in chosen:
                for topic in TOPICS:
                    label_stored_item(store, item.id, topic, topic in truth[item.key].topics, "bench", NOW,  # type: ignore[arg-type]
                                      TOPICS, source="bench")
            labeled += len(chosen)
            retrain.train(settings, store, force=True)
            curve.append(macro(retrain.in_service(settings).estimator, test))  # type: ignore[union-attr]
    return curve


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=("estimate", "active"))
    parser.add_argument("--halvings", type=int, default=1, help="active: halve dev this many ways (2 splits each)")
    parser.add_argument("--random-runs", type=int, default=10, help="active: random-label runs per split")
    arguments = parser.parse_args()
    if arguments.benchmark == "estimate":
        estimate()
    else:
        active(arguments.random_runs, arguments.halvings)
