"""Fit the learned cross-language bar of ``newswatch.stories`` (``stories_bar.json``) on the hand-written pair files,
and measure it leave-one-file-out.

Every cross-language pair of the files that the product would compare by meaning (published within
``CROSS_WINDOW``, not joined by words, no veto of ``newswatch.actors``/``happenings`` and no unsupported
statement) is a row: its cosine and its ``stories.SIGNALS``, labelled same event or not. A logistic regression
(scikit-learn's, L2 ``--l2`` on the standardized signals) says how likely one event is; its cut is the lowest that
merges at most ``--target`` of the training files' different-event pairs (all of them: those joined by words count,
the vetoed ones do not merge), read on out-of-file scores (each training file scored by a model fitted on the
others), so that the cut carries the error of a file the model has not seen. ``cut / w_cos - (intercept +
signals · w) / w_cos`` is then the bar in cosine units the product reads (``stories._cross_bar``), with
``stories.CROSS_FLOOR`` under it.

Leave-one-file-out (``--lofo``): for each file, the whole fit (the model and its cut, the cut from out-of-file
scores among the other files) is done without it, and the file is scored; the sums over files are what a fresh file
can expect, next to what the shipped rules score on each file. The figures are for all pairs of a file (the
same-language pairs are joined by words, which this fit does not touch).

    PYTHONPATH=. .venv/bin/python bench/stories_fit.py --lofo                 # figures only
    PYTHONPATH=. .venv/bin/python bench/stories_fit.py --hold-out story_pairs_heldout16.jsonl --write
    # (how the shipped stories_bar.json was fitted: on every file but the sixteenth, held out fresh)

``--vectors FILE`` keeps the encoder's vectors between runs (a pickle keyed by the encoded text).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from story_pairs import ALL_PAIRS, load_pairs  # noqa: E402

from newswatch import stories  # noqa: E402
from newswatch.anchors import Anchors  # noqa: E402


@dataclass(frozen=True)
class Row:
    file: str
    id: str
    same: bool
    by_words: bool
    """Joined by the same-language word rule (``StoryIndex``): grouped whatever the bar."""
    eligible: bool
    """Compared by meaning: cross-language, within ``CROSS_WINDOW``, no veto."""
    cosine: float
    signals: tuple[float, ...]


def rows(paths: list[Path], vectors_file: Path | None) -> list[Row]:
    pairs = [(path.name, pair) for path in paths for pair in load_pairs(path)]
    cache = pickle.loads(vectors_file.read_bytes()) if vectors_file and vectors_file.exists() else {}
    texts = [stories._meaning_text(item) for _, pair in pairs for item in (pair.a, pair.b)]
    missing = sorted(set(texts) - cache.keys())
    for start in range(0, len(missing), 64):
        cache.update(zip(missing[start:start + 64], stories.encode(missing[start:start + 64])))
    if vectors_file and missing:
        vectors_file.write_bytes(pickle.dumps(cache))
    out = []
    for name, pair in pairs:
        a, b = pair.a, pair.b
        index = stories.StoryIndex()
        index.add(a, a.id)  # type: ignore[arg-type]
        by_words = index.story_of(b) is not None
        report_a, report_b = stories._report(a), stories._report(b)
        anchors_a, anchors_b = Anchors.of(a.title, a.summary, a.lang), Anchors.of(b.title, b.summary, b.lang)
        hours = stories._hours_apart(a, b)
        eligible = (a.lang != b.lang and not by_words and hours * 3600 <= stories.CROSS_WINDOW.total_seconds()
                    and not stories._different_events(report_a, report_b)
                    and not stories._statement_unsupported(report_a, report_b))
        out.append(Row(name, pair.id, pair.same_event, by_words, eligible,
                       float(cache[stories._meaning_text(a)] @ cache[stories._meaning_text(b)]),
                       stories._signals(report_a, report_b, anchors_a, anchors_b, frozenset((a.lang, b.lang)), hours)))
    return out


@dataclass(frozen=True)
class Model:
    intercept: float
    weights: np.ndarray
    """Per raw feature (the cosine first, then ``stories.SIGNALS``), in log-odds."""

    def score(self, rows_: list[Row]) -> np.ndarray:
        return self.intercept + _features(rows_) @ self.weights


def _features(rows_: list[Row]) -> np.ndarray:
    return np.array([(row.cosine, *row.signals) for row in rows_]).reshape(len(rows_), 1 + len(stories.SIGNALS))


def fit(rows_: list[Row], l2: float) -> Model:
    """scikit-learn's logistic regression on the eligible rows, the features standardized, L2 ``l2`` on all weights
    but the intercept (``C`` = 1 / ``l2``)."""
    train = [row for row in rows_ if row.eligible]
    x, y = _features(train), np.array([row.same for row in train])
    scaler = StandardScaler().fit(x)
    regression = LogisticRegression(C=1 / l2, tol=1e-10, max_iter=10_000).fit(scaler.transform(x), y)
    weights = regression.coef_[0] / scaler.scale_
    return Model(float(regression.intercept_[0] - weights @ scaler.mean_), weights)


def _cut(rows_: list[Row], scores: dict[str, float], target: float, floor: float) -> float:
    """The lowest score that merges at most ``target`` of the rows' different-event pairs (those joined by words
    included), ``scores`` being out-of-file scores of the eligible rows."""
    different = [row for row in rows_ if not row.same]
    allowed = int(np.floor(target * len(different))) - sum(row.by_words for row in different)
    ranked = sorted((scores[row.id] for row in different if row.eligible and row.cosine >= floor), reverse=True)
    if allowed < 0:
        return float("inf")
    return float(np.nextafter(ranked[allowed], np.inf)) if allowed < len(ranked) else float("-inf")


def _out_of_file_scores(rows_: list[Row], l2: float) -> dict[str, float]:
    scores: dict[str, float] = {}
    for held in dict.fromkeys(row.file for row in rows_):
        held_rows = [row for row in rows_ if row.file == held and row.eligible]
        model = fit([row for row in rows_ if row.file != held], l2)
        scores.update(zip((row.id for row in held_rows), model.score(held_rows)))
    return scores


def fit_with_cut(rows_: list[Row], l2: float, target: float, floor: float) -> tuple[Model, float]:
    return fit(rows_, l2), _cut(rows_, _out_of_file_scores(rows_, l2), target, floor)


def grouped(rows_: list[Row], model: Model, cut: float, floor: float) -> list[bool]:
    eligible = [row for row in rows_ if row.eligible]
    scores = dict(zip((row.id for row in eligible), model.score(eligible))) if eligible else {}
    return [row.by_words or (row.eligible and scores[row.id] >= cut and row.cosine >= floor) for row in rows_]


def as_bar(model: Model, cut: float) -> tuple[float, dict[str, float]]:
    """The model and its cut as a bar in cosine units: ``cosine >= base + signals · weights``."""
    w_cos = float(model.weights[0])
    assert w_cos > 0, "the cosine must count for one event"
    return ((cut - model.intercept) / w_cos,
            {name: -float(w) / w_cos for name, w in zip(stories.SIGNALS, model.weights[1:])})


def _share(n: int, of: int) -> str:
    return f"{n}/{of} = {100 * n / of:.1f} %"


def lofo(rows_: list[Row], l2: float, target: float, floor: float, shipped: dict[str, bool]) -> None:
    print(f"leave-one-file-out, l2 {l2}, cut for <= {100 * target:g} % merged on the training files, floor {floor}")
    print("| left-out file | learned: grouped | learned: merged | shipped rules: grouped | shipped rules: merged |")
    print("|---|---|---|---|---|")
    totals = np.zeros(6, dtype=int)
    for held in dict.fromkeys(row.file for row in rows_):
        test = [row for row in rows_ if row.file == held]
        model, cut = fit_with_cut([row for row in rows_ if row.file != held], l2, target, floor)
        flags = grouped(test, model, cut, floor)
        same = [row.same for row in test]
        counts = np.array([sum(f for f, s in zip(flags, same) if s), sum(same),
                           sum(f for f, s in zip(flags, same) if not s), len(same) - sum(same),
                           sum(shipped[row.id] for row in test if row.same),
                           sum(shipped[row.id] for row in test if not row.same)])
        totals += counts
        print(f"| {held} | {counts[0]}/{counts[1]} | {counts[2]}/{counts[3]} | {counts[4]}/{counts[1]} | "
              f"{counts[5]}/{counts[3]} |")
    print(f"| **sum** | **{_share(totals[0], totals[1])}** | **{_share(totals[2], totals[3])}** | "
          f"{_share(totals[4], totals[1])} | {_share(totals[5], totals[3])} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold-out", action="append", default=[], help="a pair file's name to leave out entirely")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--target", type=float, default=0.015)
    parser.add_argument("--lofo", action="store_true", help="print the leave-one-file-out figures")
    parser.add_argument("--write", action="store_true", help="write newswatch/stories_bar.json")
    parser.add_argument("--vectors", type=Path, help="a pickle keeping the encoder's vectors between runs")
    args = parser.parse_args()
    paths = [path for path in ALL_PAIRS if path.name not in args.hold_out]
    data = rows(paths, args.vectors)
    floor = stories.CROSS_FLOOR
    if args.lofo:
        shipped = {row.id: pair.grouped(_cached(args.vectors)) for row, pair in
                   zip(data, (pair for path in paths for pair in load_pairs(path)))}
        lofo(data, args.l2, args.target, floor, shipped)
    model, cut = fit_with_cut(data, args.l2, args.target, floor)
    base, weights = as_bar(model, cut)
    flags = grouped(data, model, cut, floor)
    same = sum(row.same for row in data)
    print(f"\nfitted on {len(paths)} files ({sum(row.eligible for row in data)} pairs compared by meaning): "
          f"log-odds cut {cut:.3f}, bar base {base:.3f}; in-sample "
          f"{_share(sum(f for f, r in zip(flags, data) if r.same), same)} grouped, "
          f"{_share(sum(f for f, r in zip(flags, data) if not r.same), len(data) - same)} merged")
    for name, weight in weights.items():
        print(f"  {name:26s} {weight:+.3f}")
    if args.write:
        stories._BAR_FILE.write_text(json.dumps({
            "fitted": (f"bench/stories_fit.py --l2 {args.l2} --target {args.target}"
                       + "".join(f" --hold-out {name}" for name in args.hold_out)
                       + f": logistic regression on {sum(row.eligible for row in data)} cross-language pairs of "
                       + ", ".join(path.name for path in paths)
                       + f"; log-odds cut {cut:.4f} (out-of-file scores, <= {100 * args.target:g} % merged), "
                       + f"cosine weight {model.weights[0]:.4f}"),
            "base": round(base, 6), "weights": {name: round(w, 6) for name, w in weights.items()}},
            indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        stories._bar_weights.cache_clear()
        print(f"wrote {stories._BAR_FILE}")


def _cached(vectors_file: Path | None) -> stories.Encoder:
    cache = pickle.loads(vectors_file.read_bytes()) if vectors_file and vectors_file.exists() else {}

    def encoder(items):  # type: ignore[no-untyped-def]
        texts = [stories._meaning_text(item) for item in items]
        return np.stack([cache[t] for t in texts]) if all(t in cache for t in texts) else stories.meanings(items)

    return encoder


if __name__ == "__main__":
    main()
