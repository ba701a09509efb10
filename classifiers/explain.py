"""Why an item matched: the terms whose weight pushed its topic score up the most."""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .pipeline import TopicClassifier


def top_terms(model: TopicClassifier, texts: list[str], topic_index: int, k: int = 5) -> list[tuple[str, ...]]:
    """For each text, the k word n-grams contributing most to ``topic_index``'s score.

    Only word features are shown: character n-grams weigh in the score but mean nothing to a reader.
    """
    word = model.pipeline_.named_steps["features"].transformer_list[0][1]
    estimator = model.pipeline_.named_steps["classifier"].estimators_[topic_index]
    names = word.get_feature_names_out()
    weights = estimator.coef_[0][: len(names)]
    contributions = word.transform(texts).multiply(weights).tocsr()
    result = []
    for row in range(contributions.shape[0]):
        start, end = contributions.indptr[row], contributions.indptr[row + 1]
        values, columns = contributions.data[start:end], contributions.indices[start:end]
        terms = (str(names[columns[i]]) for i in np.argsort(-values) if values[i] > 0)
        result.append(tuple(itertools.islice((t for t in terms if not _only_stop_words(t)), k)))
    return result


def _only_stop_words(term: str) -> bool:
    return all(word in ENGLISH_STOP_WORDS for word in term.split())
