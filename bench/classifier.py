"""Classifier figures (issues 3, 11, 16). One command per figure:

    python bench/classifier.py quality      # seed model vs keyword baseline on ../shared/eval/dev.jsonl (English)
    python bench/classifier.py languages    # seed model, russia_dprk on the Korean and Russian items of dev-ml.jsonl
    python bench/classifier.py seedcv       # nested seed cross-validation: thresholds chosen on the other folds
    python bench/classifier.py curve        # learning curve: seeds + 10/25/50/100 % of dev labels, 5-fold
    python bench/classifier.py throughput   # `newswatch classify` on 50,000 synthesized items; model load; peak RSS
    python bench/classifier.py training     # training time: the seeds + 1,000 labels synthesized from the seeds
    python bench/classifier.py footprint    # what the classifier's own dependencies add to an install
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold

from classifiers.baseline import keyword_predict
from classifiers.evaluate import metrics
from classifiers.registry import Registry
from classifiers.text import language
from classifiers.train import (_tags_without_choosing_on_them, choose_thresholds, documents, indicator,
                               out_of_fold_scores)
from newswatch.config import DEFAULT_TOPICS, load_settings
from newswatch.labeled_items import read_labeled_file, seed_corpus, training_only_keys
from newswatch.models import Item, LabeledItem
from newswatch.retrain import candidate_for

# ../shared next to the repository; $NEWSWATCH_DEV_SET names it elsewhere (from a git worktree)
DEV = Path(os.environ.get("NEWSWATCH_DEV_SET", Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"))


DEV_ML = DEV.with_name("dev-ml.jsonl")
TOPICS = tuple(topic.name for topic in DEFAULT_TOPICS)
"""The dev sets' topics: the two a default config has."""


def dev(path=DEV):
    with path.open(encoding="utf-8") as stream:
        return read_labeled_file(stream, str(path), TOPICS)


