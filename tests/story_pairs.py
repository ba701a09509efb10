"""The hand-written story pairs of tests/data/story_pairs.jsonl, as the test and bench/stories.py read them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newswatch.models import Item
from newswatch.stories import Encoder, cluster, encode

PAIRS = Path(__file__).parent / "data" / "story_pairs.jsonl"


@dataclass(frozen=True)
class Pair:
    id: str
    a: Item
    b: Item
    same_event: bool

    @property
    def languages(self) -> str:
        return "–".join(sorted({self.a.lang, self.b.lang})) if self.a.lang != self.b.lang else f"{self.a.lang}–{self.a.lang}"

    @property
    def tuning(self) -> bool:
        """The half the thresholds were tuned on (pair id hashes even); the other half is held out."""
        return int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % 2 == 0

    def grouped(self, encoder: Encoder = encode) -> bool:
        """Whether clustering puts b (new) in a's story (a already stored)."""
        return cluster([self.a], [self.b], encoder)[2] == 1


def _item(item_id: int, raw: dict) -> Item:
    return Item(key=f"k{item_id}", title=raw["title"], summary=raw["summary"], id=item_id, lang=raw["lang"],
                published=datetime.fromisoformat(raw["published"]))


def load_pairs() -> list[Pair]:
    pairs = []
    for line in PAIRS.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        pairs.append(Pair(raw["id"], _item(1, raw["a"]), _item(2, raw["b"]), raw["same_event"]))
    return pairs
