"""Why an item matched: the word n-grams and concept co-occurrences whose weight pushed its topic score up most."""

from __future__ import annotations

from functools import cached_property
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .concepts import feature_names, relation_columns
from .pipeline import TOKEN, Features, TopicClassifier, normalize

CANDIDATES_PER_REASON = 3
"""Ranked candidates looked at per reason shown: some are dropped (stop words, a shared hashed column)."""


class Explainer:
    """Names the features of a fitted model; built once per loaded model, used on whole batches.

    Shown are word n-grams, which a reader can check against the text, and at most one relation
    ("Russia + North Korea in one sentence"), which says what the words alone do not; contributions
    are the uncalibrated regression's, whose order the calibration keeps.
    """

    def __init__(self, model: TopicClassifier):
        self.model = model

    @cached_property
    def _names(self) -> list[str]:
        """The training n-grams (in the order of ``vocabulary_columns_``), then the concept features."""
        return self.model.vocabulary_.split("\n") + feature_names()

    @cached_property
    def _weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self.model.weights(t) for t in range(len(self.model.topics_))]

    def top_terms(self, texts: Sequence[str], features: Features, rows: np.ndarray, topic_index: int, k: int
                  ) -> list[tuple[str, ...]]:
        """For each of ``rows`` (indices into the batch ``texts``/``features``), the k reasons that
        contributed most to ``topic_index``'s score, strongest first."""
        if not len(rows):
            return []
        row_of, value, name = self._contributions(features, np.asarray(rows), topic_index)
        order = np.lexsort((-value, row_of))
        row_of, value, name = row_of[order], value[order], name[order]
        rank = np.arange(len(order)) - np.searchsorted(row_of, row_of)
        keep = rank < k * CANDIDATES_PER_REASON
        reasons: list[list[str]] = [[] for _ in rows]
        tokens: dict[int, set[str]] = {}
        with_relation: set[int] = set()
        n_terms = len(self.model.vocabulary_columns_)
        for r, n in zip(row_of[keep].tolist(), name[keep].tolist()):
            if len(reasons[r]) >= k:
                continue
            if n >= n_terms:
                if r not in with_relation:
                    with_relation.add(r)
                    reasons[r].append(self._names[n])
                continue
            if r not in tokens:
                tokens[r] = set(TOKEN.findall(normalize(self.model.head(texts[rows[r]]))))
            if _in_text(self._names[n], tokens[r]):
                _add(reasons[r], self._names[n])
        return [tuple(reason) for reason in reasons]

    def _contributions(self, features: Features, rows: np.ndarray, topic_index: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every positive contribution in ``rows``: (row within ``rows``, value, index into ``_names``)."""
        word_weights, concept_weights = self._weights[topic_index]
        words = features.words[rows].multiply(word_weights).tocsr()
        word_rows = np.repeat(np.arange(len(rows)), np.diff(words.indptr))
        columns = self.model.vocabulary_columns_
        at = np.minimum(np.searchsorted(columns, words.indices), len(columns) - 1)
        named = (columns[at] == words.indices) & (words.data > 0)
        relations = relation_columns()
        concepts = features.concepts[rows][:, relations] * (concept_weights[relations] * self.model.concept_weight)
        concept_rows, shown = np.nonzero(concepts > 0)
        concept_columns = relations[shown]
        return (np.concatenate([word_rows[named], concept_rows]),
                np.concatenate([words.data[named], concepts[concept_rows, shown]]),
                np.concatenate([at[named], len(columns) + concept_columns]))


def _add(shown: list[str], term: str) -> None:
    """Add ``term`` unless a shown n-gram holds it; a pair replaces its shown words ("freedom", "edge"
    become "freedom edge", where "freedom" was)."""
    words = set(term.split())
    if any(words <= set(other.split()) for other in shown):
        return
    held = [i for i, other in enumerate(shown) if set(other.split()) <= words]
    if held:
        shown[held[0]] = term
        shown[:] = [other for i, other in enumerate(shown) if i not in held[1:]]
    else:
        shown.append(term)


def _in_text(term: str, tokens: set[str]) -> bool:
    """An n-gram really in the text (a hashed column may be another n-gram's too), not only stop words."""
    words = term.split()
    return all(word in tokens for word in words) and not all(word in ENGLISH_STOP_WORDS for word in words)
