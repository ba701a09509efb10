"""Ingestion benchmark: the product's fetch → parse → normalize → store path against a bare loop.

    .venv/bin/python bench/ingest.py [--feeds 200] [--items 50] [--runs 3] [--cycle] [--topic-share 1.0]

A loopback server (its own process, so its memory is not counted) serves synthetic RSS feeds of
realistic size with ETag/Last-Modified. Each run, on a fresh SQLite database:

* cycle 1: every feed is new;
* cycle 2: half the feeds changed (10 new items each), half unchanged (the product gets 304s);

and, over the same feeds, a bare loop of ``requests.get`` + ``feedparser.parse`` (no validators,
nothing stored). Prints the median wall time and items/s of each, their ratio, the peak RSS of
this process and the peak private memory of the product's feed-parsing worker processes. With ``--cycle`` the product side is the whole cycle ``newswatch run`` runs
(``cycle.run_cycle``: ingest, then classification of every new item by the seed model and its alerts),
with the model trained once beforehand and copied into each run's fresh data dir. Every item is a word salad of the
topics' words unless ``--topic-share`` says what share is (the rest are of other news): the seed model tags about nine
in ten of them, the worst case for the why-terms, the alerts and the digest copy.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import http.server
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import feedparser
import requests

from newswatch import app
from newswatch.config import load_settings
from newswatch.cycle import ingest, run_cycle
from newswatch.store import Store

WORDS = ("north korea russia pyongyang moscow seoul treaty summit missile launch drills exercise alliance "
         "navy army minister talks sanctions trade energy grain artillery shells satellite border envoy "
         "delegation cooperation statement officials said week month state media agency report analysts").split()


OTHER_WORDS = ("market shares bank inflation rates league match season coach striker festival film album concert "
               "weather storm rain flood election council mayor school hospital doctors patients company startup "
               "software phone court judge police museum tourism airline prices housing farmers harvest").split()
"""The rest of a real stream: news of neither topic (``--topic-share``)."""


def sentence(rng: random.Random, n: int, words: tuple[str, ...] | list[str] = WORDS) -> str:
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


def feed_xml(feed: int, version: int, items: int, topic_share: float = 1.0) -> bytes:
    """One feed: ``items`` entries, the newest ``10 * version`` of them new in that version; ``topic_share`` of them
    (by chance) word salads of the topics' words, the rest of other news's."""
    rng = random.Random(feed * 1000 + version)
    first = version * 10
    entries = []
    for n in range(first, first + items):
        item_rng = random.Random(feed * 100_000 + n)
        words = WORDS if item_rng.random() < topic_share else OTHER_WORDS
        title = sentence(item_rng, item_rng.randint(8, 14), words)
        summary = "".join(f"<p>{sentence(item_rng, item_rng.randint(15, 30), words)}</p>"
                          for _ in range(item_rng.randint(2, 4)))
        published = email.utils.formatdate(1_700_000_000 + n * 600 + feed, usegmt=True)
        entries.append(
            f"<item><title>{title}</title><link>https://outlet{feed}.example/news/{n}?utm_source=rss</link>"
            f"<guid isPermaLink=\"false\">outlet{feed}-{n}</guid><pubDate>{published}</pubDate>"
            f"<category>{rng.choice(WORDS)}</category>"
            f"<description><![CDATA[{summary}]]></description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {feed}</title>'
            f"<link>https://outlet{feed}.example/</link><description>Synthetic feed {feed}</description>"
            + "".join(entries) + "</channel></rss>").encode()


def serve(port_queue: multiprocessing.Queue, feeds: int, items: int,  # type: ignore[type-arg]
          topic_share: float = 1.0) -> None:
    """The loopback server: /feed/<n> with validators, /cycle/<c> to switch cycles; its own process."""
    cache: dict[tuple[int, int], tuple[bytes, str]] = {}
    for feed in range(feeds):
        for version in (0, 1):
            body = feed_xml(feed, version, items, topic_share)
            cache[(feed, version)] = (body, '"' + hashlib.sha1(body).hexdigest() + '"')

    state = {"cycle": 1}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY, as real servers set it: headers and body leave in two writes, and with Nagle's algorithm the
        # body's last segment waited for the client's delayed ACK, 40 ms per response of a keep-alive connection,
        # which the sequential bare loop paid 200 times and the product's threads hid
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            kind, number = self.path.strip("/").split("/")
            if kind == "cycle":
                state["cycle"] = int(number)
                self.send_response(204)
                self.end_headers()
                return
            feed = int(number)
            # cycle 2 changes the odd feeds (10 new items each); the even ones answer 304
            version = 1 if state["cycle"] == 2 and feed % 2 else 0
            body, etag = cache[(feed, version)]
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def urls(port: int, feeds: int) -> list[str]:
    return [f"http://127.0.0.1:{port}/feed/{n}" for n in range(feeds)]


def start_cycle(port: int, cycle: int) -> None:
    requests.get(f"http://127.0.0.1:{port}/cycle/{cycle}", timeout=10).raise_for_status()


def product_cycle(config: Path, store: Store, whole_cycle: bool) -> int:
    settings = load_settings(config, env={})
    if whole_cycle:
        return sum(len(outcome.new_items) for outcome in run_cycle(settings, store, app.current_model(settings)).feeds)
    return sum(len(outcome.new_items) for outcome in ingest(settings, store))


def write_config(directory: Path, feed_urls: list[str], workers: int) -> Path:
    config = directory / "newswatch.toml"
    # one loopback host serves every feed here, so the per-host limit is raised to the pool size
    config.write_text(f'allow_private_addresses = true\ndata_dir = "{directory}"\n'
                      f"[fetch]\nmax_workers = {workers}\nper_host = {workers}\n"
                      + "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feed_urls))
    return config


def seed_models(directory: Path) -> Path:
    """The seed model, trained once (as a first ``newswatch run`` would) outside the timings."""
    app.current_model(load_settings(write_config(directory, [], 1), env={}))
    return directory / "models"


def children(parent: int) -> set[int]:
    """A process's child processes (Linux's /proc)."""
    return {int(pid) for task in Path(f"/proc/{parent}/task").iterdir()
            for pid in (task / "children").read_text().split()}


def private_mib(pid: int) -> float:
    """What a process holds that no other shares (its pages not shared with the process that forked it)."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().split()
    return sum(int(rollup[rollup.index(field) + 1]) for field in ("Private_Clean:", "Private_Dirty:")) / 1024


