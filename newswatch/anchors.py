"""What two reports in different languages have in common beyond their meaning: the positive evidence a
cross-language join weighs (``stories._cross_bar``: sharing none raises the learned bar).

The multilingual sentence vector scores two allied drills a day apart, or a launch and the Security Council
session over it, as close as two wires' reports of one event (cosine 0.52-0.61 where 0.51 groups); six rounds
of vetoes (other people, other kinds of event) each turned away the merges they were written for, and the next
fresh file brought merges of new shapes. So the bar is turned round: a pair whose reports share no specific
anchor must be closer. The anchors, read without any table of events:

- **numbers** of the title and summary other than days of the month and years ("350 km", "350㎞", "5,000-ton",
  "5천t", "5 тыс. тонн", "80th", "80주년", "80-летия");
- **names** written across scripts: the capitalised words of English and Russian copy and the words of Korean
  copy, transliterated (Russian by the usual Latin letters, Korean by Revised Romanization) and reduced to a
  consonant skeleton that forgives the scripts' differences (v/w, b/p, g/k, d/t, r/l, aspirated "пх"/"ph"):
  Wonsan, Вонсан and 원산 are all "wnsn"; Kurenkov, Куренков "klnkw". Names every report of the beat has
  (Pyongyang, Seoul, Moscow, the countries, the agencies, the weekdays and months) are no anchor;
- **the countries a headline names**, when two headlines have two or more in common ("Chinese, Russian
  warplanes enter South Korea's air defence zone", "중러 군용기 9대 카디즈 진입", "Российские и китайские
  бомбардировщики").

People, missile classes and kinds of place in common come from ``newswatch.actors`` and
``newswatch.happenings`` (``stories._anchored``). A shared anchor is evidence, not proof: it lowers the
learned bar, and the vetoes still apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = re.compile(r"(\d[\d,.]*)\s*(천|만|тыс|млн|million|thousand)?")
_MULTIPLIERS = {"천": 1e3, "тыс": 1e3, "thousand": 1e3, "만": 1e4, "млн": 1e6, "million": 1e6}


def numbers(text: str) -> frozenset[float]:
    """The numbers a text gives, scaled by the word after them ("5천" = "5,000"), but days of the month
    (1-31: every report of a day names its date) and years."""
    found = set()
    for match in _NUMBER.finditer(text):
        try:
            value = float(match.group(1).rstrip(".,").replace(",", ""))
        except ValueError:
            continue
        value *= _MULTIPLIERS.get(match.group(2) or "", 1)
        if value > 31 and not 1990 <= value <= 2035:
            found.add(value)
    return frozenset(found)


_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     ("a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s",
                      "t", "u", "f", "kh", "ts", "ch", "sh", "sh", "", "y", "", "e", "yu", "ya")))
# Russian writes Korean aspirates with an "х" (Нампхо, Чхве): as the Latin "ph", "ch".
_RUSSIAN_ASPIRATES = (("пх", "p"), ("тх", "t"), ("кх", "k"), ("чх", "ch"))
# Revised Romanization of a Hangul syllable: initial, vowel, final.
_INITIALS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h")
_VOWELS = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu",
           "eu", "ui", "i")
_FINALS = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t", "ng",
           "t", "t", "k", "t", "p", "t")
# Particles and endings written onto a Korean name ("원산항", "남포에서", "쿠렌코프와").
_KOREAN_ENDINGS = ("에서는", "에서", "으로", "에게", "부터", "까지", "과의", "와의", "은", "는", "이", "가", "을", "를", "의",
                   "에", "로", "와", "과", "도", "항", "시", "군", "호", "형", "급")
# A Korean word ending as a verb does ("진행되였다", "이어진다", "밝혔으며") names nothing.
_KOREAN_PREDICATES = ("다", "며", "지만", "는데")
_SKELETON = (("ph", "p"), ("kh", "k"), ("th", "t"), ("ch", "c"), ("sh", "s"), ("zh", "c"), ("ts", "c"), ("ng", "n"),
             ("j", "c"), ("v", "w"), ("b", "p"), ("g", "k"), ("d", "t"), ("r", "l"), ("f", "p"), ("z", "s"),
             ("x", "ks"), ("q", "k"))


def _romanized_korean(word: str) -> str:
    out = []
    for char in word:
        code = ord(char) - 0xAC00
        if 0 <= code < 11172:
            out.append(_INITIALS[code // 588] + _VOWELS[code % 588 // 28] + _FINALS[code % 28])
    return "".join(out)


def _romanized_russian(word: str) -> str:
    word = word.lower()
    for cyrillic, latin in _RUSSIAN_ASPIRATES:
        word = word.replace(cyrillic, latin)
    return "".join(_CYRILLIC.get(char, char) for char in word)


def skeleton(latin: str) -> str:
    """A romanized word's consonants, with the letters the three scripts confuse made one."""
    word = latin.lower()
    for letters, same in _SKELETON:
        word = word.replace(letters, same)
    return re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouyh\W\d_]", "", word))


