"""Encoder features for the topic classifier, tried (issue 11): multilingual USE vectors beside or after
the word model, scored by nested seed cross-validation, the learning curve and dev once.

    python bench/encoder_features.py embed      # USE vectors of seeds, dev, dev-ml -> $ENCODER_CACHE/use.npz
    python bench/encoder_features.py seedcv     # nested seed CV of every variant (thresholds chosen on other folds)
    python bench/encoder_features.py dev VARIANT    # English dev (halves) + ko/ru russia_dprk, seeds only
    python bench/encoder_features.py curve VARIANT  # learning curve as bench/classifier.py curve, + the variant
    python bench/encoder_features.py band VARIANT   # cost: share of items the word model is unsure about

Variants: "words" (the model), "block:W" (USE's 512 columns weighted W beside words and concepts),
"stack:A" (second-stage regression on the word model's out-of-fold logits and USE * A), "knn:K" (second
stage on the logits and, per topic, the mean cosine of the K nearest training positives and negatives),
"uselr" (second stage on the logits and a USE-only regression's out-of-fold score).
Word-model scores are cached in $ENCODER_CACHE (default /tmp/encoder_cache): delete it after a model change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classifier import DEV_ML, TOPICS, dev, half_a  # noqa: E402

from classifiers.evaluate import metrics  # noqa: E402
from classifiers.pipeline import TopicClassifier  # noqa: E402
from classifiers.train import (_tags_without_choosing_on_them, apply_thresholds, choose_thresholds,  # noqa: E402
                               documents, example_weights, indicator)
from newswatch.labeled_items import seed_corpus  # noqa: E402
from newswatch.retrain import held_out_rows  # noqa: E402

CACHE = Path(os.environ.get("ENCODER_CACHE", "/tmp/encoder_cache"))
_vectors: dict[str, np.ndarray] = {}


def doc_key(doc: str) -> str:
    return hashlib.sha1(doc.encode()).hexdigest()


def encoder_text(doc: str) -> str:
    title, _, body = doc.partition("\n")
    return f"{title}. {body[:700]}"


def vectors(docs: list[str]) -> np.ndarray:
    if not _vectors:
        _vectors.update(np.load(CACHE / "use.npz"))
    return np.stack([_vectors[doc_key(d)] for d in docs]).astype(np.float64)


def embed() -> None:
    from newswatch.stories import encode
    docs = documents(seed_corpus(TOPICS)) + documents(dev()) + documents(dev(DEV_ML))
    out = CACHE / "use.npz"
    cache = dict(np.load(out)) if out.exists() else {}
    todo = list({doc_key(d): d for d in docs if doc_key(d) not in cache}.items())
    started = time.perf_counter()
    for i in range(0, len(todo), 64):
        chunk = todo[i:i + 64]
        cache.update(zip([k for k, _ in chunk], encode([encoder_text(d) for _, d in chunk])))
    print(f"{len(todo)} encoded, {len(todo) / max(time.perf_counter() - started, 1e-9):.0f} items/s")
    CACHE.mkdir(exist_ok=True)
    np.savez(out, **cache)


class WithVectors(TopicClassifier):
    """The model with USE's 512 columns, times ``vector_weight``, beside words and concepts."""

    vector_weight = 0.5

    def fit(self, texts, Y, sample_weight=None):
        self._pending = vectors(list(texts))
        return super().fit(texts, Y, sample_weight)

    def features(self, texts):
        self._pending = vectors(list(texts))
        return super().features(texts)

    def _features(self, hashed, named, whose, headline, languages, heads):
        f = super()._features(hashed, named, whose, headline, languages, heads)
        matrix = sp.hstack([f.matrix, sp.csr_matrix(self.vector_weight * self._pending)], format="csr")
        return dataclasses.replace(f, matrix=matrix)


def _model(block: float | None) -> TopicClassifier:
    if block is None:
        return TopicClassifier(topics=TOPICS)
    model = WithVectors(topics=TOPICS)
    model.vector_weight = block
    return model


def _fit_score(block, texts, Y, weights, held_out):
    return _model(block).fit(texts, Y, sample_weight=weights).predict_proba(held_out)


