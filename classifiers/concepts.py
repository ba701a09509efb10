"""Concepts: which actors and kinds of event a sentence names, found among its hashed word n-grams.

A bag of words cannot say "Russia and North Korea *in the same sentence*" or "a drill *with* an ally";
both topics are relations, and a few hundred seed examples cannot teach a linear model every way the
news names Pyongyang, the Kremlin or Ulchi Freedom Shield. So the names are grouped here into concepts
(after the topic definitions in TOPICS.md), and the classifier's features say where concepts occur
together: in the headline, and in one sentence of the lead. The model learns what each is worth.

The terms are written as the classifier's tokenizer sees text: lower case, words of letters and
digits, punctuation dropped ("U.S." is "u s", "Kim Jong-un" has the bigram "jong un"), so that a
concept is found by looking up hashed columns the n-gram features already computed.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

CONCEPTS: dict[str, tuple[str, ...]] = {
    "Russia": ("russia", "russian", "russians", "russian federation", "moscow", "kremlin", "putin", "lavrov",
               "shoigu", "medvedev", "belousov", "zakharova", "peskov", "soviet", "ussr", "vladivostok",
               "khabarovsk", "rosatom", "roscosmos", "tass"),
    "North Korea": ("north korea", "north korean", "north koreans", "n korea", "n korean", "n k", "nk", "dprk",
                    "pyongyang", "jong un", "yo jong", "son hui", "kpa", "wpk", "workers party", "kcna",
                    "rodong sinmun", "korean people"),
    "US": ("u s", "united states", "washington", "american", "americans", "pentagon", "usfk", "indo pacific",
           "uss", "u s a"),
    "South Korea": ("south korea", "south korean", "south koreans", "s korea", "s korean", "rok", "seoul",
                    "puppet"),
    "Japan": ("japan", "japanese", "tokyo", "self defense", "self defence", "jsdf", "sdf"),
    "China": ("china", "chinese", "beijing", "pla"),
    "drill": ("drill", "drills", "exercise", "exercises", "war game", "war games", "wargame", "wargames",
              "maneuver", "maneuvers", "manoeuvre", "manoeuvres", "joint patrol", "freedom shield", "ulchi",
              "ulji", "foal eagle", "key resolve", "vigilant defense", "vigilant ace", "freedom edge",
              "freedom flag", "ssangyong", "max thunder", "joint sea", "northern interaction"),
    "allied": ("joint", "combined", "trilateral", "allied", "allies", "alliance", "bilateral"),
    "peninsula": ("korean peninsula", "east sea", "yellow sea", "west sea", "korea strait", "jeju",
                  "demilitarized zone", "dmz"),
    "elsewhere": ("europe", "european", "nato", "baltic", "taiwan", "south china", "philippines", "australia",
                  "india", "alaska", "oman", "south africa", "middle east", "mediterranean", "arctic"),
    "missile": ("missile", "missiles", "icbm", "icbms", "ballistic", "launch", "launches", "launched", "fired",
                "artillery"),
    "ties": ("treaty", "pact", "summit", "visit", "visits", "visited", "talks", "delegation", "ambassador",
             "embassy", "cooperation", "partnership", "arms", "munitions", "shells", "troops", "soldiers",
             "sanctions", "trade", "greetings", "message"),
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


@lru_cache(maxsize=8)
def concept_columns(n_features: int) -> sp.csr_matrix:
    """(n_features × concepts): 1 where a hashed column is one of a concept's terms (FeatureHasher's hash)."""
    rows, cols = [], []
    for c, terms in enumerate(CONCEPTS.values()):
        for term in terms:
            rows.append(abs(murmurhash3_32(term, seed=0)) % n_features)
            cols.append(c)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_features, len(NAMES)))


def concept_features(segment_counts: sp.csr_matrix, doc_of_segment: np.ndarray, is_headline: np.ndarray
                     ) -> np.ndarray:
    """Per document, the features of ``feature_names()`` from the hashed n-gram counts of its segments:
    its headline (``is_headline``, one per document) and each sentence of its lead, ``doc_of_segment``
    saying whose."""
    present = (segment_counts @ concept_columns(segment_counts.shape[1])).toarray() > 0  # segments × concepts
    pairs = np.array([present[:, a] & present[:, b] for a, b in PAIRS]).T
    allied_drill = present[:, DRILL] & (present[:, ALLIES].sum(axis=1) >= 2)
    flags = np.hstack([present, pairs, allied_drill[:, None]]).astype(float)
    lead = np.flatnonzero(~is_headline)
    n_docs = int(is_headline.sum())
    in_lead = sp.csr_matrix((np.ones(len(lead)), (doc_of_segment[lead], lead)), shape=(n_docs, len(is_headline)))
    headline, sentences = flags[is_headline], in_lead @ flags  # documents × flags each
    n, p = len(NAMES), len(PAIRS)
    return np.hstack([headline[:, :n], sentences[:, :n] > 0, headline[:, n:n + p], np.log1p(sentences[:, n:n + p]),
                      headline[:, n + p:], np.log1p(sentences[:, n + p:])])