_EVERYWHERE = frozenset(skeleton(word) for word in """
pyongyang seoul moscow korea korean russia russian china chinese japan japanese united states america american
north south kim dprk kcna yonhap tass ria interfax reuters ap president minister ministry leader state media news
agency kremlin beijing tokyo washington the monday tuesday wednesday thursday friday saturday sunday january
february march april may june july august september october november december""".split())
_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z\-]{2,}")
_ENGLISH_NAME = re.compile(r"(?<!^)\b([A-Z][a-z]+|[A-Z]{3,}[a-z]?|[A-Z]-?\d+[A-Z]*)")
_ACRONYM = re.compile(r"\b[A-Z]{3,}[a-z]?\b|\b[A-Z]-?\d+[A-Z]*\b")
_RUSSIAN_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([А-ЯЁ][а-яё]+|[A-Za-z][A-Za-z\-]{2,})")


def _title_case(headline: str) -> bool:
    words = [word for word in re.findall(r"[A-Za-z]+", headline) if len(word) > 3]
    return bool(words) and sum(word[0].isupper() for word in words) >= 0.6 * len(words)


def names(title: str, summary: str, lang: str) -> frozenset[str]:
    """The skeletons of the names a report may give: English and Russian capitalised words not opening a
    sentence (of a headline in title case, as KCNA's English ones, only the acronyms: "Receives" is no name),
    every Korean word (Korean has no capitals) without its particle but a verb, Latin words in Korean copy."""
    found = set()
    if lang == "en" and _title_case(title):
        found.update(skeleton(acronym) for acronym in _ACRONYM.findall(title))
        title = ""
    text = f"{title}. {summary}"
    if lang == "ko":
        for word in re.findall(r"[가-힣]+", text):
            if word.endswith(_KOREAN_PREDICATES):
                continue
            for ending in _KOREAN_ENDINGS:
                if word.endswith(ending) and len(word) > len(ending) + 1:
                    word = word[:-len(ending)]
                    break
            if len(word) >= 2:
                found.add(skeleton(_romanized_korean(word)))
        found.update(skeleton(word) for word in _LATIN_NAME.findall(text))
    elif lang == "ru":
        found.update(skeleton(_romanized_russian(word) if "А" <= word[0] <= "я" or word[0] == "Ё" else word)
                     for word in _RUSSIAN_NAME.findall(text))
    else:
        found.update(skeleton(word) for word in _ENGLISH_NAME.findall(text))
    return frozenset(name for name in found if len(name) >= 3 and name not in _EVERYWHERE)


# The countries a headline names, as actors or places: English words and pairs, Russian stems, Korean words,
# the one-syllable names Korean headlines join ("중러", "한미일", "북러", "조로") and the Chinese characters.
_ENGLISH_COUNTRIES = {"russia": "ru", "russian": "ru", "moscow": "ru", "china": "cn", "chinese": "cn",
                      "beijing": "cn", "us": "us", "u.s.": "us", "american": "us", "washington": "us", "japan": "jp",
                      "japanese": "jp", "tokyo": "jp", "dprk": "kp", "pyongyang": "kp", "seoul": "kr"}
