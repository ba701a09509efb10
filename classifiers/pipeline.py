"""The topic classifier: hashed word n-grams and concept co-occurrences, sentence by sentence, into one
calibrated logistic regression per topic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.utils import murmurhash3_32

from .concepts import concept_features, concept_mask, feature_names
from .text import LANGUAGES, language, ngrams, normalize, without_captions

# A sentence ends at . ! ? and a space, or a line; Korean copy often runs on without the space
# ("…해석된다.한편 러시아는…"), so a Korean sentence also ends at its final syllable and a stop.
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|(?<=[가-힣][.!?])(?=[^\s\d.])|\n+")
# The same ends in text without Hangul (where the Korean rule cannot apply), written to start with the
# whitespace every such end starts with: the regular expression engine then skips from space to space,
# three times faster than trying the lookbehinds at every character.
_SENTENCE_END_WITHOUT_HANGUL = re.compile(r"[\s](?:(?<=[.!?。]\s)\s*|(?<=\n)\n*)")
_HANGUL = re.compile(r"[가-힣]")


@dataclass(frozen=True)
class Features:
    """One batch's feature blocks; ``matrix`` is what the regressions read, the rest explains it."""

    words: sp.csr_matrix
    concepts: np.ndarray
    own: np.ndarray
    """Each text's values in its own language's concept columns: ``concepts``, or for a language of
    ``position_split`` the same columns read by position (``concept_features(by_position=True)``)."""
    languages: np.ndarray
    """Each text's index into ``LANGUAGES``: which language-specific concept weights apply to it."""
    heads: list[str]
    """Each text's headline and lead, normalized: what the features were read from (an explanation
    finds its words there without reading the text again)."""
    matrix: sp.csr_matrix


def _regression(C: float) -> LogisticRegression:
    """One topic's regression. liblinear's dual solver suits many more columns than examples; its
    coordinate descent visits examples in a random order, so the seed is fixed (the same data give
    the same model file), and it is given the iterations it needs on the seeds and labels rather
    than warning that 1,000 did not converge."""
    return LogisticRegression(C=C, class_weight="balanced", solver="liblinear", dual=True, max_iter=MAX_ITER,
                              random_state=0)


MAX_ITER = 20_000
_LONGEST_WORD = 12
"""Characters a lead word takes at most, on average, with its space: the body is cut there first."""


