"""Which people a report names, in English, Korean or Russian: what tells two same-day reports of one beat
apart when their meaning is close ("Putin congratulates Kim" and "United Russia's Yakushev congratulates Kim"
score a multilingual cosine of 0.60, as close as many pairs that do report one event).

A small hand-kept table, not a named-entity model: the people who recur in this beat (Russia, the two Koreas
and the powers around them) and who send, receive, sign or say the things the wires report. Each person is
written as the wires of each language write them, KCNA's Korean transcription included ("뿌찐", "쑈이구"),
because a person the table knows in one language but not in another would read as "the other report does not
name them" and keep apart two reports of one event. A person missing from the table vetoes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from seeds import people_by_country, voices_by_country

# Person → how English, Korean and Russian copy writes them: the table ``seeds/people.toml`` (by country there,
# which the classifier's concepts read too), whose comments say how a spelling is written.
PEOPLE: dict[str, tuple[str, ...]] = {
    person: tuple(spellings) for people in people_by_country().values() for person, spellings in people.items()}

# Titles the wires write instead of a name ("Kim Jong Un Receives Greetings from Russian President", "러 국방장관",
# "глава МИД КНДР"), each with who held it since when: the holder on the day of the report is the person named.
# Written as words that must follow one another (English exact; Korean and Russian as word starts, which the
# particles and case endings follow: "대통령이", "министром"); 北, 中, 露 count as words.
TITLES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "President of Russia": (
        ("russian president", "president of russia", "president of the russian federation", "президент россии",
         "президент рф", "российск лидер", "로씨야련방 대통령", "러시아 대통령", "러 대통령", "露 대통령"),
        (("2000-05-07", "Vladimir Putin"), ("2008-05-07", "Dmitry Medvedev"), ("2012-05-07", "Vladimir Putin"))),
    "Defence Minister of Russia": (
        ("russian defence minister", "russian defense minister", "defence minister of russia",
         "defense minister of russia", "министр обороны россии", "министр обороны рф", "глава минобороны россии",
         "глава минобороны рф", "로씨야련방 국방상", "러시아 국방장관", "러 국방장관", "露 국방장관"),
        (("2012-11-06", "Sergei Shoigu"), ("2024-05-14", "Andrei Belousov"))),
    "Foreign Minister of Russia": (
        ("russian foreign minister", "foreign minister of russia", "министр иностранных дел россии",
         "министр иностранных дел рф", "глава мид россии", "глава мид рф", "로씨야련방 외무상", "러시아 외무장관",
         "러 외무장관", "露 외무장관"),
        (("2004-03-09", "Sergey Lavrov"),)),
    "President of China": (
        ("chinese president", "president of china", "председатель кнр", "중화인민공화국 주석", "중국 국가주석",
         "中 국가주석"),
        (("2013-03-14", "Xi Jinping"),)),
    "Defence Minister of China": (
        ("chinese defence minister", "chinese defense minister", "министр обороны кнр", "министр обороны китая",
         "중국 국방부장", "中 국방부장"),
        (("2023-12-29", "Dong Jun"),)),
    "Foreign Minister of the DPRK": (
        ("dprk foreign minister", "north korean foreign minister", "foreign minister of the dprk",
         "minister of foreign affairs of the dprk", "министр иностранных дел кндр", "глава мид кндр",
         "조선민주주의인민공화국 외무상", "북한 외무상", "北 외무상"),
        (("2022-06-11", "Choe Son Hui"),)),
    "Defence Minister of the DPRK": (
        ("dprk minister of national defence", "dprk defence minister", "dprk defense minister",
         "north korean defence minister", "north korean defense minister", "министр обороны кндр",
         "조선민주주의인민공화국 국방상", "북한 국방상", "北 국방상"),
        (("2024-10-08", "No Kwang Chol"),)),
    "Defence Minister of South Korea": (
        ("south korean defense minister", "s korean defense minister", "министр обороны южной кореи",
         "министр обороны республики корея", "한국 국방장관"),
        (("2025-07-25", "Ahn Gyu-back"),)),
    "Secretary of Defense of the US": (
        ("us defense secretary", "u s defense secretary", "us secretary of defense", "u s secretary of defense", "pentagon chief", "министр обороны сша", "глава пентагона",
         "미국 국방장관", "美 국방장관"),
        (("2025-01-25", "Pete Hegseth"),)),
}

# The Russian case endings a name takes (Путина, Путину, Путиным; Зеленский, Зеленского; Чхоль, Чхолем).
_RUSSIAN_ENDINGS = ("а", "у", "е", "ом", "ым", "ой", "ей", "ы", "и", "ого", "ому", "ий", "им", "ь", "я", "ю", "ем")
# Korean headlines write the countries as one character: 北 외무상, 中 국방부장, 露 대통령.
_WORD = re.compile(r"[a-z]+|[а-я]+|[가-힣]+|[北中露美日韓]")


def _is_korean(spelling: str) -> bool:
    return "가" <= spelling[0] <= "힣"


def _is_russian(word: str) -> bool:
    return "а" <= word[0] <= "я"


# Words are looked up, not searched for with one pattern of every spelling (that took a millisecond an item).
# Latin and Russian: the spelling's words exactly, the last one in each case form. Korean: the spelling as
# the start of a word, whatever is written onto it ("김정은동지께서", "푸틴과", "브.브.뿌찐이").
_BY_WORDS: dict[tuple[str, ...], str] = {
    (*words[:-1], words[-1] + ending): person
    for person, spellings in PEOPLE.items() for spelling in spellings if not _is_korean(spelling)
    for words in [tuple(spelling.split())]
    for ending in (("",) + _RUSSIAN_ENDINGS if _is_russian(words[-1]) else ("",))}
_BY_KOREAN_START: dict[str, str] = {
    spelling: person for person, spellings in PEOPLE.items() for spelling in spellings if _is_korean(spelling)}
_NOMINATIVE = frozenset(tuple(spelling.split()) for spellings in PEOPLE.values() for spelling in spellings
                        if _is_russian(spelling))
_MOST_WORDS = max(map(len, _BY_WORDS))
_KOREAN_LENGTHS = sorted({len(spelling) for spelling in _BY_KOREAN_START})
# Titles by their first word: (the title's words, the title).
_TITLES_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _title, (_spellings, _) in TITLES.items():
    for _spelling in _spellings:
        _TITLES_BY_FIRST.setdefault(_spelling.split()[0], []).append((tuple(_spelling.split()), _title))
_TITLE_FIRST_LENGTHS = sorted({len(first) for first in _TITLES_BY_FIRST})
_NAME_FIRST_WORDS = frozenset(words[0] for words in _BY_WORDS)


# What a word can start, looked up once per distinct word: news repeats its words, and trying every prefix
# length of every word of a long text took half a millisecond an item.
@lru_cache(maxsize=1 << 16)
def _korean_names_starting(word: str) -> tuple[tuple[str, int], ...]:
    """The people whose Korean spelling ``word`` starts with, each with the spelling's length."""
    return tuple((_BY_KOREAN_START[word[:n]], n) for n in _KOREAN_LENGTHS if word[:n] in _BY_KOREAN_START)


