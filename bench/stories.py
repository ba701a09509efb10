"""Cross-language stories: the share of same-event pairs grouped and of different-event pairs merged.

Over the 120 hand-written pairs of tests/data/story_pairs.jsonl (issue 16): for each pair, item a is stored
and item b arrives; the product's own ``stories.cluster`` decides whether b joins a's story. Reported on
the half the thresholds were tuned on (pair id hashes even) and on the held-out half, overall and per
language pair; then the encoder's cost (model load, items/s on titles + lead, peak RSS).

    .venv/bin/python bench/stories.py
"""

from __future__ import annotations

import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from story_pairs import load_pairs  # noqa: E402

from newswatch import stories  # noqa: E402


def main() -> None:
    pairs = load_pairs()
    started = time.perf_counter()
    stories._use()
    load = time.perf_counter() - started
    texts = [stories._meaning_text(item) for pair in pairs for item in (pair.a, pair.b)]
    started = time.perf_counter()
    stories.encode(texts)
    rate = len(texts) / (time.perf_counter() - started)
    results = [(pair, pair.grouped()) for pair in pairs]
    print("| pairs | same-event grouped | different-event merged |")
    print("|---|---|---|")
    for half, chosen in (("tuning half", True), ("held-out half", False)):
        _rows(half, [(p, g) for p, g in results if p.tuning == chosen])
    _rows("all", results)
    _rows("cross-language", [(p, g) for p, g in results if p.a.lang != p.b.lang])
    by_languages: defaultdict[str, list] = defaultdict(list)
    for pair, grouped in results:
        by_languages[pair.languages].append((pair, grouped))
    for languages in sorted(by_languages):
        _rows(languages, by_languages[languages])
    print()
    for pair, grouped in results:
        if grouped != pair.same_event:
            print(f"{'missed' if pair.same_event else 'MERGED'}: {pair.id} {pair.languages} "
                  f"({'tuning' if pair.tuning else 'held out'})")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nencoder: load {load:.2f} s, {rate:.0f} items/s (title + {stories._LEAD_CHARS} characters of lead, "
          f"2 threads), peak RSS of this process {rss:.0f} MB")


def _rows(name: str, results: list) -> None:
    same = [g for p, g in results if p.same_event]
    different = [g for p, g in results if not p.same_event]
    print(f"| {name} | {_share(same)} | {_share(different)} |")


def _share(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)} = {100 * sum(flags) / len(flags):.0f} %" if flags else "—"


if __name__ == "__main__":
    main()