_ENGLISH_PAIRS = {("south", "korea"): "kr", ("s.", "korea"): "kr", ("south", "korean"): "kr",
                  ("s.", "korean"): "kr", ("north", "korea"): "kp", ("n.", "korea"): "kp",
                  ("north", "korean"): "kp", ("n.", "korean"): "kp", ("united", "states"): "us"}
_RUSSIAN_COUNTRIES = (("росси", "ru"), ("москв", "ru"), ("кита", "cn"), ("пекин", "cn"), ("американ", "us"),
                      ("вашингтон", "us"), ("япони", "jp"), ("японск", "jp"), ("токио", "jp"), ("пхеньян", "kp"),
                      ("северокорейск", "kp"), ("южнокорейск", "kr"), ("сеул", "kr"))
_RUSSIAN_WORDS = {"рф": "ru", "кнр": "cn", "сша": "us", "кндр": "kp", "рк": "kr"}
_KOREAN_COUNTRIES = (("러시아", "ru"), ("로씨야", "ru"), ("모스크바", "ru"), ("중국", "cn"), ("베이징", "cn"), ("미국", "us"),
                     ("워싱턴", "us"), ("일본", "jp"), ("도쿄", "jp"), ("북한", "kp"), ("평양", "kp"), ("한국", "kr"),
                     ("서울", "kr"))
_KOREAN_SYLLABLES = {"중": "cn", "러": "ru", "한": "kr", "미": "us", "일": "jp", "북": "kp", "조": "kp", "로": "ru",
                     "남": "kr"}
_KOREAN_PARTICLES = ("은", "는", "이", "가", "을", "를", "의", "에", "와", "과", "도")
_HANJA = {"北": "kp", "中": "cn", "美": "us", "日": "jp", "韓": "kr", "露": "ru", "南": "kr"}
_COUNTRY_WORD = re.compile(r"[a-z][a-z.]*|[а-я]+|[가-힣]+")


def countries(headline: str) -> frozenset[str]:
    """The countries a headline names (ISO codes)."""
    found = {country for char, country in _HANJA.items() if char in headline}
    words = _COUNTRY_WORD.findall(headline.lower().replace("ё", "е"))
    for i, word in enumerate(words):
        following = words[i + 1].rstrip(".,'s") if i + 1 < len(words) else ""
        if word[0] <= "z":
            bare = word if word in ("u.s.", "s.", "n.") else word.rstrip(".")
            if bare in _ENGLISH_COUNTRIES:
                found.add(_ENGLISH_COUNTRIES[bare])
            if (word, following) in _ENGLISH_PAIRS:
                found.add(_ENGLISH_PAIRS[(word, following)])
        elif "а" <= word[0] <= "я":
            found.update(country for stem, country in _RUSSIAN_COUNTRIES if word.startswith(stem))
            if word in _RUSSIAN_WORDS:
                found.add(_RUSSIAN_WORDS[word])
            if following.startswith("коре") and word in ("южная", "южной", "южную", "северная", "северной"):
                found.add("kr" if word.startswith("юж") else "kp")
        else:
            found.update(country for name, country in _KOREAN_COUNTRIES if name in word)
            core = word[:-1] if len(word) > 2 and word.endswith(_KOREAN_PARTICLES) else word
            if 2 <= len(core) <= 3 and all(syllable in _KOREAN_SYLLABLES for syllable in core):
                found.update(_KOREAN_SYLLABLES[syllable] for syllable in core)
    return frozenset(found)