def _splits(Y: np.ndarray, folds: int = 5):
    stratify = Y @ (1 << np.arange(Y.shape[1]))  # as classifiers.train.out_of_fold_scores splits
    counts = np.bincount(stratify)
    n = max(2, min(folds, int(counts[counts > 0].min())))
    return list(StratifiedKFold(n_splits=n, shuffle=True, random_state=0).split(np.zeros(len(Y)), stratify))


def word_scores(texts, Y, weights, jobs, block=None):
    """[(out-of-fold scores of the rows, scores of each jobs' test texts)]: one parallel batch of fits.
    ``jobs``: list of (train rows, test texts); a train-rows None means "out-of-fold over texts"."""
    tasks, where = [], []
    for j, (rows, test) in enumerate(jobs):
        rows = np.arange(len(texts)) if rows is None else rows
        for inner_train, inner_test in _splits(Y[rows]):
            tr, te = rows[inner_train], rows[inner_test]
            tasks.append((block, [texts[i] for i in tr], Y[tr], None if weights is None else weights[tr],
                          [texts[i] for i in te]))
            where.append((j, "oof", inner_test))
        if test is not None:
            tasks.append((block, [texts[i] for i in rows], Y[rows], None if weights is None else weights[rows], test))
            where.append((j, "test", None))
    done = Parallel(n_jobs=2)(delayed(_fit_score)(*t) for t in tasks)
    out = [[np.zeros((len(np.arange(len(texts)) if rows is None else rows), Y.shape[1])), None] for rows, _ in jobs]
    for (j, kind, idx), s in zip(where, done):
        if kind == "oof":
            out[j][0][idx] = s
        else:
            out[j][1] = s
    return out


def cached(name, compute):
    path = CACHE / f"{name}.npz"
    if path.exists():
        return dict(np.load(path, allow_pickle=True))
    started = time.perf_counter()
    result = compute()
    np.savez(path, **result)
    print(f"  [{name}: {time.perf_counter() - started:.0f}s]", flush=True)
    return result


def logit(p):
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


# -- second stage -----------------------------------------------------------------------------------

def knn_columns(V, ref_V, ref_Y, k, self_index=None):
    """Per topic: mean cosine of the k nearest reference positives, of the k nearest negatives."""
    S = V @ ref_V.T
    if self_index is not None:
        S[np.arange(len(V)), self_index] = -np.inf  # leave the row itself out
    cols = []
    for t in range(ref_Y.shape[1]):
        for mask in (ref_Y[:, t] == 1, ref_Y[:, t] == 0):
            part = np.sort(S[:, mask], axis=1)[:, ::-1][:, :k]
            cols.append(np.where(np.isfinite(part), part, 0).mean(axis=1))
    return np.column_stack(cols)


def _lr(C=1.0):
    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000)


def use_lr_oof(V, Y, w, rows_train, V_test):
    """A USE-only regression per topic: out-of-fold scores of the training rows and scores of V_test."""
    oof = np.zeros((len(rows_train), Y.shape[1]))
    test = np.zeros((len(V_test), Y.shape[1]))
    Yr, Vr, wr = Y[rows_train], V[rows_train], w[rows_train]
    for a, b in _splits(Yr):
        for t in range(Y.shape[1]):
            oof[b, t] = _lr(10).fit(Vr[a], Yr[a, t], sample_weight=wr[a]).decision_function(Vr[b])
    for t in range(Y.shape[1]):
        test[:, t] = _lr(10).fit(Vr, Yr[:, t], sample_weight=wr).decision_function(V_test)
    return oof, test


def stage2_inputs(variant, s1_train, s1_test, V_train, Y_train, w_train, V_test):
    kind, _, arg = variant.partition(":")
    a, b = [logit(s1_train)], [logit(s1_test)]
    if kind == "stack":
        a.append(float(arg) * V_train)
        b.append(float(arg) * V_test)
    elif kind == "knn":
        k = int(arg)
        a.append(knn_columns(V_train, V_train, Y_train, k, self_index=np.arange(len(V_train))))
        b.append(knn_columns(V_test, V_train, Y_train, k))
    elif kind == "uselr":
        oof, test = use_lr_oof(V_train, Y_train, w_train, np.arange(len(V_train)), V_test)
        a.append(oof)
        b.append(test)
    else:
        raise ValueError(variant)
    return np.hstack(a), np.hstack(b)


