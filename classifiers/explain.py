"""Why an item matched: the word n-grams and concept co-occurrences whose weight pushed its topic score up most."""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from seeds import people_by_country, voices_by_country

from .concepts import CONCEPTS, feature_names, relation_columns, term_index
from .pipeline import Features, TopicClassifier
from .text import LANGUAGES, korean_pieces, normalize, read_words, words

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
    def _name_of_column(self) -> np.ndarray:
        """Each hashed word column's index into ``_names``, -1 where no training n-gram has it: one
        lookup per contribution instead of a binary search of the vocabulary."""
        columns = self.model.vocabulary_columns_
        index = np.full(self.model.n_features, -1, dtype=np.int32)
        index[columns] = np.arange(len(columns), dtype=np.int32)
        return index

    @cached_property
    def _weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self.model.weights(t) for t in range(len(self.model.topics_))]

    @cached_property
    def _concept_weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self.model.concept_weights(t) for t in range(len(self.model.topics_))]

    def top_terms(self, texts: Sequence[str], features: Features, rows: np.ndarray, topic_index: int, k: int,
                  readings: dict[int, Reading] | None = None) -> list[tuple[str, ...]]:
        """For each of ``rows`` (indices into the batch ``texts``/``features``), the k reasons that
        contributed most to ``topic_index``'s score, strongest first. ``readings`` keeps what is read off each
        batch row's head between the calls of one batch's topics."""
        if not len(rows):
            return []
        row_of, value, name = self._contributions(features, np.asarray(rows), topic_index)
        n_terms = len(self.model.vocabulary_columns_)
        # the candidates: each row's strongest relation (one is shown) and its strongest words; ranked together, the
        # relations of a report about its topic (a dozen, each above any word) took every candidate's place, and
        # its reason was one relation and no word
        relation = name >= n_terms
        order = np.lexsort((-value, relation, row_of))
        row_of, value, name, relation = row_of[order], value[order], name[order], relation[order]
        group = 2 * row_of + relation
        rank = np.arange(len(order)) - np.searchsorted(group, group)
        keep = np.flatnonzero(np.where(relation, rank < 1, rank < k * CANDIDATES_PER_REASON))
        keep = keep[np.lexsort((-value[keep], row_of[keep]))]  # strongest first again, relation among the words
        reasons: list[list[str]] = [[] for _ in rows]
        held: list[list[set[str]]] = [[] for _ in rows]  # the words of each reason shown (``_add``)
        readings = {} if readings is None else readings
        batch_rows = np.asarray(rows).tolist()
        for r, n in zip(row_of[keep].tolist(), name[keep].tolist()):
            if len(reasons[r]) >= k:
                continue
            if n >= n_terms:
                # the language the features read the head in: a Korean name far down an English body must not turn
                # the reason Korean
                reasons[r].append(relation_name(self._names[n], LANGUAGES[features.languages[rows[r]]]))
                held[r].append(set(reasons[r][-1].lower().split()))  # "Russia + China in headline": no "china" beside it
                continue
            row = batch_rows[r]
            reading = readings.get(row) or readings.setdefault(row, Reading(features.heads[row]))
            shown = _as_written(self._names[n], reading)
            if shown and not _across_a_name(self._names[n], reading):
                whole = _whole_name(self._names[n], reading) or _as_compound(shown, self._names[n], reading)
                if whole:
                    _add(reasons[r], held[r], whole)
        return [tuple(reason) for reason in reasons]

    def _contributions(self, features: Features, rows: np.ndarray, topic_index: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every positive contribution in ``rows``: (row within ``rows``, value, index into ``_names``)."""
        word_weights, _ = self._weights[topic_index]
        shared, own = self._concept_weights[topic_index]
        words = features.words[rows].multiply(word_weights).tocsr()
        word_rows = np.repeat(np.arange(len(rows)), np.diff(words.indptr))
        at = self._name_of_column[words.indices]
        named = (at >= 0) & (words.data > 0)
        relations = relation_columns()
        in_headline = features.concepts[rows][:, relations] > 0
        own_part = features.own[rows][:, relations] * own[features.languages[rows]][:, relations]
        # a language's own copy read by position says "in headline" of a pair the opening sentence
        # names: shown as "in one sentence" unless the headline names it too
        p = len(relations) // 2 - 1  # relation columns: pairs in headline, in one sentence, drill with allies in each
        headline_columns = np.r_[np.arange(p), 2 * p]
        opening_only = own_part[:, headline_columns] * ~in_headline[:, headline_columns]
        own_part[:, headline_columns] -= opening_only
        own_part[:, headline_columns + np.r_[np.full(p, p), 1]] += opening_only
        concepts = (features.concepts[rows][:, relations] * shared[relations] + own_part) * self.model.concept_weight
        concept_rows, shown = np.nonzero(concepts > 0)
        concept_columns = relations[shown]
        return (np.concatenate([word_rows[named], concept_rows]),
                np.concatenate([words.data[named], concepts[concept_rows, shown]]),
                np.concatenate([at[named], len(self.model.vocabulary_columns_) + concept_columns]))


RELATION_NAMES = {
    "ko": {"Russia": "러시아", "North Korea": "북한", "US": "미국", "South Korea": "한국", "Japan": "일본",
           "China": "중국", "drill": "훈련", "allied": "연합", "peninsula": "한반도", "elsewhere": "역외",
           "missile": "미사일", "ties": "교류", "in headline": "(제목)", "in one sentence": "(한 문장)",
           "drill with allies": "동맹 연합훈련"},
    "ru": {"Russia": "Россия", "North Korea": "КНДР", "US": "США", "South Korea": "Южная Корея", "Japan": "Япония",
           "China": "Китай", "drill": "учения", "allied": "совместные", "peninsula": "Корейский полуостров",
           "elsewhere": "другой регион", "missile": "ракеты", "ties": "связи", "in headline": "в заголовке",
           "in one sentence": "в одном предложении", "drill with allies": "учения союзников"},
}


def relation_name(name: str, lang: str) -> str:
    """A relation feature's name in the item's language ("Russia + North Korea in one sentence" is
    "러시아 + 북한 (한 문장)" for a Korean item)."""
    words = RELATION_NAMES.get(lang)
    if words is None:
        return name
    for place in ("in headline", "in one sentence"):
        if name.endswith(place):
            subject = name[: -len(place) - 1]
            parts = [words.get(part, part) for part in subject.split(" + ")]
            return f"{' + '.join(parts)} {words[place]}"
    return name


def _add(shown: list[str], words_shown: list[set[str]], term: str) -> None:
    """Add ``term`` unless a shown n-gram holds it; a pair replaces its shown words ("freedom", "edge"
    become "freedom edge", where "freedom" was). ``words_shown`` are the words of each of ``shown``
    ("large-scale" holds "large scale")."""
    words = set(term.replace("-", " ").split())
    if any(words <= other for other in words_shown):
        return
    held = [i for i, other in enumerate(words_shown) if other <= words]
    if held:
        shown[held[0]], words_shown[held[0]] = term, words
        shown[:] = [other for i, other in enumerate(shown) if i not in held[1:]]
        words_shown[:] = [other for i, other in enumerate(words_shown) if i not in held[1:]]
    else:
        shown.append(term)
        words_shown.append(words)


class Reading:
    """What an explanation reads off one item's normalized head, once for all its topics."""

    def __init__(self, head: str):
        self.head = head
        self.words, self.as_written = read_words(head)

    @cached_property
    def forms(self) -> dict[str, str]:
        """Feature word → the first word of the text it came from, as a reader finds it."""
        forms: dict[str, str] = {}
        for word, form in zip(self.words, self.as_written):
            forms.setdefault(word, form)
        return forms

    @cached_property
    def pairs(self) -> dict[tuple[str, str], int]:
        """Each pair of neighbouring feature words → where the text first has it."""
        pairs: dict[tuple[str, str], int] = {}
        for at, pair in enumerate(zip(self.words, self.words[1:])):
            pairs.setdefault(pair, at)
        return pairs

    @cached_property
    def korean_pieces(self) -> dict[str, str]:
        """Each piece of two or three syllables inside a Korean word of the text (features of their own) → the first
        such word."""
        pieces: dict[str, str] = {}
        for word, written in zip(self.words, self.as_written):
            for piece in korean_pieces(word):
                pieces.setdefault(piece, written)
        return pieces

    @cached_property
    def hyphenated(self) -> list[str]:
        """The hyphenated words of the text, in order."""
        return _COMPOUND.findall(self.head) if "-" in self.head else []

    @cached_property
    def compounds(self) -> dict[str, str]:
        """Each part of a hyphenated word of the text → the first such word ("kn" → "kn-23")."""
        compounds: dict[str, str] = {}
        for compound in self.hyphenated:
            for part in compound.split("-"):
                compounds.setdefault(part, compound)
        return compounds

    @cached_property
    def name_spans(self) -> list[tuple[int, int, tuple[str, ...]]]:
        """Where the names of several words stand in the text (start and end word, the name as feature words), in
        order; "freedom shield" inside "ulchi freedom shield" is no second name."""
        starting = _multiword_names()
        spans = [(start, start + len(name), name) for start, word in enumerate(self.words)
                 for name in starting.get(word, ()) if tuple(self.words[start:start + len(name)]) == name]
        return [(start, end, name) for start, end, name in spans
                if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in spans)]

    @cached_property
    def spans_with_bare_names(self) -> list[tuple[int, int]]:
        """``name_spans``, and each surname of the people table standing alone as a name of one word (a bare "Kim";
        not a place's word: "Korea" alone is the country; not a given name's syllable: "UN" is the United Nations)."""
        spans = [(start, end) for start, end, _ in self.name_spans]
        bare = [(i, i + 1) for i, word in enumerate(self.words)
                if word in _surnames() and not any(start <= i < end for start, end in spans)]
        return spans + bare

    @cached_property
    def names(self) -> list[tuple[tuple[str, ...], str]]:
        """The names of several words in the text (as feature words, and as written), in order."""
        return [(name, " ".join(self.as_written[start:end])) for start, end, name in self.name_spans]


