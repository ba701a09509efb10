"""Cross-language stories: the share of same-event pairs grouped and of different-event pairs merged.

Over every file of hand-written pairs (``tests/story_pairs.ALL_PAIRS``; tests/data/README.md tells what each holds
and which round it judged before it was tuned on), each marked by whether the shipped learned bar
(``newswatch/stories_bar.json``, ``bench/stories_fit.py``) was fitted on it or it is held out. For each pair, item a
is stored and item b arrives; the product's own ``stories.cluster`` decides whether b joins a's story. Reported per
file, across and within languages and per language pair, with the pairs it gets wrong; then the same pairs when
every distinct report of a file is clustered in one cycle (the many candidates a real cycle gives each item); then
the encoder's cost: model load (with the first text encoded), items/s on titles and on title + lead, each against
feedparser parsing the same items as RSS (the bare ingest loop's per-item work, measured in the same run: this box
is shared and noisy), and peak RSS.

    .venv/bin/python bench/stories.py
"""

from __future__ import annotations

import html
import json
import re
import resource
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import feedparser  # noqa: E402
from story_pairs import ALL_PAIRS, load_pairs  # noqa: E402

from newswatch import stories  # noqa: E402


def main() -> None:
    fitted_on = set(re.findall(r"story_pairs\w*\.jsonl", json.loads(stories._BAR_FILE.read_text())["fitted"]))
    files = {f"{path.stem} ({'the bar was fitted on it' if path.name in fitted_on else 'held out'})": load_pairs(path)
             for path in ALL_PAIRS}
    pairs = [pair for file_pairs in files.values() for pair in file_pairs]
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
    results = {name: [(pair, pair.grouped()) for pair in file_pairs] for name, file_pairs in files.items()}
    print("| pairs | same-event grouped | different-event merged |")
    print("|---|---|---|")
    for name, file_results in results.items():
        _rows(f"**{name}, cross-language**", [(p, g) for p, g in file_results if p.a.lang != p.b.lang])
        by_languages: defaultdict[str, list] = defaultdict(list)
        for pair, grouped in file_results:
            by_languages[pair.languages].append((pair, grouped))
        for languages in sorted(by_languages):
            _rows(f"{name}, {languages}", by_languages[languages])
        _rows(f"{name}, same language", [(p, g) for p, g in file_results if p.a.lang == p.b.lang])
        _rows(f"{name}, all", file_results)
    _rows("**all files, all**", [result for file_results in results.values() for result in file_results])
    for name, file_results in results.items():
        wrong = [f"{'missed' if p.same_event else 'MERGED'} {p.id} {p.languages}"
                 for p, grouped in file_results if grouped != p.same_event]
        print(f"\n{name}: {', '.join(wrong) or 'none wrong'}")
    print("\nEvery report of a file in one cycle (new at once, in publication order; each item meets all the file's "
          "other-language reports of 36 h, not one):\n\n| file | same-event grouped | different-event merged |\n|---|---|---|")
    together = {name: _in_one_cycle(file_pairs) for name, file_pairs in files.items()}
    for name, file_results in together.items():
        _rows(name, file_results)
    _rows("**all files**", [result for file_results in together.values() for result in file_results])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nencoder (2 threads): load + first text {load:.2f} s; feedparser parses {parse_rate:.0f} items/s")
    for name, rate in rates.items():
        print(f"  {name}: {rate:.0f} items/s = {parse_rate / rate:.1f}x feedparser's time per item")
    print(f"peak RSS {rss:.0f} MB ({rss_before:.0f} MB before the encoder loaded)")


def _in_one_cycle(file_pairs: list) -> list:
    """Each pair with whether its two reports share a story when every distinct report of the file is clustered
    at once: the many candidates of a real cycle, where the pairs above meet one candidate each."""
    reports = {}
    for pair in file_pairs:
        for item in (pair.a, pair.b):
            reports.setdefault((item.lang, item.title, item.summary), item)
    ordered = sorted(reports, key=lambda key: reports[key].published)
    number = {key: n for n, key in enumerate(ordered, start=1)}
    story = stories.cluster([], [replace(reports[key], id=number[key], key=f"k{number[key]}") for key in ordered])

    def story_of(item):
        return story[number[(item.lang, item.title, item.summary)]]

    return [(pair, story_of(pair.a) == story_of(pair.b)) for pair in file_pairs]


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