def stage2(variant, s1_train, s1_test, V_train, Y_train, w_train, V_test):
    """Second-stage scores of the test rows, and out-of-fold second-stage scores of the training rows
    (for thresholds)."""
    Xa, Xb = stage2_inputs(variant, s1_train, s1_test, V_train, Y_train, w_train, V_test)
    test = np.column_stack([_lr().fit(Xa, Y_train[:, t], sample_weight=w_train).predict_proba(Xb)[:, 1]
                            for t in range(Y_train.shape[1])])
    oof = np.zeros(s1_train.shape)
    for tr, te in _splits(Y_train):
        Xa2, Xb2 = stage2_inputs(variant, s1_train[tr], s1_train[te], V_train[tr], Y_train[tr], w_train[tr], V_train[te])
        oof[te] = np.column_stack([_lr().fit(Xa2, Y_train[tr, t], sample_weight=w_train[tr]).predict_proba(Xb2)[:, 1]
                                   for t in range(Y_train.shape[1])])
    return test, oof


# -- seed cross-validation ---------------------------------------------------------------------------

def seeds():
    corpus = seed_corpus(TOPICS)
    texts = documents(corpus)
    return corpus, texts, indicator(corpus, TOPICS), vectors(texts)


def nested_seed_cv(variant):
    """Every seed's final score from models that did not see it; then macro-F1 with each fifth's
    thresholds chosen on the other rows' scores (as the README's "nested seed CV")."""
    corpus, texts, Y, V = seeds()
    w = np.ones(len(Y))
    outer = _splits(Y)
    if variant.startswith("block"):
        W = float(variant.partition(":")[2])
        r = cached(f"seed_block{W}", lambda: {"oof": word_scores(texts, Y, None, [(None, None)], W)[0][0]})
        final = r["oof"]
    else:
        def inner():
            jobs = [(tr, None) for tr, _ in outer]
            res = word_scores(texts, Y, None, jobs)
            return {f"inner{k}": r[0] for k, r in enumerate(res)}
        base = cached("seed_words", lambda: {"oof": word_scores(texts, Y, None, [(None, None)])[0][0]})
        final = base["oof"]
        if variant != "words":
            ins = cached("seed_words_inner", inner)
            final = np.zeros(Y.shape)
            for k, (tr, te) in enumerate(outer):
                final[te], _ = stage2(variant, ins[f"inner{k}"], base["oof"][te], V[tr], Y[tr], w[tr], V[te])
    tags = _tags_without_choosing_on_them(Y, final, TOPICS, np.ones(len(Y), bool), np.ones(len(Y), bool),
                                          None, None, 5)
    m = metrics(Y, tags, TOPICS)
    return m, final


def seedcv(variants):
    for v in variants:
        m, _ = nested_seed_cv(v)
        print(f"{v:<12} nested seed CV macro-F1 {m['macro_f1']:.4f}  " +
              "  ".join(f"{t} {x['f1']:.3f}" for t, x in m["topics"].items()), flush=True)


# -- dev, once ---------------------------------------------------------------------------------------

def seed_model_scores(variant, test_docs):
    """Scores of test_docs by the seed-trained model (+ second stage), and thresholds chosen as training does."""
    corpus, texts, Y, V = seeds()
    block = float(variant.partition(":")[2]) if variant.startswith("block") else None
    tag = f"block{block}" if block is not None else "words"
    r = word_scores(texts, Y, None, [(None, test_docs)], block)[0]
    s1_oof, s1_test = r
    if variant == "words" or block is not None:
        return s1_test, choose_thresholds(Y, s1_oof, TOPICS)
    test, oof = stage2(variant, s1_oof, s1_test, V, Y, np.ones(len(Y)), vectors(test_docs))
    return test, choose_thresholds(Y, oof, TOPICS)