@lru_cache(maxsize=4)
def _first_words(n: int) -> re.Pattern[str]:
    return re.compile(rf"\s*(?:\S+\s+){{{n - 1}}}\S+")


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label topic classifier: ``fit(texts, Y)`` with Y an indicator matrix over ``topics`` (the config's).

    A text is a headline, a newline, then the body. It reads the headline and the first ``lead_words``
    words of the body (the lead, where news says what it is about; a round-up's passing line
    further down should not tag it; counted in words, not characters, because a Korean word — a noun
    and its particle — says as much as an English one in fewer letters), sentence by sentence:
    - words and word pairs (hashed: no vocabulary to store, so the model file stays small and loads
      fast), TF-IDF weighted over the whole headline + lead;
    - concept features (``classifiers.concepts``): which actors and events the headline names, and
      which pairs of them one sentence names together, times ``concept_weight``. With
      ``concepts_by_language`` they come twice: once shared by every language, once in the columns of
      the text's own language (English, Korean or Russian, by its letters). A concept's weight for a
      text is the shared one plus its language's correction ("frustratingly easy" domain adaptation,
      Daumé III 2007): Korean "훈련" (any training) and Russian "учения" name a drill more loosely than
      English "drills", and a few hundred Korean and Russian examples should not loosen the English
      weights, nor lose what the languages share. In the languages of ``position_split`` (Korean and
      Russian) the text's own copy reads a pair by position: "in headline" when the headline or the
      lead's opening sentence names it, "in one sentence" only when a later sentence does. A Korean or
      Russian round-up whose one late sentence names North Korean soldiers in Russia (TOPICS.md's
      passing line) then weighs that line by its own language's examples, and English, whose drill
      reports name the alliance further down, keeps its columns as they were.
    Probabilities are calibrated (Platt scaling on ``calibration_folds`` out-of-fold scores), so that a
    threshold means the same across retrainings; ``thresholds`` maps a topic to its alert threshold
    (0.5 if absent), usually the one `classifiers.train` chose on validation data.
    """

    def __init__(self, topics: Sequence[str] = (), C: float = 10.0, lead_words: int = 170,
                 concept_weight: float = 0.5, n_features: int = 2**20, calibration_folds: int = 3,
                 thresholds: dict[str, float] | None = None, concepts_by_language: bool = True,
                 position_split: tuple[str, ...] = ("ko", "ru")):
        self.topics = topics
        self.C = C
        self.lead_words = lead_words
        self.concept_weight = concept_weight
        self.n_features = n_features
        self.calibration_folds = calibration_folds
        self.thresholds = thresholds
        self.concepts_by_language = concepts_by_language
        self.position_split = position_split

    def fit(self, texts: Sequence[str], Y: np.ndarray, sample_weight: np.ndarray | None = None) -> "TopicClassifier":
        topics = tuple(self.topics)
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[1] != len(topics):
            raise ValueError(f"Y must have one column per topic {topics}, got shape {Y.shape}")
        smallest_class = int(min(Y.sum(axis=0).min(), (1 - Y).sum(axis=0).min()))
        folds = min(self.calibration_folds, smallest_class)
        if folds < 2:
            raise ValueError("every topic needs at least two positive and two negative examples")
        texts = list(texts)
        self.topics_ = topics
        segments, whose, headline, languages, heads = self._segments(texts)
        grams = [ngrams(segment) for segment in segments]  # read once: the hashed columns and their names
        hashed = self._hash(grams)
        self.word_idf_ = TfidfTransformer(sublinear_tf=True).fit(self._word_counts(hashed, whose, len(texts)))
        self.vocabulary_, self.vocabulary_columns_ = self._vocabulary(grams)
        features = self._features(hashed, [concept_mask(g) for g in grams], whose, headline, languages, heads)
        self.regressions_ = [
            CalibratedClassifierCV(_regression(self.C), method="sigmoid", cv=folds, ensemble=False).fit(
                features.matrix, Y[:, t], sample_weight=sample_weight)
            for t in range(len(topics))
        ]
        thresholds = self.thresholds or {}
        self.thresholds_ = np.array([thresholds.get(topic, 0.5) for topic in topics])
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.proba(self.features(texts))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(texts) >= self.thresholds_).astype(int)

    def proba(self, features: Features) -> np.ndarray:
        """Calibrated scores, one column per topic, of already computed features."""
        return np.column_stack([r.predict_proba(features.matrix)[:, 1] for r in self.regressions_])

    def head(self, text: str) -> str:
        """The part of ``text`` the features read: the headline and the lead, photo captions left out."""
        title, _, body = text.partition("\n")
        body = without_captions(body[: self.lead_words * _LONGEST_WORD])
        lead = _first_words(self.lead_words).match(body)
        return f"{title}\n{lead.group() if lead else body}"

    def concept_weights(self, topic_index: int) -> tuple[np.ndarray, np.ndarray]:
        """The (uncalibrated) weights of ``topic_index``'s shared concept columns and of each language's
        own copy (one row per ``LANGUAGES``; zeros without ``concepts_by_language``): a text's concept
        score is ``concepts @ shared + own @ own_weights[its language]`` (``Features``)."""
        coef = self.regressions_[topic_index].calibrated_classifiers_[0].estimator.coef_[0]
        concepts = coef[self.n_features:].reshape(-1, len(feature_names()))
        if self.concepts_by_language:
            return concepts[0], concepts[1:]
        return concepts[0], np.zeros((len(LANGUAGES), concepts.shape[1]))

    def weights(self, topic_index: int) -> tuple[np.ndarray, np.ndarray]:
        """The (uncalibrated) regression weights of ``topic_index``: of the word columns, and of the
        concepts as they apply to a text in each language (one row per ``LANGUAGES``)."""
        coef = self.regressions_[topic_index].calibrated_classifiers_[0].estimator.coef_[0]
        shared, own = self.concept_weights(topic_index)
        return coef[: self.n_features], shared + own

    # -- features -----------------------------------------------------------------------------------

    def _hash(self, grams: Iterable[list[str]]) -> sp.csr_matrix:
        # each n-gram as the pair (n-gram, 1): what input_type="string" makes of it, without a Python
        # generator step per n-gram (zip and repeat iterate in C); the same matrix, a quarter faster
        hasher = FeatureHasher(n_features=self.n_features, input_type="pair", alternate_sign=False)
        return hasher.transform(zip(segment, repeat(1)) for segment in grams).tocsr()

    def _segments(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Each text's headline and lead sentences, normalized and flattened, each text's language and
        normalized head: (segments, whose, is the headline, index into ``LANGUAGES``, heads)."""
        segments: list[str] = []
        whose: list[int] = []
        headline: list[bool] = []
        languages: list[int] = []
        heads: list[str] = []
        for i, text in enumerate(texts):
            head = normalize(self.head(text))
            heads.append(head)
            title, _, body = head.partition("\n")
            korean = not body.isascii() and _HANGUL.search(body)
            sentence_end = _SENTENCE_END if korean else _SENTENCE_END_WITHOUT_HANGUL
            sentences = [s for s in sentence_end.split(body) if s]
            segments.append(title)
            segments.extend(sentences)
            whose.extend([i] * (1 + len(sentences)))
            headline.append(True)
            headline.extend([False] * len(sentences))
            languages.append(LANGUAGES.index(language(head)))
        return (segments, np.array(whose, dtype=np.int64), np.array(headline, dtype=bool),
                np.array(languages, dtype=np.int64), heads)

    @staticmethod
    def _word_counts(hashed: sp.csr_matrix, whose: np.ndarray, n_docs: int) -> sp.csr_matrix:
        documents = sp.csr_matrix((np.ones(len(whose)), (whose, np.arange(len(whose)))), shape=(n_docs, len(whose)))
        return (documents @ hashed).tocsr()

    def features(self, texts: Sequence[str]) -> Features:
        segments, whose, headline, languages, heads = self._segments(list(texts))
        named: list[int] = []

        def read(segment: str) -> list[str]:
            grams = ngrams(segment)
            named.append(concept_mask(grams))
            return grams

        # the n-grams streamed to the hasher, each segment's concepts read on the way (a batch's n-gram
        # lists kept alive cost the garbage collector more than reading them)
        return self._features(self._hash(map(read, segments)), named, whose, headline, languages, heads)

    def _features(self, hashed: sp.csr_matrix, named: list[int], whose: np.ndarray, headline: np.ndarray,
                  languages: np.ndarray, heads: list[str]) -> Features:
        """The feature blocks of segments: the words from their hashed n-grams, the concepts from what
        each names (``concepts.concept_mask`` of its n-grams themselves: a column another n-gram shares
        fires no concept)."""
        words = self.word_idf_.transform(self._word_counts(hashed, whose, int(headline.sum())))
        split = [LANGUAGES.index(lang) for lang in self.position_split]
        if split:
            concepts, by_position = concept_features(named, whose, headline, by_position=True)
            own = np.where(np.isin(languages, split)[:, None], by_position, concepts)
        else:
            concepts = own = concept_features(named, whose, headline)
        blocks = [concepts]
        if self.concepts_by_language:
            blocks += [own * (languages == i)[:, None] for i in range(len(LANGUAGES))]
        matrix = sp.hstack([words, sp.csr_matrix(self.concept_weight * np.hstack(blocks))], format="csr")
        return Features(words=words, concepts=concepts, own=own, languages=languages, heads=heads, matrix=matrix)

    def _vocabulary(self, grams: list[list[str]]) -> tuple[str, np.ndarray]:
        """The training n-grams by hashed column, to name the columns an explanation points at: a
        column no training text filled has no weight, so every weighted column has a name here. Stored
        as one newline-joined string (one skops node, not one per term); a shared column keeps its
        most frequent n-gram."""
        frequency: dict[str, int] = {}
        for segment in grams:
            for term in set(segment):
                frequency[term] = frequency.get(term, 0) + 1
        by_column: dict[int, str] = {}
        for term in sorted(frequency, key=lambda t: (-frequency[t], t)):
            by_column.setdefault(abs(murmurhash3_32(term, seed=0)) % self.n_features, term)
        columns = np.array(sorted(by_column), dtype=np.int64)
        return "\n".join(by_column[c] for c in columns), columns
