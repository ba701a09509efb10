"""How the classifier reads English, Korean and Russian text: normalized words, the features taken from
them, and the words a reader would recognise in an explanation.

One analysis for every language, chosen word by word from the script (a Korean item quoting "KCNA"
or a Russian one naming "Freedom Edge" reads both parts right):
- Latin words as written (lower case, accents stripped): the English model was built on them.
- Russian words by their Snowball stem (PyStemmer, the C implementation: "России", "Россией" and
  "Россия" are one feature, "росс"), so a few hundred seed examples cover a language of six cases.
- Korean words (eojeol) without their particle ("러시아와의" → "러시아", "북한이" → "북한"), plus the
  character bigrams and trigrams inside them, because Korean news writes compounds in one word
  ("북러정상회담", "한미연합훈련") and a bag of whole words would never see "북러" or "연합훈" in them.
- Each Chinese character on its own: Korean headlines abbreviate the countries so ("北", "美", "韓").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

# A word is a run of Hangul, one Han character, or a run of other letters and digits (Latin, Cyrillic):
# "北김정은" is "北" and "김정은"; single letters count, so "N. Korea" keeps the pair "n korea".
# (Other letters first: most words are; the three never start on the same character, so the order
# changes nothing found.)
WORD = re.compile(r"[^\W_가-힣\u3400-\u9fff\uf900-\ufaff]+|[가-힣]+|[\u3400-\u9fff\uf900-\ufaff]")
_ASCII_WORD = re.compile(r"[a-zA-Z0-9]+")
"""WORD in ASCII text, where only its last alternative can match: a third faster."""
_HANGUL = re.compile(r"[가-힣]")
_CYRILLIC = re.compile(r"[а-я]")
_STEMMED = re.compile(r"[가-힣а-я]")
"""The letters a stemmed word (Korean, Russian) starts with: a segment without any keeps its surface words."""
_KOREAN_OR_RUSSIAN = re.compile(r"[가-힣а-яА-ЯёЁ]")
_LATIN_ACCENTS = re.compile(r"(?<=[a-z])[\u0300-\u036f]+")

# Korean particles, longest first; a word keeps at least two syllables ("국가" is not "국" + "가").
_PARTICLES = tuple(sorted((
    "은", "는", "이", "가", "을", "를", "과", "와", "의", "에", "로", "으로", "에서", "에게", "에는", "에서는",
    "에서도", "으로는", "로는", "와의", "과의", "와는", "과는", "으로부터", "로부터", "까지", "부터", "보다",
    "처럼", "이라고", "라고", "이다", "이며", "로서", "으로서", "께서", "들", "들이", "들은", "들을", "들의",
), key=len, reverse=True))
# Words whose last syllable looks like a particle and is not one: names and nouns of the news.
_NOT_PARTICLE_ENDINGS = ("김정은", "회의", "주의", "협의", "합의", "논의", "결의", "동의", "모의", "항의", "제의", "건의",
                         "평가", "참가", "증가", "추가", "물가", "주가", "대가", "국가", "문가", "치가", "차이", "사이",
                         "나이", "높이", "해로", "도로", "경로", "항로", "통로", "진로", "대로")

_russian = Stemmer.Stemmer("russian")


# Korean headlines list countries by one syllable between middle dots ("한·미·일", "북·러"); joined,
# they read as the compounds the body writes ("한미일", "북러"), and a lone "일" or "한" stays what it
# mostly is in running text: a date's "day" ("6일") and "one" ("한 관계자").
_SYLLABLE_LIST = re.compile(r"(?<![가-힣])[가-힣](?:[·ㆍ・∙][가-힣])+")
_LIST_DOT = re.compile(r"[·ㆍ・∙]")


def normalize(text: str) -> str:
    """What words are taken from: lower case, Latin accents stripped ("Đà Nẵng" → "đa nang"), ё as е;
    Hangul and Cyrillic (й) kept whole; one-syllable lists joined ("한·미" → "한미")."""
    text = text.lower()
    if text.isascii():
        return text
    if "·" in text or "ㆍ" in text or "・" in text or "∙" in text:
        text = _SYLLABLE_LIST.sub(lambda m: _LIST_DOT.sub("", m.group()), text)
    decomposed = _LATIN_ACCENTS.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFC", decomposed).replace("ё", "е")


@lru_cache(maxsize=65536)
def korean_stem(word: str) -> str:
    """A Korean word without its particle ("러시아와의" → "러시아")."""
    if word.endswith(_NOT_PARTICLE_ENDINGS):
        return word
    for particle in _PARTICLES:
        if word.endswith(particle):  # the longest particle it ends with, or none ("것으로" stays whole)
            return word[: -len(particle)] if len(word) - len(particle) >= 2 else word
    return word


def _analyzed(surface: list[str]) -> list[str]:
    """The feature word of each surface word (same length and order)."""
    words = list(surface)
    # the first letter compared as a code point: what _CYRILLIC.match and _HANGUL.match say, at a
    # fraction of a regular expression call per word
    cyrillic = [i for i, w in enumerate(words) if "а" <= w[0] <= "я"]
    if cyrillic:
        for i, stem in zip(cyrillic, _russian.stemWords([words[i] for i in cyrillic])):
            words[i] = stem
    for i, w in enumerate(words):
        if "가" <= w[0] <= "힣":
            words[i] = korean_stem(w)
    return words


def _stems(segment: str) -> bool:
    """Whether a normalized segment may hold a Korean or Russian word (most English text, curly quotes
    and dashes included, holds none: its surface words are its feature words)."""
    return not segment.isascii() and _STEMMED.search(segment) is not None


def _surface_words(segment: str) -> list[str]:
    return _ASCII_WORD.findall(segment) if segment.isascii() else WORD.findall(segment)


def words(segment: str) -> list[str]:
    """The feature words of a normalized segment, in order."""
    surface = _surface_words(segment)
    return _analyzed(surface) if _stems(segment) else surface


def read_words(segment: str) -> tuple[list[str], list[str]]:
    """The feature words of a normalized segment, in order, and each as a reader finds it in the text (lower case; a
    Korean word without its particle)."""
    surface = _surface_words(segment)
    if not _stems(segment):
        return surface, surface
    return _analyzed(surface), [korean_stem(form) if "가" <= form[0] <= "힣" else form for form in surface]


def ngrams(segment: str) -> list[str]:
    """The features of a normalized segment: its words, word pairs and, inside Korean words, the
    character bigrams and trigrams."""
    tokens = words(segment)
    grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]
    if _stems(segment):
        for token in tokens:
            grams.extend(korean_pieces(token))
    return grams


def korean_pieces(word: str) -> list[str]:
    """The character bigrams and trigrams inside a Korean feature word, features of their own ("북러정상회담" →
    "북러", …); none for another word, and none that is the word itself (a word of two or three is its own
    bi- or trigram)."""
    if len(word) <= 2 or not "가" <= word[0] <= "힣":
        return []
    pieces = [word[i:i + 2] for i in range(len(word) - 1)]
    if len(word) > 3:
        pieces += [word[i:i + 3] for i in range(len(word) - 2)]
    return pieces


def term(phrase: str) -> str:
    """A phrase as the features write it ("Северная Корея" → "северн коре"): how a concept's names
    are written as readers know them and found among the features."""
    return " ".join(words(normalize(phrase)))


_RUSSIAN_ENDINGS = ("а", "у", "е", "ом", "ым", "ой", "ей", "ы", "и", "ого", "ому", "ых", "ими", "ам", "ах", "ами")


def russian_forms(word: str) -> set[str]:
    """The stems of a Russian name in the cases it takes ("Белоусов", "Белоусовым" and "Белоусова"
    have three stems): the word, it with the case endings, and its stem with them."""
    word = normalize(word)
    bases = {word, words(word)[0]} | ({word[:-1]} if word[-1] in "аяоеьйы" else set())
    return {words(base + ending)[0] for base in bases for ending in ("",) + _RUSSIAN_ENDINGS}


# A photo's credit as wire, Korean and Russian captions write it, matched whole: "(AP Photo/Ahn Young-joon)", "(South
# Korea Defense Ministry via AP)", "REUTERS/Kim Hong-Ji/File Photo", "Photographer: Akio Kon/Bloomberg", "…/AFP via
# Getty Images", "(PHOTO NOT FOR SALE) (Yonhap)" (not Yonhap's dateline, "(Yonhap) --"), "[국방부 제공]",
# "[연합뉴스 자료사진]", "(사진=연합뉴스)", "Фото: ТАСС", "© РИА Новости".
_PHOTO_CREDIT = re.compile(
    r"\(AP Photo[^()]{0,80}\)|\([^()]{1,80}\bvia AP\)|\bREUTERS/[A-Z][\w-]*(?: [A-Z][\w-]*){0,2}(?:/File Photo)?"
    r"|\bvia REUTERS\b|\bPhotographer: [^/]{1,60}/\w+|\b(?:AFP |AP )?(?:via )?Getty Images\b"
    r"|\bEPA-EFE/[A-Z][\w-]*(?: [A-Z][\w-]*){0,2}|(?:\(PHOTO NOT FOR SALE\) ?)?\(Yonhap\)(?!\s*[-–—])"
    r"|[(\[](?:사진|자료사진)\s*[=:][^)\]]{0,40}[)\]]|\[[^\]]{0,30}(?:자료사진|제공)\]|Фото: [^.]{0,40}|© [^.]{0,40}")
# What every credit above holds, as literals only: a body without any is passed over at 2 µs, where the credits'
# pattern, tried at every character, takes 40 times that.
_PHOTO_CREDIT_MARK = re.compile(r"AP Photo|via AP\)|REUTERS/|via REUTERS|Photographer: |Getty Images|EPA-EFE/"
                                r"|\(Yonhap\)(?!\s*[-–—])|사진 ?[=:]|자료사진|제공\]|Фото: |© ")
# A sentence that says it shows a photo is a caption whole ("This file photo, taken …, shows …").
_PHOTO_SENTENCE = re.compile(r"\b(?:file photo|this photo|photo shows|photo taken|pictured)\b|자료사진|Фото", re.IGNORECASE)
# An English caption ends with the day the photo was taken, year and all ("…in Gotemba, Japan, on Saturday, May 22,
# 2021."); a report's sentence says "on Tuesday".
_DATED = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, (?:19|20)\d\d\.?[\s\"”]*$")
# Sentence ends, as far as captions need them: not after a month's or a title's abbreviation ("Feb. 19", "U.S. Air
# Force", "Gen. Kim"), and after a Korean credit's bracket ("[국방부 제공] 한미 해병대는…").
_CAPTION_SENTENCE_END = re.compile(r"(?<![\s(][A-Z][a-z]\.)(?<![\s(][A-Z][a-z][a-z]\.)(?<![A-Z]\.[A-Z]\.)(?<=[.!?\]])\s+|\n+")
_A_CAPTION = 6
"""Words before a credit in its sentence that make a caption of their own ("Korea Summit Press Pool/Getty Images"
is a credit only: its caption is the sentence before)."""


def without_captions(body: str) -> str:
    """``body`` without the photo captions a feed's summary carries (the file photo of a joint drill above a
    report on a jet sale): each credit with the caption it closes (the words before it in its sentence, else the
    sentence before) and, in a body holding a credit, each sentence that says it shows a photo or ends with a full
    date. A caption describes the picture, not what the item is about (TOPICS.md)."""
    if not _PHOTO_CREDIT_MARK.search(body) or not _PHOTO_CREDIT.search(body):
        return body
    sentences = _CAPTION_SENTENCE_END.split(body)
    kept = list(sentences)
    for i, sentence in enumerate(sentences):
        credit = _PHOTO_CREDIT.search(sentence)
        if credit:
            before = sentence[: credit.start()]
            if len(before.split()) < _A_CAPTION and i:
                kept[i - 1] = ""
            kept[i] = _PHOTO_CREDIT.sub(" ", sentence[credit.end():])
        elif _PHOTO_SENTENCE.search(sentence) or _DATED.search(sentence):
            kept[i] = ""
    return " ".join(s for s in kept if s.strip())


LANGUAGES = ("en", "ko", "ru")
"""What ``language`` tells apart: the languages the classifier reads."""


def language(text: str) -> str:
    """"ko", "ru" or "en" by the letters of ``text`` (enough to say which language to explain in)."""
    if text.isascii() or not _KOREAN_OR_RUSSIAN.search(text):  # (isascii reads a flag: no scan at all)
        return "en"
    hangul, cyrillic = len(_HANGUL.findall(text)), len(_CYRILLIC.findall(text.lower()))
    if max(hangul, cyrillic) < 3:
        return "en"
    return "ko" if hangul >= cyrillic else "ru"