def _whole_name(feature: str, reading: Reading) -> str | None:
    """The full name, as the text writes it, of a person, a place or a drill the feature names only part of ("kim",
    "чен ын", "freedom": "kim jong un", "ким чен ыном", "freedom shield"), or None, also where the text has two such
    names ("korean" of "North Korean" and "South Korean")."""
    feature_words = feature.split()
    if not all(word in _name_words() for word in feature_words):
        return None
    holding = [(name, as_written) for name, as_written in reading.names if set(feature_words) <= set(name)]
    return holding[0][1] if len({name for name, _ in holding}) == 1 else None


def _across_a_name(feature: str, reading: Reading) -> bool:
    """A word pair that everywhere in the text joins the end of a name to the word after it, or the word before a
    name to its start ("shield begins" of "Ulchi Freedom Shield begins", "кндр ким" of "КНДР Ким Чен Ын", "kim hold"
    of "Putin and Kim hold talks"): a piece of the name and a neighbour, not a phrase; the name is a reason of its
    own."""
    pair = feature.split()
    if len(pair) != 2 or not any(word in _name_words() for word in pair):
        return False
    words = reading.words
    places = [i for i in range(len(words) - 1) if words[i] == pair[0] and words[i + 1] == pair[1]]
    return bool(places) and all(any((start <= i < end) != (start <= i + 1 < end)
                                    for start, end in reading.spans_with_bare_names) for i in places)


