"""Whole-process wall time of `newswatch --help` and `newswatch label …`, median of N runs, against a baseline.

    python bench/cli_startup.py [--rounds 5] [--baseline /path/to/other/checkout]

Runs are interleaved (baseline, this checkout, interpreter alone) so that the load of this shared machine
falls on all of them alike; the ratios are the figures to compare across runs. ``label`` labels an item of a
fresh store in a temporary data dir (one stored item), so it times the real path: config, store, one write.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def prepare_home(home: Path) -> None:
    """A data dir with one stored item (id 1) to label."""
    code = ("from datetime import datetime, timezone\n"
            "from newswatch.config import load_settings\nfrom newswatch.models import Feed, Item\n"
            "from newswatch.store import Store\n"
            "now = datetime.now(timezone.utc)\n"
            "with Store.open(load_settings().database_url) as store:\n"
            "    feed = Feed('https://bench.example/rss', 'Bench')\n"
            "    store.insert_new(store.sync_feeds([feed])[feed.url], [Item(key='b1', title='Kim meets Putin')], now)\n")
    home.mkdir(parents=True)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=home,
                   env={**os.environ, "NEWSWATCH_HOME": str(home), "PYTHONPATH": str(HERE)})


def timed(args: list[str], root: Path | None, home: Path) -> float:
    env = {**os.environ, "NEWSWATCH_HOME": str(home)}
    if root is not None:
        env["PYTHONPATH"] = str(root)
    started = time.perf_counter()
    # cwd: the data dir, not a checkout (python -m puts the cwd first on sys.path)
    subprocess.run([sys.executable, *args], env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout of newswatch (e.g. a worktree of main)")
    options = parser.parse_args()
    commands = {"--help": ["-m", "newswatch", "--help"],
                "label": ["-m", "newswatch", "label", "1", "russia_dprk", "yes", "--author", "bench"]}
    roots = {"this checkout": HERE, **({"baseline": options.baseline} if options.baseline else {})}
    with tempfile.TemporaryDirectory() as tmp:
        homes = {name: Path(tmp) / name.replace(" ", "_") for name in roots}
        for home in homes.values():
            prepare_home(home)
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(options.rounds):
            times.setdefault(("python -c pass", ""), []).append(timed(["-c", "pass"], None, Path(tmp)))
            for command, args in commands.items():
                for name, root in roots.items():
                    times.setdefault((command, name), []).append(timed(args, root, homes[name]))
    load = os.getloadavg()[0]
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {options.rounds} rounds, load average {load:.1f}")
    interpreter = statistics.median(times[("python -c pass", "")])
    for (command, name), values in times.items():
        median = statistics.median(values)
        ratio = f"  ({median / interpreter:.1f}x the bare interpreter)" if command != "python -c pass" else ""
        print(f"{command:<16} {name:<14} median {median:6.2f} s  runs {' '.join(f'{v:.2f}' for v in values)}{ratio}")


if __name__ == "__main__":
    main()