@lru_cache(maxsize=1 << 16)
def _titles_starting(word: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    """The titles (their words, the title) whose first word may be ``word``'s start."""
    return tuple(candidate for n in _TITLE_FIRST_LENGTHS for candidate in _TITLES_BY_FIRST.get(word[:n], ()))


def _holder(title: str, on: str) -> str | None:
    """Who held ``title`` on the day ``on`` (ISO date)."""
    holders = [person for since, person in TITLES[title][1] if since <= on]
    return holders[-1] if holders else None


def _word_is(word: str, pattern: str) -> bool:
    return word == pattern if "a" <= pattern[0] <= "z" else word.startswith(pattern)


def _korean_role(rest: str) -> str:
    """What is written onto a Korean name says its role: "께", "에", "에게" a recipient ("김정은동지께",
    "뿌찐동지에게", "푸틴에"; "김정은동지께서" is the honorific subject), "로부터" a sender."""
    if "로부터" in rest:
        return "from"
    return "to" if rest.endswith(("께", "에")) or "에게" in rest else "acts"


def _latin_or_russian_role(previous: str, nominative: bool, russian: bool) -> str:
    if previous in ("from", "от"):
        return "from"
    if russian:
        return "acts" if nominative else "to"
    return "to" if previous == "to" else "acts"


def _mentions(text: str, on: str) -> list[tuple[str, str]]:
    """The people of the table that ``text`` names by name or title (held on the day ``on``), in order, each
    with its role: "acts" (a Russian nominative, a Korean name with no recipient's particle, an English one
    not after "to" or "from"), "from" (after "from", "от", with "로부터") or "to"."""
    words = _WORD.findall(text.lower().replace("ё", "е"))
    mentions = []
    for i, word in enumerate(words):
        previous = words[i - 1] if i else ""
        if _is_korean(word):
            mentions += [(person, _korean_role(word[n:])) for person, n in _korean_names_starting(word)]
        elif word in _NAME_FIRST_WORDS:
            for n in range(1, _MOST_WORDS + 1):
                if (key := tuple(words[i:i + n])) in _BY_WORDS:
                    russian = _is_russian(key[0])
                    mentions.append((_BY_WORDS[key], _latin_or_russian_role(previous, key in _NOMINATIVE, russian)))
        for title_words, title in _titles_starting(word):
            last = i + len(title_words) - 1
            if (last < len(words) and all(map(_word_is, words[i:last + 1], title_words))
                    and (person := _holder(title, on))):
                if _is_korean(title_words[-1]):
                    role = _korean_role(words[last][len(title_words[-1]):])
                else:
                    role = _latin_or_russian_role(previous, words[i] == title_words[0], _is_russian(word))
                mentions.append((person, role))
    return mentions


def _search_key(name: str) -> str:
    return " ".join(name.casefold().replace("-", " ").split())


# Every person of the table and every spokesperson, by each of their spellings and their English full name.
_SPELLINGS_OF: dict[str, tuple[str, ...]] = {
    _search_key(written): spellings
    for table in (people_by_country(), voices_by_country()) for people in table.values()
    for person, spellings in people.items() for written in (person, *spellings)}


NAME_WORDS = max(len(key.split()) for key in _SPELLINGS_OF)
"""The most words a name of ``spellings_of`` has."""


def spellings_of(name: str) -> tuple[str, ...]:
    """How English, Korean and Russian copy writes the person ``name`` is one of (a spelling of the table, their
    English full name, or a Russian spelling in another case: "Путина"; case and hyphens aside); () for anyone
    else. What a search for one of the beat's people also looks for."""
    key = _search_key(name)
    if not key or key in _SPELLINGS_OF:  # "" for a search word of hyphens
        return _SPELLINGS_OF.get(key, ())
    stems = (key[:-len(ending)] for ending in _RUSSIAN_ENDINGS if _is_russian(key) and key.endswith(ending))
    return next((_SPELLINGS_OF[stem] for stem in stems if stem in _SPELLINGS_OF), ())


def named(text: str, on: str = "9999") -> frozenset[str]:
    """The people of the table that ``text`` names, by name or by the title they held on the day ``on``
    (ISO date; by default today's holders)."""
    return frozenset(person for person, _ in _mentions(text, on))


# A headline saying its first person *received* something names the sender after "from", or not at all.
_RECEIVED = frozenset(("receives", "received", "gets", "got", "получил", "получила"))


def sender(headline: str, on: str = "9999") -> str | None:
    """Who a headline of a message, greeting or letter says sent it: its first person written as the one who
    acts ("Путин поздравил Ким Чен Ына", "뿌찐대통령이 김정은동지께 축전을", "Kim Jong Un Sends … to Xi
    Jinping"), or, when the headline says it was received, the person it was received from ("Kim Jong Un
    Receives … from Russian President" on a day Putin held the title); None when it cannot tell (a sender
    not in the table, "from Russian Counterpart")."""
    mentions = _mentions(headline, on)
    if _RECEIVED.intersection(headline.lower().split()) or "받" in headline:
        return next((person for person, role in mentions if role == "from"), None)
    return next((person for person, role in mentions if role == "acts"), None)


# Named in every headline KCNA writes about what he attends, where other wires write "North Korea fired…":
# his name in one headline and nowhere in the other report is how two wires write one launch.
_IMPLICIT = frozenset({"Kim Jong Un"})


@dataclass(frozen=True)
class Actors:
    """The people a report's headline writes as acting, those it puts forward (named in its headline and
    lead), and every person it names."""

    headline: frozenset[str]
    principal: frozenset[str]
    named: frozenset[str]

    @classmethod
    def of(cls, headline: str, headline_and_lead: str, full_text: str, on: str = "9999") -> Actors:
        """``on``: the report's day (ISO date), which says who held the titles it names."""
        acting = frozenset(person for person, role in _mentions(headline, on) if role == "acts")
        return cls(acting, named(headline_and_lead, on), named(full_text, on))


def actors_differ(a: Actors, b: Actors) -> bool:
    """Whether two reports are about different people: each puts forward someone the other never names, or
    one's headline has someone (other than Kim Jong Un) act whom the other never names.

    A report that names nobody (a Yonhap flash on a launch), or only part of the other's cast in its lead
    (a Russian copy naming the envoy, KCNA naming only Kim), vetoes nothing: one-sided absences below the
    headline are how different wires write one event. The person a headline has act is another matter:
    "Lee backs a Trump–Kim meeting" is not the report of Trump's remark that never mentions Lee (and
    "Shoigu arrives on Putin's instruction" does not have Putin act).
    """
    return ((bool(a.principal - b.named) and bool(b.principal - a.named))
            or bool((a.headline - b.named) - _IMPLICIT) or bool((b.headline - a.named) - _IMPLICIT))