_COMPOUND = re.compile(r"(?<![^\W_가-힣]|-)[^\W_가-힣]+(?:-[^\W_가-힣]+)+(?![^\W_가-힣]|-)")
"""A hyphenated word; its parts are letters or digits, not Hangul (a Korean particle follows the whole word)."""


def _as_compound(shown: str, feature: str, reading: Reading) -> str | None:
    """A word the text writes joined to others by hyphens, shown as that whole word ("kn" → "kn-23", "летием" →
    "80-летием", "era" → "soviet-era", "self" → "self-propelled"): alone it is a piece. Not a word that names a
    concept by itself ("pyongyang" of "moscow-pyongyang"). Where the text joins it to several, the first ("kn-23" of
    "KN-23 and KN-24"). A pair: ``_pair_as_written``."""
    if " " in feature:
        return _pair_as_written(shown, reading)
    if f"{shown}-" not in reading.head and f"-{shown}" not in reading.head:
        return shown  # most words: the text's hyphenated words are not even looked for
    return shown if feature in term_index()[0] else reading.compounds.get(shown, shown)


def _pair_as_written(shown: str, reading: Reading) -> str | None:
    """A word pair as the text writes it: the two words side by side; with a hyphenated word whose piece it holds, that
    whole word ("crossing drill" of "river-crossing drill" → "river-crossing drill"); or None, where the text writes
    them only across a comma, a colon or a sentence's end and they are no phrase of it ("summit key" of "Putin-Kim
    summit: key takeaways")."""
    first, second = shown.split(" ")
    if "가" <= first[0] <= "힣" or "가" <= second[0] <= "힣":
        return shown  # a Korean word is shown without its particle, so not as the text writes it: not looked for
    if _side_by_side(first, second, reading.head):
        return shown
    for compound in reading.hyphenated:
        parts = compound.split("-")
        if any(pair == (first, second) for pair in zip(parts, parts[1:])):
            return compound
        if parts[-1] == first and f"{compound} {second}" in reading.head:
            return f"{compound} {second}"
        if parts[0] == second and f"{first} {compound}" in reading.head:
            return f"{first} {compound}"
    return None


