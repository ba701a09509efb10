"""Cross-language stories: the share of same-event pairs grouped and of different-event pairs merged.

Over the 120 hand-written pairs of tests/data/story_pairs.jsonl (issue 16): for each pair, item a is stored
and item b arrives; the product's own ``stories.cluster`` decides whether b joins a's story. Reported on
the half the thresholds were tuned on (pair id hashes even) and on the held-out half, overall and per
language pair; then the encoder's cost: model load (with the first text encoded), items/s on titles and on
title + lead, each against feedparser parsing the same items as RSS (the bare ingest loop's per-item work,
measured in the same run: this box is shared and noisy), and peak RSS.

    .venv/bin/python bench/stories.py
"""

from __future__ import annotations

import html
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import feedparser  # noqa: E402
from story_pairs import load_pairs  # noqa: E402

from newswatch import stories  # noqa: E402


def main() -> None:
    pairs = load_pairs()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    stories.encode(["warm-up"])
    load = time.perf_counter() - started
    items = [item for pair in pairs for item in (pair.a, pair.b)]
    parse_rate = _feedparser_rate(items)
    rates = {}
    for name, texts in (("titles", [item.title for item in items]),
                        (f"title + {stories._LEAD_CHARS} characters of lead", list(map(stories._meaning_text, items)))):
        started = time.perf_counter()
        stories.encode(texts)
        rates[name] = len(texts) / (time.perf_counter() - started)
    results = [(pair, pair.grouped()) for pair in pairs]
    print("| pairs | same-event grouped | different-event merged |")
    print("|---|---|---|")
    for half, chosen in (("tuning half", True), ("held-out half", False)):
        _rows(half, [(p, g) for p, g in results if p.tuning == chosen])
    _rows("all", results)
    cross = [(p, g) for p, g in results if p.a.lang != p.b.lang]
    _rows("cross-language", cross)
    _rows("cross-language, tuning half", [(p, g) for p, g in cross if p.tuning])
    _rows("cross-language, held-out half", [(p, g) for p, g in cross if not p.tuning])
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
    print(f"\nencoder (2 threads): load + first text {load:.2f} s; feedparser parses {parse_rate:.0f} items/s")
    for name, rate in rates.items():
        print(f"  {name}: {rate:.0f} items/s = {parse_rate / rate:.1f}x feedparser's time per item")
    print(f"peak RSS {rss:.0f} MB ({rss_before:.0f} MB before the encoder loaded)")


def _feedparser_rate(items: list) -> float:
    entries = "".join(f"<item><title>{html.escape(i.title)}</title><link>https://example.org/{n}</link>"
                      f"<description>{html.escape(i.summary)}</description></item>" for n, i in enumerate(items))
    document = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{entries}</channel></rss>'
    started = time.perf_counter()
    parsed = feedparser.parse(document.encode("utf-8"))
    assert len(parsed.entries) == len(items)
    return len(items) / (time.perf_counter() - started)


def _rows(name: str, results: list) -> None:
    same = [g for p, g in results if p.same_event]
    different = [g for p, g in results if not p.same_event]
    print(f"| {name} | {_share(same)} | {_share(different)} |")


def _share(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)} = {100 * sum(flags) / len(flags):.0f} %" if flags else "—"


if __name__ == "__main__":
    main()
