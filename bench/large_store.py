"""What a cycle and the review page cost as the store grows: a store of N scored items.

    .venv/bin/python bench/large_store.py [--items 1000000] [--database sqlite:////tmp/newswatch-bench/store-1m.db]
                                          [--runs 3] [--per-minute 1000]

Builds the store once (kept and reused while it holds ``--items`` items; on SQLite about 15 s for a million): items of
a realistic size from 40 outlets, a thousand a minute (``--per-minute``: 1 spreads a million over two years, as the
default feeds' 1,000-2,000 items a day would; give it its own ``--database``), 10 % of them Korean and 5 % Russian, each with one prediction by
model version ``v1`` that tags 1 % of them ``russia_dprk`` (scores spread over 0-0.5, tagged ones 0.9-1), written in bulk
through the schema's tables with the search index's insert trigger left out (the trigram index would take most of the
build; search is timed by bench/search.py).

Then times:
- each configured feed's wanted poll interval from its arrivals of the last day (``cycle.wanted_intervals``), which
  every cycle reads for the 40 feeds;
- the cycle's scoring: ``cycle.classify_backlog``, which finds nothing to score, once as the version's first (it reads
  every item once and records the version's progress), and, ``--runs`` times each, what every later cycle runs:
  ``count_never_scored``, ``classification_queue`` (``count_unscored_by`` runs only after a full queue) and
  ``classify_backlog`` itself;
- the review page's and the API's listings, ``--runs`` times each: the inbox's first and twentieth page of stories
  (tagged items, the page's default), one topic, one language, every item, the feeds and languages the inbox offers to
  filter on, the API's first page of items, and the review queue's two store queries (its shortlist of the predictions
  nearest a threshold, the items left to score).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

from newswatch.config import load_settings
from newswatch.cycle import BACKLOG_PER_CYCLE, classify_backlog, wanted_intervals
from newswatch.models import Feed
from newswatch.store import ItemFilter, Store
from newswatch.store.schema import items, model_progress
from newswatch.web.server import PAGE_SIZE as PAGE

VERSION = "v1"
OUTLETS = [Feed(f"https://outlet{n}.example/rss", f"Outlet {n}") for n in range(40)]
SUMMARY = ("Officials said on Tuesday that talks between the two delegations would continue next week, "
           "with trade, energy and transport links on the agenda, according to a statement. ")


def build(store: Store, count: int, per_minute: int) -> None:
    """``count`` items, each scored once by ``VERSION`` (set-based SQL: a million rows in seconds)."""
    store.sync_feeds(OUTLETS)
    numbers = (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
               if store.engine.dialect.name == "sqlite" else "")
    source = "n" if numbers else f"generate_series(1, {count}) AS n(i)"
    minute = (f"datetime('2026-01-01', '+' || (i / {per_minute}) || ' minutes')" if numbers
              else f"timestamp '2026-01-01' + (i / {per_minute}) * interval '1 minute'")
    with store.engine.begin() as conn:
        if numbers:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS items_fts_insert")
        conn.execute(sa.text(
            f"{numbers}INSERT INTO items (key, feed_id, guid, url, title, summary, text, published_at, fetched_at, lang) "
            f"SELECT 'k' || i, 1 + i % 40, 'g' || i, 'https://outlet.example/a/' || i, 'Headline number ' || i, "
            f"'{SUMMARY}' || i, '', {minute}, {minute}, "
            f"CASE WHEN i % 10 = 3 THEN 'ko' WHEN i % 20 = 7 THEN 'ru' ELSE 'en' END FROM {source}"))
        conn.execute(sa.text(
            f"INSERT INTO predictions (item_id, model_version, scores, tags, why, created_at) "
            f"SELECT id, '{VERSION}', "
            # scores spread as a model's are (a tagged item 0.90-0.99, the rest 0.000-0.499), so that ordering by
            # distance to a threshold (the review queue) sorts real values, not two constants
            f"""'{{"russia_dprk": ' || CASE WHEN id % 97 = 0 THEN 0.9 + (id % 100) / 1000.0 ELSE (id % 9973 * 7919 % 500) / 1000.0 END """
            f"""|| ', "alliance_drills": ' || ((id % 9973 * 104729 % 300) / 1000.0) || '}}', """
            f"""CASE WHEN id % 97 = 0 THEN '["russia_dprk"]' ELSE '[]' END, '{{}}', fetched_at FROM items"""))
        each_score = ("json_each_text(p.scores::json) s" if not numbers else "json_each(p.scores) s")
        conn.execute(sa.text(
            "INSERT INTO prediction_scores (item_id, model_version, topic, score) "
            f"SELECT p.item_id, p.model_version, s.key, {'s.value::float' if not numbers else 's.value'} "
            f"FROM predictions p, {each_score}"))
        conn.exec_driver_sql("ANALYZE")


def timed(function, runs: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite:////tmp/newswatch-bench/store-1m.db")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-minute", type=int, default=1000, help="items stored a minute as the store is built")
    args = parser.parse_args()
    store = Store.open(args.database)
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one()
    if stored != args.items:
        if stored:
            raise SystemExit(f"{args.database} holds {stored:,} items, not {args.items:,}: give another --database")
        started = time.perf_counter()
        build(store, args.items, args.per_minute)
        print(f"built {args.items:,} scored items in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "newswatch.toml"
        config.write_text(f'data_dir = "{tmp}"\n'
                          + "".join(f'[[feeds]]\nurl = "{feed.url}"\nname = "{feed.name}"\n' for feed in OUTLETS))
        settings = load_settings(config, env={})
        outlets = store.sync_feeds(OUTLETS)
        with store.engine.connect() as conn:
            last = conn.execute(sa.select(sa.func.max(items.c.fetched_at))).scalar_one()
        seconds, _ = timed(lambda: wanted_intervals(settings, store, outlets, last + timedelta(minutes=1)), args.runs)
        print(f"wanted_intervals, {len(OUTLETS)} feeds (every cycle): {seconds * 1000:.1f} ms")
        model = SimpleNamespace(version=VERSION, thresholds={})  # nothing is left to score: the model never predicts
        with store.engine.begin() as conn:  # as the store was built: the version's progress not recorded yet
            conn.execute(model_progress.delete())
        seconds, _ = timed(lambda: classify_backlog(settings, store, model), 1)
        print(f"classify_backlog, the first of {VERSION} (reads every item once, records how far it has scored): "
              f"{seconds:.2f} s")
        steps = {
            "count_never_scored": store.count_never_scored,
            "classification_queue": lambda: len(store.classification_queue(VERSION, BACKLOG_PER_CYCLE).items),
            "count_unscored_by": lambda: store.count_unscored_by(VERSION),
            "classify_backlog, a later cycle (all of the above)": lambda: classify_backlog(settings, store, model).scored,
        }
        print(f"{args.items:,} items, every one scored by {VERSION}; median of {args.runs} runs")
        for name, step in steps.items():
            seconds, result = timed(step, args.runs)
            print(f"{name}: {seconds * 1000:.1f} ms (returned {result})")
    pages = {
        "inbox, page 1 (tagged)": lambda: store.scored_stories(ItemFilter(tagged=True), limit=PAGE + 1),
        "inbox, page 20 (tagged)": lambda: store.scored_stories(ItemFilter(tagged=True), limit=PAGE + 1, offset=19 * PAGE),
        "inbox, one topic": lambda: store.scored_stories(ItemFilter(topic="russia_dprk", tagged=True), limit=PAGE + 1),
        "inbox, Korean (tagged)": lambda: store.scored_stories(ItemFilter(languages=("ko",), tagged=True),
                                                               limit=PAGE + 1),
        "inbox, every item": lambda: store.scored_stories(ItemFilter(), limit=PAGE + 1),
        "inbox's feed choices (store.feed_rows)": store.feed_rows,
        "inbox's language choices (store.languages)": store.languages,
        "API /api/items, page 1": lambda: store.scored_items(ItemFilter(), limit=51),
        "review queue's shortlist of 600": lambda: store.nearest_thresholds(
            VERSION, {"russia_dprk": 0.3, "alliance_drills": 0.3}, 600),
        "review queue's unscored items": lambda: store.items_unscored_by(VERSION, 2000),
    }
    print(f"the review page's listings; median of {args.runs} runs")
    for name, page in pages.items():
        seconds, result = timed(page, args.runs)
        print(f"{name}: {seconds * 1000:.1f} ms ({len(result)} found)")  # type: ignore[arg-type]
    store.close()


if __name__ == "__main__":
    main()