_QUOTES = frozenset("\"'«»“”„‘’")


def _side_by_side(first: str, second: str, text: str) -> bool:
    """Whether ``text`` holds the word ``first`` followed by ``second``, with only spaces or quotation marks between
    (threatens "countermeasures"), or a full stop after a single letter ("n. korea"); a word joined to another by a
    hyphen ("river-crossing") is not one on its own."""
    start = text.find(first)
    while start >= 0:
        gap = start + len(first)
        if not (start and _joins(text[start - 1])):
            gap += len(first) == 1 and text.startswith(".", gap)
            at = gap
            while at < len(text) and (text[at].isspace() or text[at] in _QUOTES):
                at += 1
            end = at + len(second)
            if at > gap and text.startswith(second, at) and not (end < len(text) and _joins(text[end])):
                return True
        start = text.find(first, start + 1)
    return False


def _joins(character: str) -> bool:
    """A character that makes a neighbouring word part of a longer one (as ``_COMPOUND`` reads words)."""
    return character == "-" or character.isalnum() and not "가" <= character <= "힣"


LONGER_NAMES = frozenset(("ulchi freedom shield", "ulchi freedom guardian", "을지 자유 방패", "ульчи фридом шилд"))
"""Names of three words, which no concept holds (a concept's names are word pairs at most, as its features are)."""


@lru_cache(maxsize=1)
def _multiword_names() -> dict[str, tuple[tuple[str, ...], ...]]:
    """The names of more than one word of the people table and of the concepts, as the classifier's words ("ким чен
    ын" → its stems), by their first word."""
    tables = (people_by_country(), voices_by_country())
    spellings = {spelling for table in tables for people in table.values() for person in people.values()
                 for spelling in person if " " in spelling}
    spellings |= {normalize(name) for names in CONCEPTS.values() for name in names if " " in name} | LONGER_NAMES
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for name in sorted({tuple(words(spelling)) for spelling in spellings}, key=lambda name: (-len(name), name)):
        by_first.setdefault(name[0], []).append(name)
    return {first: tuple(names) for first, names in by_first.items()}


