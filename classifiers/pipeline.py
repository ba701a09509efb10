"""The topic classifier: word and character n-gram features into calibrated one-vs-rest logistic regression."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils import murmurhash3_32

from newswatch.models import TOPICS


def hashed_tfidf(analyzer: str, ngrams: tuple[int, int], n_features: int) -> Pipeline:
    """TF-IDF over hashed n-grams: no vocabulary to store, so the model file stays small and loads fast
    (skops writes a vocabulary as one node per term; a char n-gram one is hundreds of thousands)."""
    hashing = HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, n_features=n_features, alternate_sign=False,
                                norm=None, strip_accents="unicode", lowercase=True)
    return make_pipeline(hashing, TfidfTransformer(sublinear_tf=True))


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label topic classifier: ``fit(texts, Y)`` with Y an indicator matrix over ``TOPICS``.

    Word n-grams (hashed, like the character ones, see ``hashed_tfidf``) read the first ``word_chars`` characters (the headline and the lead, where news
    says what it is about; a round-up's passing line further down should not tag it), character
    n-grams only the first ``char_chars`` (they are the slow part of reading a text). Probabilities
    are calibrated (Platt scaling on ``calibration_folds`` out-of-fold scores), so that a threshold
    means the same across retrainings; ``thresholds`` maps a topic to its alert threshold (0.5 if
    absent), usually the one `classifiers.train` chose on validation data.
    """

    def __init__(self, C: float = 10.0, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (3, 5),
                 word_chars: int = 1000, char_chars: int = 200, n_features: int = 2**18,
                 calibration_folds: int = 3, thresholds: dict[str, float] | None = None):
        self.C = C
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.word_chars = word_chars
        self.char_chars = char_chars
        self.n_features = n_features
        self.calibration_folds = calibration_folds
        self.thresholds = thresholds

    def fit(self, texts: Sequence[str], Y: np.ndarray) -> "TopicClassifier":
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[1] != len(TOPICS):
            raise ValueError(f"Y must have one column per topic {TOPICS}, got shape {Y.shape}")
        texts = list(texts)
        self.topics_ = TOPICS
        self.word_ = hashed_tfidf("word", self.word_ngrams, self.n_features).fit(self._heads(texts, self.word_chars))
        self.char_ = hashed_tfidf("char_wb", self.char_ngrams, self.n_features).fit(self._heads(texts, self.char_chars))
        smallest_class = int(min(Y.sum(axis=0).min(), (1 - Y).sum(axis=0).min()))
        folds = min(self.calibration_folds, smallest_class)
        if folds < 2:
            raise ValueError("every topic needs at least two positive and two negative examples")
        logistic = LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear", dual=True)
        calibrated = CalibratedClassifierCV(logistic, method="sigmoid", cv=folds, ensemble=False)
        self.classifier_ = OneVsRestClassifier(calibrated).fit(self._features(texts), Y)
        thresholds = self.thresholds or {}
        self.thresholds_ = np.array([thresholds.get(topic, 0.5) for topic in TOPICS])
        return self

    @staticmethod
    def _heads(texts: Sequence[str], chars: int) -> list[str]:
        return [text[:chars] for text in texts]

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([self.word_.transform(self._heads(texts, self.word_chars)),
                          self.char_.transform(self._heads(texts, self.char_chars))], format="csr")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.classifier_.predict_proba(self._features(list(texts)))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(texts) >= self.thresholds_).astype(int)

    def word_contributions(self, text: str, topic_index: int) -> dict[str, float]:
        """How much each word n-gram of ``text`` pushed ``topic_index``'s (uncalibrated) score."""
        hashing = self.word_[0]
        head = self._heads([text], self.word_chars)
        terms = sorted(set(hashing.build_analyzer()(head[0])))
        values = self.word_.transform(head).toarray()[0]
        logistic = self.classifier_.estimators_[topic_index].calibrated_classifiers_[0].estimator
        weights = logistic.coef_[0]
        columns = [abs(murmurhash3_32(term, seed=0)) % self.n_features for term in terms]  # HashingVectorizer's own
        return {term: float(values[c] * weights[c]) for term, c in zip(terms, columns)}
