"""The scikit-learn pipeline and the estimator that wraps it with per-topic thresholds."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from newswatch.models import TOPICS


def build_pipeline(C: float = 10.0, word_ngrams: tuple[int, int] = (1, 2),
                   char_ngrams: tuple[int, int] = (2, 5)) -> Pipeline:
    """Word and character n-gram TF-IDF into one-vs-rest logistic regression.

    Character n-grams carry the spelling variants of names (Kim Jong-un / Kim Jong Un, Shoigu /
    Shoygu) that a word vocabulary learned from a few examples would miss.
    """
    features = FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=word_ngrams, sublinear_tf=True,
                                 strip_accents="unicode", lowercase=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, sublinear_tf=True,
                                 min_df=2, strip_accents="unicode", lowercase=True)),
    ])
    classifier = OneVsRestClassifier(LogisticRegression(C=C, class_weight="balanced", max_iter=2000))
    return Pipeline([("features", features), ("classifier", classifier)])


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label topic classifier: ``fit(texts, Y)`` with Y an indicator matrix over ``TOPICS``."""

    def __init__(self, C: float = 10.0, word_ngrams: tuple[int, int] = (1, 2),
                 char_ngrams: tuple[int, int] = (2, 5), thresholds: dict[str, float] | None = None):
        self.C = C
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.thresholds = thresholds

    def fit(self, texts: Sequence[str], Y: np.ndarray) -> "TopicClassifier":
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[1] != len(TOPICS):
            raise ValueError(f"Y must have one column per topic {TOPICS}, got shape {Y.shape}")
        self.topics_ = TOPICS
        self.pipeline_ = build_pipeline(self.C, self.word_ngrams, self.char_ngrams).fit(list(texts), Y)
        for _, vectorizer in self.pipeline_.named_steps["features"].transformer_list:
            # the terms min_df pruned, kept only for introspection: most of the model file's size
            vectorizer.stop_words_ = None
        thresholds = self.thresholds or {}
        self.thresholds_ = np.array([thresholds.get(topic, 0.5) for topic in TOPICS])
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.pipeline_.predict_proba(list(texts))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(texts) >= self.thresholds_).astype(int)