@lru_cache(maxsize=1)
def _name_words() -> frozenset[str]:
    return frozenset(word for names in _multiword_names().values() for name in names for word in name)


@lru_cache(maxsize=1)
def _surnames() -> frozenset[str]:
    """The first words of the people table's names of several words: the surnames of its Korean and Chinese people
    ("kim", "choe", "ким", "xi", "wang"), which the wires also write alone."""
    tables = (people_by_country(), voices_by_country())
    return frozenset(words(spelling)[0] for table in tables for people in table.values() for person in people.values()
                     for spelling in person if " " in spelling)


def _as_written(feature: str, reading: Reading) -> str | None:
    """A word feature as the text writes it ("северн коре" → "северной кореи"; a piece from inside a Korean
    word as that word: "쇼이" → "쇼이구"), or None where it is no word a reader would take as a reason: a
    column another n-gram shares that is not in this text, a stop word, a number, a single letter, a day or
    a month."""
    words = feature.split()
    at = reading.pairs.get(tuple(words)) if len(words) == 2 else None
    if at is not None:  # the two words where the text writes them together ("совместным патрулированием", not the
        written = reading.as_written[at:at + 2]  # first form of each: "совместного" of another phrase)
    else:
        forms = reading.forms
        written = [forms.get(word) or (reading.korean_pieces.get(word) if "가" <= word[0] <= "힣" else None)
                   for word in words]
    if any(word is None or not _meaningful(word) for word in written):
        return None
    return " ".join(written)  # type: ignore[arg-type]


def _meaningful(word: str) -> bool:
    # cheapest test first; a word of letters only has no digit
    return len(word) > 1 and word not in STOP_WORDS and (word.isalpha() or not any(c.isdigit() for c in word))


STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | frozenset((
    # the days and months of datelines ("wednesday the"), the English words of bylines, and the news agencies (here and
    # in each language's list: the source of every report of theirs, not a reason: "tass", "риа новости", "조선중앙통신")
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "
    "september october november december jan feb mar apr jun jul aug sep sept oct nov dec said says year years "
    "news reported according reuters yonhap ap afp kcna tass ria interfax "
    # Russian function words, the days and months, and the words of news agencies' datelines
    "и в во на с со по о об от до за из к ко у не ни но а же ли бы что чтобы как это этот эта эти того тот та те "
    "он она оно они его ее их ему ей им ими мы вы я для при под над без через после перед между также уже еще "
    "был была было были быть будет будут есть который которая которые которых который которого свой своей "
    "год года году лет заявил заявила сообщил сообщила сообщает сообщили отметил говорится время "
    "понедельник вторник среда среду четверг пятница пятницу суббота субботу воскресенье января февраля марта "
    "апреля мая июня июля августа сентября октября ноября декабря этого этой этом эту всех все весь всего них нем "
    "ней него себя свои своих только очень более можно нужно так там тут здесь где когда если или либо пока "
    "почти около благодаря однако кроме также тоже ранее сейчас теперь первый первая новый новые словам "
    "данным которую которым которой этим этих всей будто именно даже лишь раз ряд новости тасс риа интерфакс цтак "
    # Korean words that carry no topic: dependent nouns, demonstratives, the words of datelines and bylines
    "것 등 및 수 이 그 저 이번 지난 오늘 올해 지난해 이날 당시 현지시간 기자 뉴스 연합뉴스 뉴시스 조선중앙통신 특파원 밝혔다 "
    "말했다 했다 있다 없다 위해 대한 관련 통해 따르면 오전 오후 월요일 화요일 수요일 목요일 금요일 토요일 일요일 "
    "우리 정부 한다 하는 하고 있는 있고 있어 알려졌다 전했다 으로 이들 것으로 대해 위한 이후 가운데 따라 또한 "
    "한편 그는 이어 함께 최근 이라며 라며 이라고 라고 것이다 한다고 했다고 밝힌 이같이 다른 모든 같은 지난달 "
    "이달 내년 현재 당국자 관계자"
).split())
