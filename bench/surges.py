"""Replay benchmark of surge alerts: synthetic bursts planted in a realistic background, replayed cycle by cycle.

A fresh SQLite store holds 21 days of scored items from 12 outlets: a background of tagged and untagged items
arriving as a Poisson process with a day/night rhythm, some stories syndicated by a second outlet, and, in
the last 7 days, planted bursts: stories that 5 outlets report within 40 minutes, and topic bursts (15 extra
tagged items within 50 minutes). Then a cycle every 5 minutes over those 7 days calls the product's own
``alerts.owe_surges`` with that moment as ``now`` (queries only see items up to it), and the outbox rows it
owed are read back: which planted bursts fired, how long after the N-th source each story alert came (at
most one cycle by design), and how many surges fired that were not planted (false surges per day).

    .venv/bin/python bench/surges.py            # --seed 1 --cycle-minutes 5
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from newswatch.alerts import owe_surges
from newswatch.config import load_settings
from newswatch.models import Feed, Item, Prediction
from newswatch.store import Store
from newswatch.store.schema import outbox

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAYS, REPLAY_DAYS = 21, 7
SOURCES = ["Yonhap", "KCNA", "TASS", "RIA", "Interfax", "Kommersant", "NK News", "Reuters", "AP", "Chosun",
           "Hankyoreh", "KBS"]
RATES = {"russia_dprk": 0.6, "alliance_drills": 0.3, None: 6.0}
"""Background items per hour at the daily average (tagged per topic; None: about neither)."""
TAGGED_AT = {"russia_dprk": 0.5, "alliance_drills": 0.5}
"""The thresholds the synthetic predictions tag at (a tagged topic scores 0.9, the rest 0.1)."""


def prediction(topic: str | None) -> Prediction:
    scores = {"russia_dprk": 0.1, "alliance_drills": 0.1}
    if topic:
        scores[topic] = 0.9
    return Prediction(scores=scores, tags=(topic,) if topic else ())


def arrivals(rng: random.Random, rate_per_hour: float, start: datetime, days: int) -> list[datetime]:
    """Poisson arrivals with a day/night rhythm: the rate swings ±50 % around its mean, highest at Seoul noon
    (thinning: candidates at the peak rate, each kept with the ratio of the rate at its time to the peak)."""
    out, t = [], 0.0
    while t < days * 24:
        t += rng.expovariate(rate_per_hour * 1.5)
        when = start + timedelta(hours=t)
        seoul_hour = (when.hour + when.minute / 60 + 9) % 24
        if rng.random() < (1 + 0.5 * math.cos((seoul_hour - 12) / 24 * 2 * math.pi)) / 1.5:
            out.append(when)
    return [w for w in out if w < start + timedelta(days=days)]


def build(store: Store, rng: random.Random) -> tuple[dict[int, datetime], list[datetime]]:
    """Fill the store; return the planted story bursts (story id → when its 3rd source reported) and the
    starts of the planted topic bursts."""
    feed_ids = store.sync_feeds([Feed(f"https://{s.lower().replace(' ', '-')}.example/rss", s) for s in SOURCES])
    by_source = dict(zip(SOURCES, feed_ids.values()))
    counter = iter(range(10**9))

    def put(source: str, topic: str | None, when: datetime, story: int | None = None) -> int:
        n = next(counter)
        [item] = store.insert_new(by_source[source], [Item(key=f"k{n}", title=f"item {n} about {topic}",
                                                           url=f"https://x.example/{n}", published=when)], when)
        assert item.id is not None
        if story is not None:
            store.set_stories({item.id: story})
        store.save_predictions("bench", [(item, prediction(topic))], when)
        return item.id

    for topic, rate in RATES.items():
        for when in arrivals(rng, rate, START, DAYS):
            first = put(rng.choice(SOURCES), topic, when)
            if topic and rng.random() < 0.3:  # syndicated: a second outlet carries it within three hours
                later = when + timedelta(minutes=rng.uniform(10, 180))
                if later < START + timedelta(days=DAYS):
                    put(rng.choice(SOURCES), topic, later, story=first)
    replay_start = START + timedelta(days=DAYS - REPLAY_DAYS)
    planted: dict[int, datetime] = {}
    for n in range(8):
        when = replay_start + timedelta(hours=rng.uniform(2, REPLAY_DAYS * 24 - 3))
        outlets = rng.sample(SOURCES, 5)
        times = sorted(when + timedelta(minutes=rng.uniform(0, 40)) for _ in outlets)
        first = put(outlets[0], "russia_dprk" if n % 2 else "alliance_drills", times[0])
        for source, at in zip(outlets[1:], times[1:]):
            put(source, None if rng.random() < 0.3 else "russia_dprk" if n % 2 else "alliance_drills", at, story=first)
        planted[first] = times[2]
    topic_bursts = []
    for n in range(3):
        hour = (replay_start + timedelta(hours=rng.randrange(24, REPLAY_DAYS * 24 - 2))).replace(minute=0)
        topic_bursts.append(hour)
        for _ in range(15):
            put(rng.choice(SOURCES), "russia_dprk", hour + timedelta(minutes=rng.uniform(5, 55)))
    return planted, topic_bursts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cycle-minutes", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        config = Path(home) / "newswatch.toml"
        config.write_text('[[channels]]\nname = "breaking"\nurl = "json://localhost"\nmode = ["surge"]\n')
        settings = load_settings(config, env={"NEWSWATCH_HOME": home})
        with Store.open(settings.database_url) as store:
            started = time.perf_counter()
            planted, topic_bursts = build(store, random.Random(args.seed))
            with store.engine.connect() as conn:
                stored = conn.execute(sa.text("select count(*) from items")).scalar()
            print(f"store: {stored} items over {DAYS} days, built in {time.perf_counter() - started:.1f}s")
            now = START + timedelta(days=DAYS - REPLAY_DAYS)
            cycles, spent = 0, []
            while now < START + timedelta(days=DAYS):
                began = time.perf_counter()
                owe_surges(store, settings, now, TAGGED_AT)
                spent.append(time.perf_counter() - began)
                cycles += 1
                now += timedelta(minutes=args.cycle_minutes)
            with store.engine.connect() as conn:
                owed = conn.execute(sa.select(outbox.c.dedupe_key, outbox.c.created_at)).all()
    story_alerts = {int(key.rsplit("-", 1)[1]): at for key, at in owed if key.startswith("surge-story-")}
    topic_alerts = [key for key, _ in owed if key.startswith("surge-topic-")]
    fired = [story for story in planted if story in story_alerts]
    latencies = [(story_alerts[s] - planted[s]).total_seconds() / 60 for s in fired]
    planted_hours = {f"surge-topic-russia_dprk-{hour:%Y%m%d%H}" for hour in topic_bursts}
    false_stories = len(set(story_alerts) - set(planted))
    false_topics = len(set(topic_alerts) - planted_hours)
    print(f"replay: {cycles} cycles every {args.cycle_minutes:g} min over {REPLAY_DAYS} days; "
          f"owe_surges median {statistics.median(spent) * 1000:.0f} ms, max {max(spent) * 1000:.0f} ms")
    print(f"story bursts planted {len(planted)}, alerted {len(fired)}; latency after the 3rd source: "
          f"median {statistics.median(latencies):.1f} min, max {max(latencies):.1f} min")
    print(f"topic bursts planted {len(topic_bursts)}, alerted {len(planted_hours & set(topic_alerts))}")
    print(f"false surges: {false_stories} story + {false_topics} topic = "
          f"{(false_stories + false_topics) / REPLAY_DAYS:.2f} per day")
    return 0


if __name__ == "__main__":
    sys.exit(main())