def dev_once(variant):
    english, ml = dev(), dev(DEV_ML)
    with DEV_ML.open(encoding="utf-8") as stream:
        langs = [json.loads(line)["lang"] for line in stream if line.strip()]
    docs = documents(english) + documents(ml)
    scores, thresholds = seed_model_scores(variant, docs)
    np.save(CACHE / f"devscores_{variant.replace(':', '_')}.npy", scores)
    tags = apply_thresholds(scores, thresholds, TOPICS)
    print(f"{variant}: thresholds {thresholds}")
    Ye, te = indicator(english, TOPICS), tags[:len(english)]
    for half, keep in (("all", lambda e: True), ("A", lambda e: half_a(e.item.key)), ("B", lambda e: not half_a(e.item.key))):
        rows = [i for i, e in enumerate(english) if keep(e)]
        m = metrics(Ye[rows], te[rows], TOPICS)
        print(f"  English {half:<3} macro-F1 {m['macro_f1']:.3f}  " +
              "  ".join(f"{t} P {x['precision']:.3f} R {x['recall']:.3f} F1 {x['f1']:.3f}" for t, x in m["topics"].items()))
    Ym, tm = indicator(ml, TOPICS), tags[len(english):]
    for lang in ("ko", "ru"):
        rows = [i for i, l in enumerate(langs) if l == lang]
        x = metrics(Ym[rows], tm[rows], TOPICS)["topics"]["russia_dprk"]
        print(f"  {lang} russia_dprk P {x['precision']:.3f} R {x['recall']:.3f} F1 {x['f1']:.3f}")


# -- learning curve ----------------------------------------------------------------------------------

def curve(variant):
    """bench/classifier.py curve's folds and label shares, production's training path (held-out fifth
    once there are 20, thresholds on the validation rows) replayed with the word scores kept, so the
    second stage trains on the same rows with the word model's out-of-fold scores."""
    examples = dev()
    seed = seed_corpus(TOPICS)
    block = float(variant.partition(":")[2]) if variant.startswith("block") else None
    for fraction in (0.0, 0.1, 0.25, 0.5, 1.0):
        base, var = [], []
        for f, (train_rows, test_rows) in enumerate(KFold(5, shuffle=True, random_state=0).split(examples)):
            rng = np.random.default_rng(0)
            taken = rng.permutation(train_rows)[: int(round(fraction * len(train_rows)))]
            labels = [examples[i] for i in taken]
            corpus = seed + labels
            held_out, train_on_held_out, _ = held_out_rows(corpus, len(labels), 20, set())
            rows = np.arange(len(corpus)) if train_on_held_out else np.flatnonzero(~held_out)
            weights = example_weights(len(corpus), len(labels), 10.0)
            Y = indicator(corpus, TOPICS)
            texts = documents(corpus)
            validation = ~held_out[rows] if (~held_out[rows]).any() else np.ones(len(rows), bool)
            test = [examples[i] for i in test_rows]
            Yt = indicator(test, TOPICS)
            name = f"curve_{'words' if block is None else f'block{block}'}_{fraction}_{f}"
            r = cached(name, lambda: dict(zip(("oof", "test"), word_scores(
                [texts[i] for i in rows], Y[rows], weights[rows], [(None, documents(test))], block)[0])))
            s1_oof, s1_test = r["oof"], r["test"]
            th = choose_thresholds(Y[rows][validation], s1_oof[validation], TOPICS, None, weights[rows][validation])
            base.append(metrics(Yt, apply_thresholds(s1_test, th, TOPICS), TOPICS)["macro_f1"])
            if block is None and variant != "words":
                V = vectors([texts[i] for i in rows])
                s2_test, s2_oof = stage2(variant, s1_oof, s1_test, V, Y[rows], weights[rows], vectors(documents(test)))
                th2 = choose_thresholds(Y[rows][validation], s2_oof[validation], TOPICS, None, weights[rows][validation])
                var.append(metrics(Yt, apply_thresholds(s2_test, th2, TOPICS), TOPICS)["macro_f1"])
        line = f"{int(fraction * 100):>3} %: {'words' if block is None else variant} {np.mean(base):.3f} (folds {', '.join(f'{s:.3f}' for s in base)})"
        if var:
            line += f"; {variant} {np.mean(var):.3f} (folds {', '.join(f'{s:.3f}' for s in var)})"
        print(line, flush=True)


