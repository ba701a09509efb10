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
_NOMINATIVE = frozenset(tuple(spelling.split()) for spellings in PEOPLE.values() for spelling in spellings
                        if "а" <= spelling[0] <= "я")
_MOST_WORDS = max(map(len, _BY_WORDS))
_KOREAN_LENGTHS = sorted({len(spelling) for spelling in _BY_KOREAN_START})


def _mentions(text: str) -> list[tuple[str, bool]]:
    """The people of the table that ``text`` names, in order, each with whether it is written as the one who
    acts: a Russian name in the nominative, a Korean one without the particle of a recipient ("김정은동지께",
    "뿌찐동지에게", "푸틴에"; "김정은동지께서" is the honorific subject), an English one not after "to" or "from"."""
    words = _WORD.findall(text.lower().replace("ё", "е"))
    mentions = []
    for i, word in enumerate(words):
        if _is_korean(word):
            for n in _KOREAN_LENGTHS:
                if word[:n] in _BY_KOREAN_START:
                    rest = word[n:]
                    recipient = rest.endswith(("께", "에")) or "에게" in rest
                    mentions.append((_BY_KOREAN_START[word[:n]], not recipient))
        else:
            for n in range(1, _MOST_WORDS + 1):
                if (key := tuple(words[i:i + n])) in _BY_WORDS:
                    russian = "а" <= key[0][0] <= "я"
                    acts = key in _NOMINATIVE if russian else words[i - 1:i] not in (["to"], ["from"])
                    mentions.append((_BY_WORDS[key], acts))
    return mentions


def named(text: str) -> frozenset[str]:
    """The people of the table that ``text`` names."""
    return frozenset(person for person, _ in _mentions(text))


# A headline saying its first person *received* something names the sender later, or not by name.
_RECEIVED = frozenset(("receives", "received", "gets", "got", "получил", "получила"))


def sender(headline: str) -> str | None:
    """Who a headline of a message, greeting or letter says sent it: its first person written as the one who
    acts ("Путин поздравил Ким Чен Ына", "뿌찐대통령이 김정은동지께 축전을", "Kim Jong Un Sends … to Xi
    Jinping"); None when it cannot tell ("Kim Jong Un Receives … from Russian President", a sender not in
    the table)."""
    words = headline.lower().split()
    if _RECEIVED.intersection(words) or "받" in headline:
        return None
    return next((person for person, acts in _mentions(headline) if acts), None)


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
    def of(cls, headline: str, headline_and_lead: str, full_text: str) -> Actors:
        acting = frozenset(person for person, acts in _mentions(headline) if acts)
        return cls(acting, named(headline_and_lead), named(full_text))


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