# The beat's institutions, places and drills that the wires translate rather than transliterate ("State Duma",
# "국가두마", "Госдума"; "military demarcation line", "군사분계선", "демаркационная линия"), so that no skeleton of
# ``names`` matches across scripts: each with how English, Korean and Russian copy writes it (regular
# expressions on the lower-cased title and summary). Places that are transliterated (Wonsan, Kursk, Vladivostok)
# are written here too, for their Korean and Russian forms with endings and the KCNA spellings.
INSTITUTIONS: dict[str, tuple[str, ...]] = {
    "State Duma": (r"\bstate duma\b", r"\bduma\b", r"russia's lower house", "국가두마", r"러(시아)?\s?하원", "госдум",
                   r"государственн\w* дум"),
    "Federation Council": (r"federation council", r"russia's upper house", "연방평의회", r"러(시아)?\s?상원",
                           r"совет\w* федерации", "совфед"),
    "Supreme People's Assembly": (r"supreme people's assembly", r"\bspa\b", "최고인민회의", r"верховн\w* народн\w* собрани",
                                  r"\bвнс\b"),
    "the inter-Korean border (MDL, DMZ)": (r"military demarcation line", r"\bmdl\b", r"demilitari[sz]ed zone",
                                           r"\bdmz\b", "군사분계선", "비무장지대", r"демаркационн\w* лини",
                                           r"демилитаризованн\w* зон", r"\bдмз\b"),
    "Freedom Shield": (r"freedom shield", r"\bu?fs\b", r"\bulchi\b", r"자유의\s?방패", "을지", r"щит\w* свободы",
                       r"\bыльчи\b"),
    "Freedom Edge": (r"freedom edge", r"프리덤\s?에지", r"фридом эдж"),
    "Vostok": (r"\bvostok\b", "보스토크", r"восток-\s?20\d\d", r"[«\"]восток"),
    "UN Security Council": (r"(?<!russia's )(?<!russian )security council(?! of (the )?russia)", "안보리", "안전보장이사회",
                            r"совет\w* безопасности оон", r"\bсб оон", r"совбез\w* оон"),
    "Kursk": (r"\bkursk", "쿠르스크", "꾸르스크", "курск"),
    "Wonsan": (r"\bwonsan", "원산", "вонсан"),
    "Kalma": (r"\bkalma", "갈마", "кальма"),
    "Vladivostok": (r"vladivostok", "블라디보스토크", "블라디보스톡", "울라지보스또크", "владивосток"),
    "Sohae": (r"\bsohae", r"tongchang", "서해위성발사장", "동창리", r"сохэ", r"тончхан"),
}
_INSTITUTION_PATTERNS = tuple((name, re.compile("|".join(patterns))) for name, patterns in INSTITUTIONS.items())


def institutions(text: str) -> frozenset[str]:
    """The beat's institutions, places and drills a text names, in any of the three languages."""
    lowered = text.lower().replace("ё", "е")
    return frozenset(name for name, pattern in _INSTITUTION_PATTERNS if pattern.search(lowered))


# What a headline quotes is what someone said (김여정 "을지 연습은 대결 광기" is her statement, not the drill).
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”|‘[^’]*’')


@dataclass(frozen=True)
class Anchors:
    """The numbers, names and institutions a report gives (title and summary), the countries its headline
    names, and the institutions its headline names outside what it quotes (``headline_institutions``)."""

    numbers: frozenset[float]
    names: frozenset[str]
    countries: frozenset[str]
    institutions: frozenset[str] = frozenset()
    headline_institutions: frozenset[str] = frozenset()

    @classmethod
    def of(cls, title: str, summary: str, lang: str | None) -> Anchors:
        return cls(numbers(f"{title}. {summary}"), names(title, summary, lang or "en"), countries(title),
                   institutions(f"{title}. {summary}"), institutions(_QUOTED.sub(" ", title)))


def anchors_shared(a: Anchors, b: Anchors) -> bool:
    """Whether two reports give a number, a name or an institution in common, or their headlines two or more
    countries."""
    return bool(a.numbers & b.numbers or a.names & b.names or a.institutions & b.institutions
                or len(a.countries & b.countries) >= 2)
