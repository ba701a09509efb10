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

# Person → how English, Korean and Russian copy writes them (lower case, words split by spaces). Full names in
# English: a bare "Kim" or "Lee" names several people, and wire leads give the full name at first mention.
# Russian: the nominative, or the stem the case endings follow ("захаров" → Захарова, Захаровой).
PEOPLE: dict[str, tuple[str, ...]] = {
    # Russia
    "Vladimir Putin": ("putin", "푸틴", "뿌찐", "путин"),
    "Dmitry Medvedev": ("medvedev", "메드베데프", "메드베데브", "медведев"),
    "Sergey Lavrov": ("lavrov", "라브로프", "라브로브", "лавров"),
    "Sergei Shoigu": ("shoigu", "쇼이구", "쑈이구", "шойгу"),
    "Andrei Belousov": ("belousov", "벨로우소프", "벨로우쏘브", "белоусов"),
    "Maria Zakharova": ("zakharova", "자하로바", "захаров"),
    "Vyacheslav Volodin": ("volodin", "볼로딘", "월로진", "володин"),
    "Valentina Matviyenko": ("matviyenko", "matvienko", "마트비옌코", "마뜨비옌꼬", "матвиенко"),
    "Mikhail Mishustin": ("mishustin", "미슈스틴", "미슈스찐", "мишустин"),
    "Vladimir Yakushev": ("yakushev", "야쿠셰프", "야꾸쉐브", "якушев"),
    "Gennady Zyuganov": ("zyuganov", "주가노프", "쥬가노브", "зюганов"),
    # North Korea
    "Kim Jong Un": ("kim jong un", "김정은", "ким чен ын"),
    "Kim Yo Jong": ("kim yo jong", "김여정", "ким е чжон"),
    "Choe Son Hui": ("choe son hui", "최선희", "цой сон хи", "чхве сон хи"),
    "Choe Ryong Hae": ("choe ryong hae", "최룡해", "цой рен хэ", "чхве рен хэ"),
    "Pak Thae Song": ("pak thae song", "박태성", "пак тхэ сон"),
    # South Korea
    "Lee Jae-myung": ("lee jae myung", "이재명", "ли чжэ мен"),
    "Yoon Suk Yeol": ("yoon suk yeol", "윤석열", "юн сок ел", "юн сок ель"),
    # The United States, China, Japan, Ukraine
    "Donald Trump": ("trump", "트럼프", "трамп"),
    "Joe Biden": ("biden", "바이든", "байден"),
    "Marco Rubio": ("rubio", "루비오", "рубио"),
    "Xi Jinping": ("xi jinping", "시진핑", "습근평", "си цзиньпин"),
    "Wang Yi": ("wang yi", "왕이", "ван и"),
    "Li Qiang": ("li qiang", "리창", "리강", "ли цян"),
    "Shigeru Ishiba": ("ishiba", "이시바", "исиба"),
    "Sanae Takaichi": ("takaichi", "다카이치", "такаити"),
    "Volodymyr Zelensky": ("zelensky", "zelenskyy", "젤렌스키", "зеленск"),
}

# The Russian case endings a name takes (Путина, Путину, Путиным; Зеленский, Зеленского).
_RUSSIAN_ENDINGS = ("а", "у", "е", "ом", "ым", "ой", "ей", "ы", "и", "ого", "ому", "ий", "им")
_WORD = re.compile(r"[a-z]+|[а-я]+|[가-힣]+")


def _is_korean(spelling: str) -> bool:
    return "가" <= spelling[0] <= "힣"


# Words are looked up, not searched for with one pattern of every spelling (that took a millisecond an item).
# Latin and Russian: the spelling's words exactly, the last one in each case form. Korean: the spelling as
# the start of a word, whatever is written onto it ("김정은동지께서", "푸틴과", "브.브.뿌찐이").
_BY_WORDS: dict[tuple[str, ...], str] = {
    (*words[:-1], words[-1] + ending): person
    for person, spellings in PEOPLE.items() for spelling in spellings if not _is_korean(spelling)
    for words in [tuple(spelling.split())]
    for ending in (("",) + _RUSSIAN_ENDINGS if "а" <= words[-1][0] <= "я" else ("",))}
_BY_KOREAN_START: dict[str, str] = {
    spelling: person for person, spellings in PEOPLE.items() for spelling in spellings if _is_korean(spelling)}
_MOST_WORDS = max(map(len, _BY_WORDS))
_KOREAN_LENGTHS = sorted({len(spelling) for spelling in _BY_KOREAN_START})


def named(text: str) -> frozenset[str]:
    """The people of the table that ``text`` names."""
    words = _WORD.findall(text.lower().replace("ё", "е"))
    people = set()
    for i, word in enumerate(words):
        if _is_korean(word):
            people.update(_BY_KOREAN_START[word[:n]] for n in _KOREAN_LENGTHS if word[:n] in _BY_KOREAN_START)
        else:
            people.update(_BY_WORDS[key] for n in range(1, _MOST_WORDS + 1)
                          if (key := tuple(words[i:i + n])) in _BY_WORDS)
    return frozenset(people)


@dataclass(frozen=True)
class Actors:
    """The people a report puts forward (named in its headline and lead) and every person it names."""

    principal: frozenset[str]
    named: frozenset[str]

    @classmethod
    def of(cls, headline_and_lead: str, full_text: str) -> Actors:
        return cls(named(headline_and_lead), named(full_text))


def actors_differ(a: Actors, b: Actors) -> bool:
    """Whether two reports are about different people: each puts forward someone the other never names.

    Both sides must show it. A report that names nobody (a Yonhap flash on a launch), or only part of the
    other's cast (a Russian copy naming the envoy, KCNA naming only Kim), vetoes nothing: one-sided absences
    are how different wires write one event.
    """
    return bool(a.principal - b.named) and bool(b.principal - a.named)
