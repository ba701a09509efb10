"""Freshness benchmark: how long an item waits between appearing in its feed and its immediate alert being owed.

Twenty loopback feeds publish on a seeded timetable: 4 busy ones (an item every ~3 minutes, Poisson) and 16
quiet ones (~4 items a day), on three hosts (127.0.0.1 serves 2 busy + 6 quiet feeds, 127.0.0.2 and 127.0.0.3
one busy + 5 quiet each). Each feed serves its last 20 items with ETag/304 support. The product's own
``cycle.ingest`` runs with a passed-in virtual clock, cycles back to back:

- before: every feed fetched every 15 minutes (the old schedule: ``ingest`` of every feed every 900 s);
- after: the scheduled cycle every 60 s with ``due_only`` (adaptive polling, default [fetch] settings).

A cycle classifies the items it stored and owes their immediate alerts in the same cycle (backlog
permitting), so an item's alert is owed at the virtual time of the cycle that stored it: the delay is
that time minus the item's publication time. The first simulated hour warms the feeds' rates up and is not
counted. Requests per host per hour count every GET (200 and 304).

    .venv/bin/python bench/freshness.py            # --hours 2 --seed 1
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from newswatch.config import load_settings
from newswatch.cycle import ingest
from newswatch.store import Store

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
WARM_UP = timedelta(hours=1)
HOSTS = {"127.0.0.1": (2, 6), "127.0.0.2": (1, 5), "127.0.0.3": (1, 5)}
"""Host → (busy feeds, quiet feeds) it serves."""
BUSY_GAP, QUIET_GAP = 180.0, 6 * 3600.0
"""Mean seconds between two items of a busy and of a quiet feed."""


class Timetable:
    """Every feed's publication times, and the virtual now that decides what each feed shows."""

    def __init__(self, seed: int, hours: float):
        rng = random.Random(seed)
        self.now = START
        self.published: dict[str, list[datetime]] = {}
        self.kind: dict[str, str] = {}
        for host, (busy, quiet) in HOSTS.items():
            for i in range(busy + quiet):
                kind = "busy" if i < busy else "quiet"
                path, t, times = f"/{kind}{i}.xml", -86400.0, []  # a day of history before the start
                while t < hours * 3600:
                    t += rng.expovariate(1 / (BUSY_GAP if kind == "busy" else QUIET_GAP))
                    times.append(START + timedelta(seconds=t))
                self.published[host + path], self.kind[host + path] = times, kind

    def feed(self, key: str) -> tuple[str, str]:
        shown = [t for t in self.published[key] if t <= self.now][-20:]
        items = "".join(f"<item><title>{key} {t:%d %H%M%S.%f}</title><link>http://{key}/{t.timestamp()}</link>"
                        f"<pubDate>{format_datetime(t)}</pubDate></item>" for t in reversed(shown))
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{key}</title>{items}</channel></rss>'
        return body, hashlib.sha1(body.encode()).hexdigest()[:16]


def serve(host: str, timetable: Timetable, requests: Counter) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            requests[host] += 1
            body, etag = timetable.feed(host + self.path)
            if self.headers.get("If-None-Match") == f'"{etag}"':
                self.send_response(304)
                self.end_headers()
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", f'"{etag}"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def simulate(schedule: str, seed: int, hours: float, workdir: Path) -> dict:
    timetable = Timetable(seed, hours + WARM_UP.total_seconds() / 3600)
    requests: Counter = Counter()
    servers = {host: serve(host, timetable, requests) for host in HOSTS}
    feeds = "".join(f'[[feeds]]\nname = "{key}"\nurl = "http://{key.split("/")[0]}:{servers[key.split("/")[0]].server_port}'
                    f'/{key.split("/", 1)[1]}"\n' for key in timetable.published)
    config = workdir / f"{schedule}.toml"
    config.write_text(f'allow_private_addresses = true\ndata_dir = "{workdir / schedule}"\n{feeds}')
    settings = load_settings(config, env={})
    store = Store.open(f"sqlite:///{workdir / schedule}.sqlite")
    every, due_only = (900, False) if schedule == "before" else (60, True)
    owed: dict[str, datetime] = {}  # item link → virtual time its alert was owed
    requests_after_warm_up: Counter = Counter()
    started = time.monotonic()
    end = START + WARM_UP + timedelta(hours=hours)
    while timetable.now < end:
        before = Counter(requests)
        for outcome in ingest(settings, store, clock=lambda: timetable.now, due_only=due_only):
            for item in outcome.new_items:
                owed.setdefault(item.url or "", timetable.now)
        if timetable.now >= START + WARM_UP:
            requests_after_warm_up.update(requests - before)
        timetable.now += timedelta(seconds=every)
    store.close()
    for server in servers.values():
        server.shutdown()
        server.server_close()
    delays: dict[str, list[float]] = {"busy": [], "quiet": []}
    for key, times in timetable.published.items():
        for t in times:
            if START + WARM_UP <= t < end - timedelta(minutes=15):  # items the last cycles could still miss
                when = owed.get(f"http://{key}/{t.timestamp()}")
                delays[timetable.kind[key]].append((when - t).total_seconds() if when else float("inf"))
    return {"delays": delays, "per_host_hour": {h: n / hours for h, n in requests_after_warm_up.items()},
            "seconds": time.monotonic() - started}


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=2.0, help="Simulated hours counted (after a 1 h warm-up).")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: simulate(name, args.seed, args.hours, Path(tmp)) for name in ("before", "after")}
    print(f"{args.hours:g} simulated hours after a 1 h warm-up, seed {args.seed}")
    print("schedule | busy median / p90 delay (s) | quiet median / p90 delay (s) | GETs per host per hour | wall s")
    for name, result in results.items():
        d = result["delays"]
        hosts = ", ".join(f"{h} {n:.0f}" for h, n in sorted(result["per_host_hour"].items()))
        print(f"{name} | {statistics.median(d['busy']):.0f} / {quantile(d['busy'], 0.9):.0f} (n={len(d['busy'])}) | "
              f"{statistics.median(d['quiet']):.0f} / {quantile(d['quiet'], 0.9):.0f} (n={len(d['quiet'])}) | "
              f"{hosts} | {result['seconds']:.0f}")
    busy_after = statistics.median(results["after"]["delays"]["busy"])
    print(f"busy median after: {busy_after:.0f} s (goal ≤ 120 s): {'met' if busy_after <= 120 else 'NOT met'}")


if __name__ == "__main__":
    main()
