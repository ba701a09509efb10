"""Concepts: which actors and kinds of event a sentence names, found among its word n-grams.

A bag of words cannot say "Russia and North Korea *in the same sentence*" or "a drill *with* an ally";
both topics are relations, and a few hundred seed examples cannot teach a linear model every way the
news names Pyongyang, the Kremlin or Ulchi Freedom Shield. So the names are grouped here into concepts
(after the topic definitions in TOPICS.md), and the classifier's features say where concepts occur
together: in the headline, and in one sentence of the lead. The model learns what each is worth.

The names are turned into features as ``classifiers.text`` reads any text (lower case, punctuation
dropped: "U.S." is "u s", "Kim Jong-un" has the pair "jong un"; Russian stems, Korean words without
particles), so that a concept is found among the n-grams the features already read, in whichever
language the item is written: "Путин", "푸틴" and "Putin" fire one concept. A name fires its concept only
where it is one of the segment's n-grams, never by its hashed column: in 2^20 columns the seeds' 79,000
n-grams alone share the columns of 47 of the 708 concept terms ("percent" that of "kcna", "take" that of
"владивосток"), and such words would fire North Korea and Russia.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import combinations
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from seeds import people_by_country, voices_by_country

from .text import russian_forms, term

_CYRILLIC = re.compile("[а-яё]")

# The names of each concept as readers write them, in English, Korean (South Korean and North Korean
# spellings) and Russian; ``terms()`` turns them into features. Russian names are given in the forms
# whose Snowball stems differ ("Пхеньян" → "пхенья", "Пхеньяне" → "пхеньян"). Korean ones are whole
# words or the two- and three-syllable pieces features take from inside words ("북러", "연합훈"); a
# piece that other words share ("조선" of 조선업, shipbuilding; "연합" of 연합뉴스) is left out, and so
# is a lone syllable running text uses otherwise ("일" of a date, "한" for one, "중" for during): the
# headlines' "한·미·일" reaches the features joined, as "한미일" (``text.normalize``). A name
# has at most two words: the features are words and word pairs ("Kim Jong Un" is found as "jong un").
CONCEPTS: dict[str, tuple[str, ...]] = {
    "Russia": ("russia", "russian", "russians", "russian federation", "moscow", "kremlin", "soviet", "ussr",
               "vladivostok", "khabarovsk", "rosatom", "roscosmos", "tass",
               "러시아", "러", "露", "북러", "대러", "한러", "조러", "중러", "로씨야", "로씨야련방", "모스크바", "크렘린", "소련",
               "블라디", "하바롭", "연해주",
               "Россия", "России", "российский", "российские", "русский", "Российская Федерация", "РФ", "Москва",
               "Москвы", "Кремль", "советский", "СССР", "Владивосток", "Хабаровск", "Росатом", "Роскосмос", "ТАСС",
               "россияне",
               # the beat's Russian institutions and places (TOPICS.md: arms, troops, rail and port projects),
               # which reports name instead of "Russia" (its people: ``seeds/people.toml``)
               "wagner", "rosoboronexport", "rostec", "gazprom", "duma", "federation council", "kursk", "primorye",
               "primorsky", "khasan", "vostochny",
               "바그너", "로소보", "로스테", "가스프", "국가두", "연방평", "쿠르스", "꾸르스", "프리모", "하산역",
               "Вагнер", "Рособоронэкспорт", "Ростех", "Газпром", "Госдума", "Совет Федерации", "Курск",
               "Приморье", "Приморский", "Хасан", "Дальний Восток", "Тихоокеанский флот"),
    "North Korea": ("north korea", "north korean", "north koreans", "n korea", "n korean", "n k", "nk", "dprk",
                    "pyongyang", "kpa", "wpk", "workers party", "kcna", "rodong sinmun", "korean people",
                    "북한", "북", "北", "朝", "북러", "북중", "북미", "조러", "평양", "조선중앙",
                    "조선중앙통신", "노동당", "로동당", "노동신문", "로동신문", "인민군", "조선인민군", "북한군", "방북",
                    "КНДР", "Северная Корея", "Северной Кореи", "Северной Кореей", "северокорейский",
                    "северокорейские", "Пхеньян", "Пхеньяне", "Трудовая партия",
                    "ЦТАК", "народная армия", "Нодон Синмун",
                    # the beat's North Korean places (Rason/Rajin of Rajin–Khasan, Wonsan-Kalma, Sohae, the Tumen
                    # border) and bodies (its people: ``seeds/people.toml``)
                    "rason", "rajin", "wonsan", "kalma", "sohae", "tumen", "supreme people", "korean central",
                    # KCNA's headlines for visitors to Pyongyang ("Russian Delegation Arrives Here"); other
                    # outlets' copy says "arrived here" of their own city, in the past tense of a body
                    "arrives here", "arrive here", "leaves here", "leave here",
                    "라선", "라진", "나진", "원산갈", "원산항", "갈마", "동창리", "두만강", "최고인민회의",
                    "Расон", "Раджин", "Вонсан", "Кальма", "Сохэ", "Верховное народное"),
    "US": ("u s", "united states", "washington", "american", "americans", "pentagon", "usfk", "indo pacific",
           "uss",
           "미국", "미", "美", "한미", "한미일", "북미", "미일", "미중", "미군", "주한미", "워싱턴", "펜타곤",
           "США", "Соединенные Штаты", "Вашингтон", "американский", "американские", "Америка", "Пентагон"),
    "South Korea": ("south korea", "south korean", "south koreans", "s korea", "s korean", "rok", "seoul",
                    "puppet",
                    "한국", "남한", "韓", "한미", "한미일", "한일", "한러", "한중", "대한민국", "서울", "합참", "국군", "한국군",
                    "괴뢰",
                    "Южная Корея", "Южной Кореи", "Южной Кореей", "южнокорейский", "южнокорейские", "Сеул",
                    "Республика Корея", "марионеточный"),
    "Japan": ("japan", "japanese", "tokyo", "self defense", "self defence", "jsdf", "sdf",
              "일본", "日", "한일", "한미일", "미일", "도쿄", "자위대",
              "Япония", "японский", "японские", "Токио", "самообороны"),
    "China": ("china", "chinese", "beijing", "pla",
              "중국", "中", "북중", "미중", "한중", "중러", "베이징", "시진핑", "해방군",
              "Китай", "Китая", "китайский", "китайские", "Пекин", "НОАК", "КНР"),
    "drill": ("drill", "drills", "exercise", "exercises", "war game", "war games", "wargame", "wargames",
              "maneuver", "maneuvers", "manoeuvre", "manoeuvres", "joint patrol", "freedom shield", "ulchi",
              "ulji", "foal eagle", "key resolve", "vigilant defense", "vigilant ace", "freedom edge",
              "freedom flag", "ssangyong", "max thunder", "joint sea", "northern interaction",
              "훈련", "연습", "을지", "자유 방패", "프리덤", "프리덤 에지", "쌍룡", "키리졸브", "독수리", "순찰", "기동",
              "учения", "учение", "маневры", "военные игры", "патрулирование", "патрулирования", "патруль",
              "Щит свободы", "Ульчи", "Фридом Эдж", "Морское взаимодействие", "Северное взаимодействие"),
    "allied": ("joint", "combined", "trilateral", "allied", "allies", "alliance", "bilateral",
               "연합훈", "연합연", "연합공", "연합해", "연합작", "합동", "동맹", "삼각", "한미일",
               "совместные", "совместных", "совместное", "объединенные", "трехсторонние", "союзники", "союзный",
               "альянс", "двусторонние"),
    "peninsula": ("korean peninsula", "east sea", "yellow sea", "west sea", "korea strait", "jeju",
                  "demilitarized zone", "dmz",
                  "한반도", "동해", "서해", "황해", "대한해협", "제주", "비무장지대", "휴전선", "군사분계선",
                  "Корейский полуостров", "Корейском полуострове", "Японское море", "Японском море", "Желтое море",
                  "Корейский пролив", "Чеджу", "демилитаризованная зона"),
    "elsewhere": ("europe", "european", "nato", "baltic", "taiwan", "south china", "philippines", "australia",
                  "india", "alaska", "oman", "south africa", "middle east", "mediterranean", "arctic",
                  "iran", "iranian", "syria", "venezuela", "cuba", "belarus",
                  # NATO's eastern flank, where its members drill (TOPICS.md: "NATO in Europe")
                  "poland", "romania", "finland", "sweden", "norway", "estonia", "latvia", "lithuania", "black sea",
                  "유럽", "나토", "발트", "대만", "남중국해", "필리핀", "호주", "인도", "알래스카", "오만", "남아공", "중동",
                  "지중해", "북극", "이란", "시리아", "베네수엘라", "쿠바", "벨라루스",
                  "폴란드", "루마니아", "핀란드", "스웨덴", "노르웨이", "에스토니아", "라트비아", "리투아니아", "흑해",
                  "Европа", "европейский", "НАТО", "Балтика", "балтийский", "Тайвань", "Южно Китайское",
                  "Филиппины", "Австралия", "Индия", "Аляска", "Оман", "ЮАР", "Ближний Восток", "Средиземное",
                  "Средиземном", "Арктика", "арктический", "Иран", "Сирия", "Венесуэла", "Куба", "Беларусь",
                  "Белоруссия", "Польша", "Польше", "Румыния", "Финляндия", "Швеция", "Норвегия", "Эстония", "Латвия",
                  "Литва", "Черное море", "Черном море"),
    "missile": ("missile", "missiles", "icbm", "icbms", "ballistic", "launch", "launches", "launched", "fired",
                "artillery",
                "미사일", "탄도", "발사", "방사포", "순항", "대륙간", "포병", "사격",
                "ракета", "ракеты", "ракетный", "МБР", "баллистическая", "баллистические", "пуск", "запуск",
                "артиллерия"),
    "ties": ("treaty", "pact", "summit", "visit", "visits", "visited", "talks", "delegation", "ambassador",
             "embassy", "cooperation", "partnership", "arms", "munitions", "shells", "troops", "soldiers",
             "sanctions", "trade", "greetings", "message",
             "조약", "정상회담", "정상회", "회담", "방문", "방북", "방러", "대표단", "대사", "대사관", "협력", "동반자", "무기",
             "포탄", "탄약", "병력", "파병", "군인", "장병", "제재", "무역", "교역", "축전", "서한", "친서", "메시지", "노동자",
             "договор", "пакт", "саммит", "визит", "визита", "переговоры", "делегация", "посол", "посольство",
             "сотрудничество", "партнерство", "оружие", "боеприпасы", "снаряды", "войска", "солдаты",
             "военнослужащие", "санкции", "торговля", "поздравление", "послание", "телеграмма"),
}
NAMES = tuple(CONCEPTS)
PAIRS = tuple(combinations(range(len(NAMES)), 2))
ALLIES = tuple(NAMES.index(name) for name in ("US", "South Korea", "Japan", "allied"))
DRILL = NAMES.index("drill")


def feature_names() -> list[str]:
    """A reader's name for every concept feature, in column order (an item's "why" may show them)."""
    names = [f"{concept} in headline" for concept in NAMES]
    names += [f"{concept} in lead" for concept in NAMES]
    names += [f"{NAMES[a]} + {NAMES[b]} in headline" for a, b in PAIRS]
    names += [f"{NAMES[a]} + {NAMES[b]} in one sentence" for a, b in PAIRS]
    names += ["drill with allies in headline", "drill with allies in one sentence"]
    return names


def relation_columns() -> np.ndarray:
    """The columns of ``feature_names()`` that say two things occur together (the rest say one occurs)."""
    return np.arange(2 * len(NAMES), len(feature_names()))


# The concepts whose people (``seeds/people.toml``, one table with ``newswatch.actors``) name them: the two
# countries of the russia_dprk beat, whose ministers and envoys reports name instead of the country.
PEOPLE_NAME = ("Russia", "North Korea")


def person_name(spelling: str) -> str:
    """A spelling of the people table as a concept name: at most two words ("kim jong un" → "jong un", "ким
    чен ын" → "чен ын"; the features are words and word pairs), a Korean one the word or its first three
    syllables ("메드베데프" → "메드베", found inside "메드베데프부의장" too)."""
    if "가" <= spelling[0] <= "힣":
        return spelling[:3]
    return " ".join(spelling.split()[-2:])


def names(concept: str) -> tuple[str, ...]:
    """A concept's names: ``CONCEPTS``' and, for the countries of ``PEOPLE_NAME``, their people's and
    spokespeople's."""
    if concept not in PEOPLE_NAME:
        return CONCEPTS[concept]
    people = people_by_country().get(concept, {}) | voices_by_country().get(concept, {})
    return CONCEPTS[concept] + tuple(person_name(s) for spellings in people.values() for s in spellings)


@lru_cache(maxsize=None)
def terms(concept: str) -> tuple[str, ...]:
    """A concept's names as the features write them, sorted; a Russian name in all its cases."""
    found = set()
    for name in names(concept):
        found.add(term(name))
        if _CYRILLIC.match(name.lower()) and not name.split()[-1].isupper():  # "Ким Чен Ыном": the last word
            # takes the case; an abbreviation ("КНДР", "МБР") takes none: its made-up forms ("кндрог") are words
            # no text has (and, while concepts were read off hashed columns, fired on others': "attacks")
            *first, last = term(name).split()
            found.update(" ".join(first + [form]) for form in russian_forms(name.split()[-1]))
    return tuple(sorted(found))


@lru_cache(maxsize=1)
def term_index() -> tuple[frozenset[str], dict[str, int]]:
    """Every concept's terms (``terms()``) as one set, and each term's concepts as a bit mask (bit c for
    ``NAMES[c]``: "북러" is Russia's and North Korea's)."""
    masks: dict[str, int] = {name: 0 for name in BESIDE_PUTIN}  # found, so that concept_mask sees them, naming none
    for c, name in enumerate(NAMES):
        for feature in terms(name):
            masks[feature] = masks.get(feature, 0) | 1 << c
    return frozenset(masks), masks


BESIDE_PUTIN = ("kim",)
"""A surname that names a North Korean only beside Putin: the wires' "Putin, Kim pledge…" and "Kim thanks Putin"
after first mention. Alone a bare "Kim" names half of Korea (the people table has full names only)."""
_NORTH_KOREA = 1 << NAMES.index("North Korea")


def concept_mask(grams: Iterable[str]) -> int:
    """The concepts a segment names, as a bit mask (bit c for ``NAMES[c]``): those of its n-grams
    (``text.ngrams``: a word, a word pair, a piece of a Korean word) that are a concept's terms, and North
    Korea for a ``BESIDE_PUTIN`` surname beside Putin. One set intersection in C per segment; most segments
    name few terms."""
    every, masks = term_index()
    hits = every.intersection(grams)
    if not hits:
        return 0
    mask = 0
    for hit in hits:
        mask |= masks[hit]
    if "putin" in hits and not mask & _NORTH_KOREA and not hits.isdisjoint(BESIDE_PUTIN):
        mask |= _NORTH_KOREA
    return mask


def concept_features(named: Sequence[int], doc_of_segment: np.ndarray, is_headline: np.ndarray,
                     by_position: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Per document, the features of ``feature_names()`` from the concepts its segments name (``named``,
    ``concept_mask`` of each): its headline (``is_headline``, one per document) and each sentence of its
    lead, ``doc_of_segment`` saying whose. With ``by_position`` also the same columns read by position:
    a pair "in headline" when the headline or the lead's opening sentence names it, "in one sentence"
    when only a later sentence does (a passing line)."""
    present = (np.asarray(named, dtype=np.int64)[:, None] >> np.arange(len(NAMES))) & 1 > 0  # segments × concepts
    pairs = np.array([present[:, a] & present[:, b] for a, b in PAIRS]).T
    allied_drill = present[:, DRILL] & (present[:, ALLIES].sum(axis=1) >= 2)
    flags = np.hstack([present, pairs, allied_drill[:, None]]).astype(float)
    lead = np.flatnonzero(~is_headline)
    n_docs = int(is_headline.sum())
    in_lead = sp.csr_matrix((np.ones(len(lead)), (doc_of_segment[lead], lead)), shape=(n_docs, len(is_headline)))
    headline, sentences = flags[is_headline], in_lead @ flags  # documents × flags each
    n, p = len(NAMES), len(PAIRS)
    features = np.hstack([headline[:, :n], sentences[:, :n] > 0, headline[:, n:n + p], np.log1p(sentences[:, n:n + p]),
                          headline[:, n + p:], np.log1p(sentences[:, n + p:])])
    if not by_position:
        return features
    opening = ~is_headline & np.r_[False, is_headline[:-1]]  # the lead's first sentence
    first = np.zeros_like(headline)
    first[doc_of_segment[opening]] = flags[opening]
    early = (headline[:, n:] > 0) | (first[:, n:] > 0)
    only_later = (sentences[:, n:] - first[:, n:] > 0) & ~early
    positional = np.hstack([features[:, :2 * n], early[:, :p], only_later[:, :p], early[:, p:], only_later[:, p:]])
    return features, positional.astype(float)