def _watch(parent: int, before: set[int], stop: "multiprocessing.synchronize.Event",
           peaks_out: "multiprocessing.Queue[dict[int, float]]") -> None:  # type: ignore[name-defined]
    peaks: dict[int, float] = {}
    while not stop.wait(0.5):
        for pid in children(parent) - before:
            try:
                peaks[pid] = max(peaks.get(pid, 0.0), private_mib(pid))
            except (OSError, ValueError):  # it ended between the listing and the reading
                pass
    peaks_out.put(peaks)


class WorkerMemory:
    """The peak private memory of each child process started while it watches (the product's parsing workers).

    It watches from a process of its own: a thread of the measuring process reading /proc five times a second took
    the GIL from the product's threads, about 8 % of a first cycle's wall time, which the bare loop did not pay."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self._stop = multiprocessing.Event()
        self._peaks: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        self._watcher = multiprocessing.Process(target=_watch, daemon=True,
                                                args=(os.getpid(), children(os.getpid()), self._stop, self._peaks))

    def __enter__(self) -> "WorkerMemory":
        self._watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.peaks = {pid: mib for pid, mib in self._peaks.get(timeout=30).items() if pid != self._watcher.pid}
        self._watcher.join()


def run_product(port: int, feeds: int, workers: int, models: Path | None,
                memory: WorkerMemory) -> tuple[float, int, float, int]:
    with memory, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = write_config(directory, urls(port, feeds), workers)
        if models is not None:
            shutil.copytree(models, directory / "models")
        store = Store.open(f"sqlite:///{directory / 'bench.db'}")
        try:
            start_cycle(port, 1)
            started = time.perf_counter()
            first_items = product_cycle(config, store, models is not None)
            first = time.perf_counter() - started
            start_cycle(port, 2)
            started = time.perf_counter()
            second_items = product_cycle(config, store, models is not None)
            second = time.perf_counter() - started
        finally:
            store.close()
    return first, first_items, second, second_items


def run_bare(port: int, feeds: int) -> tuple[float, int, float, int]:
    results = []
    for cycle in (1, 2):
        start_cycle(port, cycle)
        started = time.perf_counter()
        count = 0
        with requests.Session() as session:
            for url in urls(port, feeds):
                count += len(feedparser.parse(session.get(url, timeout=30).content).entries)
        results += [time.perf_counter() - started, count]
    return tuple(results)  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8, help="fetch.max_workers (and per_host) for the product")
    parser.add_argument("--cycle", action="store_true", help="time the whole cycle, classification and alerts included")
    parser.add_argument("--topic-share", type=float, default=1.0,
                        help="share of items about the topics (the rest: other news); 1.0, every item, is the worst case"
                             " for classification (why-terms) and the digest")
    args = parser.parse_args()
    if not 0.0 <= args.topic_share <= 1.0:
        parser.error(f"--topic-share is a share of the items, from 0 to 1, not {args.topic_share:g}")
    models_home = tempfile.TemporaryDirectory()
    models = seed_models(Path(models_home.name)) if args.cycle else None

    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve, args=(queue, args.feeds, args.items, args.topic_share), daemon=True)
    server.start()
    port = queue.get(timeout=120)
    size = len(feed_xml(0, 0, args.items, args.topic_share))
    print(f"{args.feeds} feeds x {args.items} items, {size / 1024:.0f} KiB per feed; {args.runs} runs; "
          f"product workers {args.workers}; product = {'the whole cycle' if args.cycle else 'ingest'}; "
          f"topic share {args.topic_share:g}", flush=True)
    product, bare = [], []
    memory = []
    try:
        for run in range(args.runs):
            bare.append(run_bare(port, args.feeds))
            memory.append(WorkerMemory())
            product.append(run_product(port, args.feeds, args.workers, models, memory[-1]))
            print(f"run {run + 1}: product {product[-1][0]:.2f}s / {product[-1][2]:.2f}s, "
                  f"bare {bare[-1][0]:.2f}s / {bare[-1][2]:.2f}s", flush=True)
    finally:
        server.terminate()
        models_home.cleanup()

    def median(rows: list[tuple[float, int, float, int]], column: int) -> float:
        return statistics.median(row[column] for row in rows)

    for cycle, (time_col, items_col) in (("cycle 1 (all new)", (0, 1)), ("cycle 2 (half 304)", (2, 3))):
        p_time, b_time = median(product, time_col), median(bare, time_col)
        p_items, b_items = median(product, items_col), median(bare, items_col)
        print(f"{cycle}: product {p_time:.2f}s ({p_items:.0f} new items stored, {p_items / p_time:.0f} items/s) | "
              f"bare loop {b_time:.2f}s ({b_items:.0f} items parsed, {b_items / b_time:.0f} items/s) | "
              f"ratio of medians {p_time / b_time:.2f}, median of per-run ratios "
              f"{statistics.median(p[time_col] / b[time_col] for p, b in zip(product, bare)):.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the measuring process: {peak:.0f} MiB (Python {sys.version.split()[0]})")
    workers_peak = max((peak for run in memory for peak in run.peaks.values()), default=0.0)
    print(f"parsing workers: {max(len(run.peaks) for run in memory) // 2} a cycle, each at most {workers_peak:.0f} MiB "
          "of its own (pages not shared with the measuring process)")


if __name__ == "__main__":
    main()
