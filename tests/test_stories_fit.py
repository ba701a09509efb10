"""bench/stories_fit.py, which fits the learned cross-language bar (newswatch/stories_bar.json): its bar in cosine
units says what its model and cut say, and its cut merges no more than the share it is given."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import stories_fit  # noqa: E402

from newswatch.stories import SIGNALS  # noqa: E402


def _rows(n: int, seed: int, file: str) -> list:
    """Pairs whose cosine must clear 0.5, less 0.1 for a person in common: one file of synthetic rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        signals = tuple(float(rng.integers(0, 2)) if name != "days_apart" else float(rng.uniform(0, 1))
                        for name in SIGNALS)
        cosine = float(rng.uniform(0.2, 0.9))
        same = cosine + 0.1 * signals[SIGNALS.index("person")] + rng.normal(0, 0.03) > 0.5
        rows.append(stories_fit.Row(file, f"{file}-{k}", bool(same), False, True, cosine, signals))
    return rows


def test_the_bar_in_cosine_units_says_what_the_model_and_its_cut_say():
    rows = [row for f in range(4) for row in _rows(150, f, f"f{f}")]
    model, cut = stories_fit.fit_with_cut(rows, 1.0, 0.02, 0.0)
    base, weights = stories_fit.as_bar(model, cut)
    assert weights["person"] < -0.05 and 0.45 < base < 0.65
    scores = model.score(rows)
    for row, score in zip(rows, scores):
        bar = base + sum(weights[name] * value for name, value in zip(SIGNALS, row.signals))
        assert (row.cosine >= bar) == (score >= cut) or abs(row.cosine - bar) < 1e-9


def test_the_cut_merges_at_most_the_share_it_is_given_on_out_of_file_scores():
    rows = [row for f in range(4) for row in _rows(150, 10 + f, f"f{f}")]
    scores = stories_fit._out_of_file_scores(rows, 1.0)
    cut = stories_fit._cut(rows, scores, 0.02, 0.0)
    different = [row for row in rows if not row.same]
    assert sum(scores[row.id] >= cut for row in different) <= 0.02 * len(different)
    assert sum(scores[row.id] >= np.nextafter(cut, -np.inf) for row in different) > 0.02 * len(different) - 1