def half_a(key):
    """The half of a dev set whose errors may be read (the other half is only ever scored)."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0


def show(name, result):
    cells = "  ".join(f"{t}: P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f}" for t, m in result["topics"].items())
    print(f"{name:<10} macro-F1 {result['macro_f1']:.3f}  {cells}", flush=True)


def production_model(labels):
    """The model `newswatch train` makes after importing ``labels`` (default config, no model in service)."""
    with tempfile.TemporaryDirectory() as home:
        candidate, *_ = candidate_for(load_settings(env={"NEWSWATCH_HOME": home}), seed_corpus(TOPICS) + list(labels),
                                      len(labels), None)
    return candidate.model


def quality():
    """Seed model and keyword baseline on dev: all of it, and each half (errors were read on half A
    only, so half B is the figure nothing here was shaped on)."""
    examples = dev()
    predicted = {"seed": production_model([]).predict(documents(examples)),
                 "keywords": keyword_predict(documents(examples), TOPICS)}
    truth = indicator(examples, TOPICS)
    for half, keep in (("", lambda e: True), (" A", lambda e: half_a(e.item.key)),
                       (" B", lambda e: not half_a(e.item.key))):
        rows = [i for i, e in enumerate(examples) if keep(e)]
        for name, tags in predicted.items():
            show(name + half, metrics(truth[rows], tags[rows], TOPICS))


def languages():
    """Seed-only: russia_dprk on the Korean and on the Russian items of dev-ml (judge drills on the
    English sets: dev-ml has three drill items)."""
    examples = dev(DEV_ML)
    with DEV_ML.open(encoding="utf-8") as stream:
        langs = [json.loads(line)["lang"] for line in stream if line.strip()]
    model = production_model([])
    predicted, truth = model.predict(documents(examples)), indicator(examples, TOPICS)
    for lang in ("ko", "ru"):
        for half, keep in (("all", lambda e: True), ("half A", lambda e: half_a(e.item.key)),
                           ("half B", lambda e: not half_a(e.item.key))):
            rows = [i for i, (e, l) in enumerate(zip(examples, langs)) if l == lang and keep(e)]
            m = metrics(truth[rows], predicted[rows], TOPICS)["topics"]["russia_dprk"]
            print(f"{lang} {half:<6} ({len(rows):>2} items, {m['support']:>2} russia_dprk): P {m['precision']:.3f} "
                  f"R {m['recall']:.3f} F1 {m['f1']:.3f}", flush=True)


def seedcv(folds=5):
    """Seeds only, no dev item: each seed scored by a model that did not train on it (5-fold), tagged at
    thresholds chosen, by the production rule, on the other folds' scores ("nested"; the training-only
    seeds choose none); macro-F1 over all seeds and the English ones, russia_dprk F1 on the Korean and
    the Russian seeds, and the thresholds the same rows choose over all folds."""
    corpus = seed_corpus(TOPICS)
    truth = indicator(corpus, TOPICS)
    scores = out_of_fold_scores(corpus, TOPICS, folds)
    every = np.ones(len(corpus), dtype=bool)
    chose = np.array([e.item.key not in training_only_keys() for e in corpus])
    tags = _tags_without_choosing_on_them(truth, scores, TOPICS, every, chose, None, None, folds)
    langs = np.array([language(text) for text in documents(corpus)])
    english = langs == "en"
    per_language = "  ".join(
        f"{lang} russia_dprk F1 {metrics(truth[langs == lang], tags[langs == lang], TOPICS)['topics']['russia_dprk']['f1']:.3f}"
        for lang in ("ko", "ru"))
    print(f"{len(corpus)} seeds: nested macro-F1 {metrics(truth, tags, TOPICS)['macro_f1']:.4f}; English "
          f"{metrics(truth[english], tags[english], TOPICS)['macro_f1']:.4f}; {per_language}; thresholds "
          f"{choose_thresholds(truth[chose], scores[chose], TOPICS)}", flush=True)


def curve():
    """As `newswatch train` does after importing that share of the dev labels (``production_model``)."""
    examples = dev()
    for fraction in (0.0, 0.1, 0.25, 0.5, 1.0):
        scores = []
        for train_rows, test_rows in KFold(5, shuffle=True, random_state=0).split(examples):
            rng = np.random.default_rng(0)
            taken = rng.permutation(train_rows)[: int(round(fraction * len(train_rows)))]
            model = production_model([examples[i] for i in taken])
            test = [examples[i] for i in test_rows]
            scores.append(metrics(indicator(test, TOPICS), model.predict(documents(test)), TOPICS)["macro_f1"])
        print(f"{int(fraction * 100):>3} % of training folds' dev labels: macro-F1 {np.mean(scores):.3f} "
              f"(folds {', '.join(f'{s:.3f}' for s in scores)})", flush=True)


def throughput(n=50_000):
    rng = random.Random(0)
    texts = [(e.item.title, e.item.summary or e.item.text[:600]) for e in dev() + seed_corpus(TOPICS) if e.item.title.strip()]
    with tempfile.TemporaryDirectory() as home:
        items = Path(home) / "items.jsonl"
        with items.open("w", encoding="utf-8") as out:
            for i in range(n):
                title, summary = rng.choice(texts)
                words = summary.split()
                tail = words[len(words) // 2:]
                rng.shuffle(tail)
                words[len(words) // 2:] = tail
                out.write(json.dumps({"id": f"b{i}", "title": title, "summary": " ".join(words)}) + "\n")
        env = {"NEWSWATCH_HOME": home, "PATH": "/usr/bin:/bin"}
        newswatch = str(Path(sys.executable).with_name("newswatch"))
        subprocess.run([newswatch, "evaluate", str(DEV)], env=env, check=True, capture_output=True)  # trains on first use
        registry = Registry(Path(home) / "models", TOPICS)
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            registry.load(registry.current_version())
            loads.append(time.perf_counter() - started)
        size = sum(p.stat().st_size for p in (Path(home) / "models").glob("*.skops")) / 1e6
        print(f"model load median {np.median(loads):.2f}s; model file {size:.1f} MB")
        for jobs in (1, 2):
            runs, peaks = [], []
            for _ in range(3):
                started = time.perf_counter()
                child = subprocess.Popen([newswatch, "classify", "--jobs", str(jobs), str(items)], env=env,
                                         stdout=subprocess.DEVNULL)
                _, status, usage = os.wait4(child.pid, 0)
                child.returncode = os.waitstatus_to_exitcode(status)
                runs.append(time.perf_counter() - started)
                peaks.append(usage.ru_maxrss / 1024)  # the largest of the process and its workers
                assert child.returncode == 0
            print(f"classify {n} items, --jobs {jobs}: median {np.median(runs):.1f}s = {n / np.median(runs):.0f} "
                  f"items/s (runs {', '.join(f'{r:.1f}' for r in runs)}); peak RSS of one process {max(peaks):.0f} MB",
                  flush=True)


def training(labels=1_000):
    """`newswatch train`'s work on the seeds + ``labels`` analyst labels (out-of-fold thresholds, then
    the model), the labels synthesized from seed examples (second halves shuffled) so no dev item trains."""
    rng = random.Random(0)
    seeds = seed_corpus(TOPICS)
    synthesized = []
    for i in range(labels):
        example = rng.choice(seeds)
        words = (example.item.summary or example.item.text[:600]).split()
        tail = words[len(words) // 2:]
        rng.shuffle(tail)
        synthesized.append(LabeledItem(Item(key=f"label-{i}", title=example.item.title,
                                            summary=" ".join(words[: len(words) // 2] + tail)), example.topics))
    started = time.perf_counter()
    production_model(synthesized)
    print(f"train on {len(seeds)} seeds + {labels} labels (5 validation folds + the model): "
          f"{time.perf_counter() - started:.1f}s", flush=True)


def footprint():
    """Installed size of the dependencies the classifier added for Korean and Russian."""
    for name in ("PyStemmer",):
        distribution = importlib.metadata.distribution(name)
        size = sum(Path(distribution.locate_file(f)).stat().st_size for f in distribution.files or ())
        print(f"{name} {distribution.version}: {size / 1e6:.1f} MB installed")


if __name__ == "__main__":
    {"quality": quality, "languages": languages, "seedcv": seedcv, "curve": curve, "throughput": throughput, "training": training,
     "footprint": footprint}[sys.argv[1]]()
