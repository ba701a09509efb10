"""One story per event: near-duplicate items across outlets share a story id.

Wire copy syndicated by several outlets, or lightly rewritten, keeps most of its content words. Each
item becomes a set of content words (title plus the lead of the summary); a new item joins the story
of the most similar recent item (Jaccard similarity over those sets, over a 72-hour window) when that
similarity passes a threshold, else it starts a story of its own (story id = its own item id).

Candidates come from an inverted index on the rarer words, so a cycle costs about linear time in the
window instead of comparing every pair. Clustering only sets ``items.story_id``: no item is merged,
hidden or dropped.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from .models import Item
from .store import Store

WINDOW = timedelta(hours=72)
SAME_STORY = 0.5
"""Jaccard similarity of title+lead word sets above which two items report the same event."""
SAME_TITLE = 0.6
"""…or of the titles alone (at least four content words), for outlets that rewrite the summary."""
_LEAD_WORDS = 40
_MIN_SHARED = 3
_COMMON_POSTINGS = 200
"""A word seen in more items than this finds no candidates (too common to mean "same event")."""

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset("""
a about after again against all also an and any are as at be been before being but by can could did do does
during for from had has have he her his how i if in into is it its just more most new no not now of on or
our out over said says she so some than that the their them then there these they this to up us was we were
what when which while who will with would you your
""".split())


def words(text: str) -> list[str]:
    """Content words: lowercased, stopwords and one-letter tokens dropped, plural -s folded."""
    out = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 or word in _STOPWORDS:
            continue
        out.append(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return out


class StoryIndex:
    """Recent items' word sets, searchable for the most similar one."""

    def __init__(self) -> None:
        self._docs: dict[int, tuple[int, frozenset[str], frozenset[str]]] = {}
        self._postings: defaultdict[str, list[int]] = defaultdict(list)

    def add(self, item_id: int, story_id: int, title: str, summary: str) -> None:
        title_words = frozenset(words(title))
        all_words = title_words | frozenset(words(summary)[:_LEAD_WORDS])
        self._docs[item_id] = (story_id, title_words, all_words)
        for word in all_words:
            self._postings[word].append(item_id)

    def story_of(self, title: str, summary: str) -> int | None:
        """The story of the most similar indexed item, if it is similar enough."""
        title_words = frozenset(words(title))
        all_words = title_words | frozenset(words(summary)[:_LEAD_WORDS])
        shared: Counter[int] = Counter()
        for word in all_words:
            postings = self._postings.get(word, ())
            if len(postings) <= _COMMON_POSTINGS:
                shared.update(postings)
        shared = Counter({doc_id: n for doc_id, n in shared.items() if n >= _MIN_SHARED})
        best, best_similarity = None, 0.0
        for doc_id, _ in shared.most_common(50):
            story_id, other_title, other_all = self._docs[doc_id]
            similarity = _jaccard(all_words, other_all)
            same_title = (min(len(title_words), len(other_title)) >= 4
                          and _jaccard(title_words, other_title) >= SAME_TITLE)
            if (similarity >= SAME_STORY or same_title) and similarity >= best_similarity:
                best, best_similarity = story_id, similarity
        return best


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def cluster(recent: Iterable[tuple[int, int | None, str, str]], new_items: Sequence[Item]) -> dict[int, int]:
    """Story ids for the new items, given the recent ones as (id, story_id, title, summary)."""
    new_ids = {item.id for item in new_items}
    index = StoryIndex()
    for item_id, story_id, title, summary in recent:
        if item_id not in new_ids:
            index.add(item_id, story_id or item_id, title, summary)
    assigned: dict[int, int] = {}
    for item in sorted(new_items, key=lambda i: i.id or 0):
        assert item.id is not None, "only stored items can be clustered"
        story_id = index.story_of(item.title, item.summary) or item.id
        assigned[item.id] = story_id
        index.add(item.id, story_id, item.title, item.summary)
    return assigned


def assign_stories(store: Store, new_items: Sequence[Item], now: datetime, window: timedelta = WINDOW) -> dict[int, int]:
    """Cluster the new items against the recent window and record their story ids."""
    if not new_items:
        return {}
    assigned = cluster(store.recent_items(now - window), new_items)
    store.set_stories(assigned)
    return assigned
