"""Language detection and encoding detection at ingest (issue 16.1, 16.5): what they cost next to feedparser.

    .venv/bin/python bench/language.py [--repeat 20]

* ``language()`` on the 319 items of ../shared/eval/dev.jsonl + dev-ml.jsonl (title + summary): agreement
  with the sets' languages (dev: English; dev-ml: its ``lang`` field) and items/s, against
  ``feedparser.parse`` of the same items written as one RSS feed, in the same run (a ratio, since this
  machine is shared and noisy);
* the encoding step (``parsers.rss.readable``) on that feed in UTF-8 (nothing to do) and in EUC-KR / KOI8-R
  with no declaration (charset-normalizer detects), as a share of feedparser's time on the same bytes.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import statistics
import time
from pathlib import Path

import feedparser

from newswatch.normalize import language
from newswatch.parsers.rss import readable

SHARED = Path(os.environ.get("NEWSWATCH_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "eval"


def records() -> list[dict]:
    return [{"lang": "en", **json.loads(line)} for name in ("dev.jsonl", "dev-ml.jsonl")
            for line in (SHARED / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def rss(items: list[dict]) -> str:
    entries = "".join(f"<item><title>{html.escape(r['title'])}</title><guid>g{n}</guid>"
                      f"<description>{html.escape(r.get('summary', ''))}</description></item>"
                      for n, r in enumerate(items))
    return f'<rss version="2.0"><channel><title>bench</title>{entries}</channel></rss>'


def timed(function, repeat: int) -> float:
    """Median seconds of one call over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    repeat = parser.parse_args().repeat
    if not (SHARED / "dev-ml.jsonl").exists():
        raise SystemExit(f"{SHARED}/dev.jsonl and dev-ml.jsonl are needed (set $NEWSWATCH_SHARED to the shared folder)")
    items = records()
    language("warm", "up")  # the model loads once per process (reported separately below)

    detected = [language(r["title"], r.get("summary", "")) for r in items]
    right = sum(d == r["lang"] for d, r in zip(detected, items))
    by_lang = {lang: f"{sum(d == lang for d, r in zip(detected, items) if r['lang'] == lang)}/"
                     f"{sum(r['lang'] == lang for r in items)}" for lang in sorted({r["lang"] for r in items})}
    print(f"language(): {right}/{len(items)} agree with the sets ({', '.join(f'{k} {v}' for k, v in by_lang.items())})")

    body = rss(items).encode("utf-8")
    feedparser_s = timed(lambda: feedparser.parse(body), repeat)
    language_s = timed(lambda: [language(r["title"], r.get("summary", "")) for r in items], repeat)
    print(f"feedparser.parse: {len(items) / feedparser_s:,.0f} items/s; language(): {len(items) / language_s:,.0f} "
          f"items/s = {language_s / feedparser_s:.2f} of feedparser's time")

    for encoding, subset in (("utf-8", items), ("euc-kr", [r for r in items if r["lang"] == "ko"]),
                             ("koi8-r", [r for r in items if r["lang"] == "ru"])):
        encoded = rss(subset).encode(encoding, errors="replace")
        parse_s = timed(lambda: feedparser.parse(encoded), repeat)
        settle_s = timed(lambda: readable(encoded, {"Content-Type": "application/rss+xml"}), repeat)
        print(f"encoding step, {encoding} undeclared ({len(encoded) // 1024} KiB): {settle_s * 1000:.1f} ms = "
              f"{settle_s / parse_s:.2f} of feedparser's time on the same bytes")


if __name__ == "__main__":
    main()