# -- cost: encode only the items the word model is unsure about ------------------------------------

def stream_texts(n=2000):
    """bench/ingest.py's synthetic cycle items (title + description), as the cycle classifies them."""
    from ingest import feed_xml
    import feedparser
    docs = []
    feed = 0
    while len(docs) < n:
        for entry in feedparser.parse(feed_xml(feed, 0, 50)).entries:
            docs.append(f"{entry.title}\n{re.sub(r'<[^>]+>', ' ', entry.summary)}")
        feed += 1
    return docs[:n]


def band(variant, cover=1.0):
    """Per topic, the band of word scores holding the seeds whose tag the variant changes (out-of-fold,
    thresholds chosen as training does; ``cover`` of them, centred on the median), then: nested seed CV
    with the variant's tag inside the band and the word tag outside; the share of dev, dev-ml, off-topic
    seeds and synthetic cycle items in any topic's band."""
    corpus, texts, Y, V = seeds()
    s1 = nested_seed_cv("words")[1]
    _, s2 = nested_seed_cv(variant)
    t1 = apply_thresholds(s1, choose_thresholds(Y, s1, TOPICS), TOPICS)
    t2 = apply_thresholds(s2, choose_thresholds(Y, s2, TOPICS), TOPICS)
    bands = []
    for t in range(len(TOPICS)):
        flips = s1[t1[:, t] != t2[:, t], t]
        lo, hi = np.quantile(flips, [(1 - cover) / 2, 1 - (1 - cover) / 2]) if len(flips) else (1, 0)
        bands.append((lo, hi))
        print(f"{TOPICS[t]}: {len(flips)} seed tags changed; word-score band {lo:.3f}-{hi:.3f}")
    inside = lambda s: np.any([(s[:, t] >= lo) & (s[:, t] <= hi) for t, (lo, hi) in enumerate(bands)], axis=0)
    tags = _tags_without_choosing_on_them(Y, s2, TOPICS, np.ones(len(Y), bool), np.ones(len(Y), bool), None, None, 5)
    words = _tags_without_choosing_on_them(Y, s1, TOPICS, np.ones(len(Y), bool), np.ones(len(Y), bool), None, None, 5)
    banded = np.where(inside(s1)[:, None], tags, words)
    print(f"nested seed CV: words {metrics(Y, words, TOPICS)['macro_f1']:.4f}, {variant} {metrics(Y, tags, TOPICS)['macro_f1']:.4f}, "
          f"{variant} inside the band only {metrics(Y, banded, TOPICS)['macro_f1']:.4f}; seeds in band {inside(s1).mean():.1%}")
    model = TopicClassifier(topics=TOPICS).fit(texts, Y)
    offtopic = [d for d, y in zip(texts, Y) if not y.any()]
    streams = {"dev (English)": documents(dev()), "dev-ml": documents(dev(DEV_ML)), "seeds about neither topic": offtopic,
               "synthetic cycle items (bench/ingest.py)": stream_texts()}
    for name, docs in streams.items():
        started = time.perf_counter()
        s = model.predict_proba(docs)
        print(f"  {name}: {len(docs)} items, {inside(s).mean():.1%} in the band "
              f"(word model {len(docs) / (time.perf_counter() - started):.0f} items/s here)")
    return bands


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    CACHE.mkdir(exist_ok=True)
    if command == "embed":
        embed()
    elif command == "seedcv":
        seedcv(args or ["words"])
    elif command == "dev":
        dev_once(args[0])
    elif command == "band":
        band(args[0], float(args[1]) if len(args) > 1 else 1.0)
    elif command == "curve":
        curve(args[0] if args else "words")
    else:
        raise SystemExit(__doc__)
