"""The keyword baseline: the boolean queries a Google-Alerts user would type for each topic."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

_RUSSIA = r"\b(russia|russian|moscow|kremlin|putin|lavrov|shoigu)\b"
_DPRK = r"\b(north korea|north korean|pyongyang|dprk|kim jong[- ]un)\b"
_DRILL = r"\b(drills?|exercises?|freedom shield|ulchi|freedom edge|joint patrol)\b"
_ALLY = r"\b(us|u\.s\.|united states|south korea|seoul|japan|korean peninsula|trilateral|combined|joint)\b"
QUERIES = {
    "russia_dprk": [_RUSSIA, _DPRK],
    "alliance_drills": [_DRILL, _ALLY],
}


def keyword_predict(texts: Sequence[str], topics: Sequence[str]) -> np.ndarray:
    """1 where every clause of the topic's query matches (AND of ORs), case-insensitive; one column per
    topic of ``topics`` (each one of ``QUERIES``)."""
    compiled = {t: [re.compile(q, re.IGNORECASE) for q in QUERIES[t]] for t in topics}
    return np.array([[int(all(p.search(text) for p in compiled[t])) for t in topics] for text in texts])
