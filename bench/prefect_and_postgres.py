"""Benchmarks of issue 5: Prefect's overhead on a monitoring cycle, and worker throughput on PostgreSQL.

    .venv/bin/python bench/prefect_and_postgres.py overhead   [--feeds 200] [--repeats 3]
    .venv/bin/python bench/prefect_and_postgres.py throughput [--feeds 1000] [--workers 1 2 4]

Synthetic feeds (3 items each, one per topic and one neither) are written to a temp dir and served by
the tests' loopback HTTP server; the seed-trained model is trained once and copied into each data dir.
overhead: the same fresh cycle through `run_cycle` (the core) and through the `monitor` flow (Prefect
ephemeral API, one task per feed), alternating, median of the repeats, ratio flow/direct.
throughput: N `newswatch run` processes at once over disjoint shards of the feeds, store on a fresh
PostgreSQL database; wall time from start to the last exit (process start-up included), feeds/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import POSTGRES_SERVER, FeedServer  # noqa: E402  (the tests' loopback server)
from synthetic_feeds import feeds_config, write_feeds  # noqa: E402


def seed_models(root: Path) -> Path:
    from newswatch import app
    from newswatch.config import load_settings

    app.current_model(load_settings(env={"NEWSWATCH_HOME": str(root / "seed")}))
    return root / "seed" / "models"


def fresh_home(root: Path, models: Path, name: str) -> Path:
    home = root / name
    shutil.copytree(models, home / "models")
    return home


def overhead(feeds: int, repeats: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="nw-bench-"))
    os.environ.update(PREFECT_HOME=str(root / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      PREFECT_LOGGING_LEVEL="ERROR")
    os.environ.pop("PREFECT_API_URL", None)
    server = FeedServer(root / "www")
    names = write_feeds(server.root, feeds)
    config = root / "newswatch.toml"
    config.write_text(feeds_config([server.url(n) for n in names]))
    models = seed_models(root)

    from flows.monitor import monitor
    from newswatch import app
    from newswatch.config import load_settings
    from newswatch.cycle import run_cycle

    def direct(home: Path) -> None:
        settings = load_settings(config, env={"NEWSWATCH_HOME": str(home)})
        store = app.open_store(settings)
        try:
            run_cycle(settings, store, app.current_model(settings))
        finally:
            store.close()

    def through_prefect(home: Path) -> None:
        os.environ["NEWSWATCH_HOME"] = str(home)
        monitor(str(config))

    through_prefect(fresh_home(root, models, "warm-up"))  # starts the ephemeral API once, outside the timing
    times: dict[str, list[float]] = {"direct": [], "flow": []}
    for repeat in range(repeats):
        for name, run in (("direct", direct), ("flow", through_prefect)):
            home = fresh_home(root, models, f"{name}-{repeat}")
            started = time.perf_counter()
            run(home)
            times[name].append(time.perf_counter() - started)
            print(f"{name} #{repeat + 1}: {times[name][-1]:.2f}s", flush=True)
    direct_s, flow_s = statistics.median(times["direct"]), statistics.median(times["flow"])
    print(f"overhead over {feeds} feeds: direct {direct_s:.2f}s, flow {flow_s:.2f}s (medians of {repeats}), "
          f"ratio flow/direct {flow_s / direct_s:.3f}")
    server.close()
    shutil.rmtree(root, ignore_errors=True)


def throughput(feeds: int, workers: list[int]) -> None:
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="nw-bench-"))
    server = FeedServer(root / "www")
    names = write_feeds(server.root, feeds)
    urls = [server.url(n) for n in names]
    models = seed_models(root)
    for count in workers:
        database = f"newswatch_bench_{os.getpid()}_{count}"
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        url = f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+psycopg://', 1)}/{database}"
        home = fresh_home(root, models, f"workers-{count}")
        configs = []
        for shard in range(count):
            config = root / f"w{count}-{shard}.toml"
            config.write_text(feeds_config(urls[shard::count]))
            configs.append(config)
        env = {**os.environ, "NEWSWATCH_HOME": str(home), "NEWSWATCH_DATABASE_URL": url}
        subprocess.run([sys.executable, "-c", "from newswatch.config import load_settings; "
                        "from newswatch.store import Store; Store.open(load_settings().database_url).close()"],
                       env=env, check=True)  # migrate once, outside the timing
        started = time.perf_counter()
        runs = [subprocess.Popen([sys.executable, "-m", "newswatch", "run", "--config", str(c)], env=env,
                                 stdout=subprocess.PIPE, text=True) for c in configs]
        outputs = [run.communicate()[0] for run in runs]
        elapsed = time.perf_counter() - started
        with psycopg.connect(f"{POSTGRES_SERVER}/{database}") as conn:
            stored = conn.execute("select count(*) from items").fetchone()[0]
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        assert all(run.returncode == 0 for run in runs), outputs
        cycle = max(float(line.split()[1].rstrip("s")) for out in outputs for line in out.splitlines()
                    if line.startswith("took "))
        print(f"{count} worker(s): {feeds} feeds, {stored} items in {elapsed:.1f}s wall "
              f"({feeds / elapsed:.1f} feeds/s; slowest cycle {cycle:.1f}s without start-up)", flush=True)
    server.close()
    shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="bench", required=True)
    over = sub.add_parser("overhead", help="monitor flow vs run_cycle on the same fresh cycle")
    over.add_argument("--feeds", type=int, default=200)
    over.add_argument("--repeats", type=int, default=3)
    thr = sub.add_parser("throughput", help="1, 2, 4 worker processes on PostgreSQL")
    thr.add_argument("--feeds", type=int, default=1000)
    thr.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    if args.bench == "overhead":
        overhead(args.feeds, args.repeats)
    else:
        throughput(args.feeds, args.workers)


if __name__ == "__main__":
    main()
