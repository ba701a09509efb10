"""How much the issue-4 digest costs against the spine's, on the same data, in the same run.

    .venv/bin/python bench/digest_bench.py [--items 2000] [--runs 7]

Times, median of --runs: (1) the spine's build_digest (read from git `main`, the baseline) and this
branch's build_digest on the same in-memory matches; (2) the digest window query (tagged_between) on
a SQLite file holding those items and predictions. Prints medians and the ratio new/baseline.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

from newswatch.config import DEFAULT_TOPICS
from newswatch.digest import build_digest
from newswatch.models import Feed, Item, Match, Prediction
from newswatch.store import Store

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 5, 4, tzinfo=timezone.utc)
TITLES = {topic.name: topic.title for topic in DEFAULT_TOPICS}


def spine_build_digest():
    source = subprocess.run(["git", "-C", str(REPO), "show", "main:newswatch/digest.py"], check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("newswatch.spine_digest")
    module.__package__ = "newswatch"
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, "main:newswatch/digest.py", "exec"), module.__dict__)
    return module


def sample(n: int) -> list[tuple[Item, Prediction, str]]:
    rows = []
    for i in range(n):
        topic = ("russia_dprk", "alliance_drills")[i % 2]
        item = Item(key=f"k{i}", title=f"Story {i} <b>about</b> {topic}", url=f"https://news.example/{i}",
                    summary="Officials met to discuss munitions, labour and satellite technology. " * 5,
                    published=NOW - timedelta(minutes=i))
        rows.append((item, Prediction({topic: 0.8}, (topic,), {topic: ("pyongyang", "moscow")}), f"Feed {i % 7}"))
    return rows


def seconds(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def interleaved(functions, runs: int) -> list[list[float]]:
    """Run the functions in turn, ``runs`` rounds, so machine noise hits all of them alike."""
    rounds = [[seconds(f) for f in functions] for _ in range(runs)]
    return [list(column) for column in zip(*rounds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    spine = spine_build_digest()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
        rows = sample(args.items)
        stored = store.insert_new(feed_id, [item for item, _, _ in rows], NOW)
        store.save_predictions("m", [(item, p) for item, (_, p, _) in zip(stored, rows)], NOW)
        new_matches = [Match(item, p, source) for item, (_, p, source) in zip(stored, rows)]
        old_matches = [spine.Match(item, p, source) for item, (_, p, source) in zip(stored, rows)]

        baseline, new, window = interleaved([lambda: spine.build_digest(old_matches, TITLES, tz="Asia/Seoul"),
                                             lambda: build_digest(new_matches, TITLES, tz="Asia/Seoul"),
                                             lambda: store.tagged_between(NOW - timedelta(days=1), NOW)], args.runs)
        store.close()
    ratio = lambda times: statistics.median(t / b for t, b in zip(times, baseline))  # noqa: E731
    print(f"items {args.items}, medians of {args.runs} interleaved rounds")
    print(f"build_digest spine (baseline): {statistics.median(baseline) * 1000:8.1f} ms")
    print(f"build_digest issue-4:          {statistics.median(new) * 1000:8.1f} ms  ({ratio(new):.2f}x baseline)")
    print(f"tagged_between window query:   {statistics.median(window) * 1000:8.1f} ms  ({ratio(window):.2f}x baseline)")


if __name__ == "__main__":
    main()
