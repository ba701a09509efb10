"""Why an item matched: the terms whose weight pushed its topic score up the most."""

from __future__ import annotations

import itertools

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .pipeline import TopicClassifier


def top_terms(model: TopicClassifier, texts: list[str], topic_index: int, k: int = 5) -> list[tuple[str, ...]]:
    """For each text, the k word n-grams contributing most to ``topic_index``'s score.

    Only word features are shown: character n-grams weigh in the score but mean nothing to a reader.
    """
    result = []
    for text in texts:
        contributions = model.word_contributions(text, topic_index)
        ranked = sorted((term for term, value in contributions.items() if value > 0), key=lambda t: -contributions[t])
        result.append(tuple(itertools.islice((t for t in ranked if not _only_stop_words(t)), k)))
    return result


def _only_stop_words(term: str) -> bool:
    return all(word in ENGLISH_STOP_WORDS for word in term.split())
