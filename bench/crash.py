"""Crash benchmark (issue 14): SIGKILL `newswatch run` at random moments, then let it finish; nothing lost,
nothing doubled.

    .venv/bin/python bench/crash.py [--kills 50] [--feeds 12] [--seed 14] [--database-url URL]

A loopback corpus (the tests' feed server, aiosmtpd SMTP server and webhook receiver): ``--feeds`` RSS feeds
whose items are each their own story; every round adds one new item to every feed, so each run has fetching,
storing, classifying and sending to do. Two channels: "pager" (webhook, immediate alerts at score >= 0.5)
and "mail" (SMTP, a digest every cycle). Each round starts `newswatch run` as a process and SIGKILLs it
after a random delay between 0 and 1.2x the length of an unkilled run. Then the recovery: wait until the
killed runs' feed leases expire, one `newswatch run` (timed), and one delivery pass dated
``STALE_CLAIM`` later (what the next scheduled run does with a message whose process died between the
send and its mark: it is sent again with the same idempotency key).

Reported: items stored vs items served, predictions, immediate alerts per eligible item and digest entries
per tagged item, counted as a receiver that keeps idempotency keys counts them (one webhook post per
``X-Newswatch-Idempotency-Key``, one mail per Message-ID), and the raw copies too. 0 lost and 0 doubled is
the requirement.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import FeedServer, SMTPServer, WebhookReceiver  # noqa: E402  (the tests' loopback servers)
from synthetic_feeds import distinct_title  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from newswatch.store.schema import feeds  # noqa: E402

LABEL_LINE = re.compile(r"newswatch label (\d+) ")
IMMEDIATE_THRESHOLD = 0.5


def write_corpus(root: Path, feeds: int, per_feed: int) -> int:
    """Every feed holding its first ``per_feed`` items; returns how many items are served."""
    for feed in range(feeds):
        entries = []
        for index in range(per_feed):
            n = feed * 1000 + index
            title = escape(distinct_title(n))
            entries.append(f"<item><title>{title}</title><link>https://crash.example/{n}</link>"
                           f"<guid isPermaLink=\"false\">crash-{n}</guid><description>{title}</description></item>")
        (root / f"feed-{feed:03d}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Crash '
            f"{feed}</title><link>https://crash.example/</link><description>d</description>"
            + "".join(reversed(entries)) + "</channel></rss>", encoding="utf-8")
    return feeds * per_feed


def config_text(feed_server: FeedServer, feeds: int, webhook: WebhookReceiver, smtp: SMTPServer, home: Path,
                database_url: str | None) -> str:
    lines = ["allow_private_addresses = true", f'data_dir = "{home}"']
    if database_url:
        lines.append(f'database_url = "{database_url}"')
    lines += ["[fetch]", "deadline = 5.0", "backoff_base = 0.001"]
    for feed in range(feeds):
        lines += ["[[feeds]]", f'url = "{feed_server.url(f"feed-{feed:03d}.xml")}"', f'name = "Crash {feed}"']
    lines += ["[[channels]]", 'name = "pager"', f'url = "{webhook.apprise_url()}"', 'mode = ["immediate"]',
              f"immediate_threshold = {IMMEDIATE_THRESHOLD}", "retry_seconds = 0",
              "[[channels]]", 'name = "mail"', f'url = "{smtp.apprise_url()}"', "retry_seconds = 0"]
    return "\n".join(lines) + "\n"


def run(config: Path, env: dict, kill_after: float | None = None) -> tuple[float, int, str]:
    """One ``newswatch run``, killed after ``kill_after`` seconds if given: (seconds, exit code, what an unkilled run
    wrote to stderr)."""
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "newswatch", "run", "--config", str(config)], env=env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE if kill_after is None else subprocess.DEVNULL, text=True)
    if kill_after is not None:
        try:
            child.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
    _, errors = child.communicate()
    return time.monotonic() - started, child.returncode, errors or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--feeds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--database-url", help="store on this (empty) database instead of a SQLite file")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    from newswatch import app
    from newswatch.clock import utcnow
    from newswatch.config import load_settings
    from newswatch.notify import IDEMPOTENCY_HEADER, STALE_CLAIM, deliver_owed
    from newswatch.store import Store

    root = Path(tempfile.mkdtemp(prefix="crash-bench-"))
    www = root / "www"
    www.mkdir()
    home = root / "home"
    app.current_model(load_settings(env={"NEWSWATCH_HOME": str(root / "seed")}))
    shutil.copytree(root / "seed" / "models", home / "models")
    feed_server, webhook, smtp = FeedServer(www), WebhookReceiver(), SMTPServer().start()
    config = root / "newswatch.toml"
    config.write_text(config_text(feed_server, args.feeds, webhook, smtp, home, args.database_url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    try:
        served = write_corpus(www, args.feeds, 1)
        baseline, code, errors = run(config, env)  # an unkilled run: how long the kill window is
        if code != 0:
            raise SystemExit(f"the unkilled run failed (exit {code}):\n{errors[-2000:]}")
        exits = Counter()
        for round_ in range(args.kills):
            served = write_corpus(www, args.feeds, round_ + 2)
            _, code, _ = run(config, env, kill_after=rng.uniform(0, 1.2 * baseline))
            exits["killed" if code == -signal.SIGKILL else f"exit {code}"] += 1

        settings = load_settings(config, env=env)
        store = Store.open(settings.database_url)
        with store.engine.connect() as conn:
            # through the typed column: SQLite hands a raw query's timestamp back as text
            leases = conn.execute(sa.select(sa.func.max(feeds.c.lease_until))).scalar()
        wait = max(0.0, (leases - utcnow()).total_seconds() + 1) if leases else 0.0
        time.sleep(wait)  # the killed runs' feed leases expire (2x the fetch deadline + 60 s)
        recovery, code, _ = run(config, env)
        later = deliver_owed(store, settings.channels, now=lambda: utcnow() + STALE_CLAIM + timedelta(minutes=1))

        with store.engine.connect() as conn:
            items, distinct = conn.exec_driver_sql("select count(*), count(distinct key) from items").one()
            predicted = conn.exec_driver_sql("select count(distinct item_id) from predictions").scalar()
            rows = conn.exec_driver_sql("select item_id, scores, tags from predictions").all()
            unscored = conn.exec_driver_sql(
                "select count(*) from items where id not in (select item_id from predictions)").scalar()
            statuses = Counter(s for (s,) in conn.exec_driver_sql("select status from outbox"))
        store.close()
        eligible = {i for i, scores, _ in rows if max(json.loads(scores).values()) >= IMMEDIATE_THRESHOLD}
        tagged = {i for i, _, tags in rows if json.loads(tags)}

        posts = webhook.wait_for(0)
        by_key = {post.headers[IDEMPOTENCY_HEADER]: post for post in posts}
        alerts = Counter(i for post in by_key.values() for i in {int(x) for x in LABEL_LINE.findall(post.json()["message"])})
        mails = smtp.messages
        by_id = {mail["Message-ID"]: mail for mail in mails}
        digests = Counter(i for mail in by_id.values()
                          for i in {int(x) for x in LABEL_LINE.findall(mail.get_body(("plain",)).get_content())})

        def lost_doubled(expected: set[int], got: Counter) -> tuple[int, int, int]:
            return (sum(1 for i in expected if got[i] == 0), sum(1 for i in expected if got[i] > 1),
                    sum(1 for i in got if i not in expected))

        print(f"kills: {args.kills} ({dict(exits)}); unkilled run {baseline:.2f} s, kill delays uniform in "
              f"[0, {1.2 * baseline:.2f}] s")
        print(f"items: served {served}, stored {items} ({distinct} distinct keys), predicted {predicted}, "
              f"unscored {unscored}")
        print(f"recovery: waited {wait:.1f} s for leases, `newswatch run` {recovery:.2f} s (exit {code}); "
              f"{later.sent} abandoned claims re-sent a STALE_CLAIM later; outbox {dict(statuses)}")
        lost, doubled, stray = lost_doubled(eligible, alerts)
        print(f"immediate alerts: {len(eligible)} eligible items; per item (by idempotency key) "
              f"{dict(Counter(alerts[i] for i in eligible))}; lost {lost}, doubled {doubled}, unexpected {stray}; "
              f"{len(posts)} posts, {len(by_key)} distinct keys")
        lost_d, doubled_d, stray_d = lost_doubled(tagged, digests)
        print(f"digest entries: {len(tagged)} tagged items; per item (by Message-ID) "
              f"{dict(Counter(digests[i] for i in tagged))}; lost {lost_d}, doubled {doubled_d}, "
              f"unexpected {stray_d}; {len(mails)} mails, {len(by_id)} distinct")
        ok = (items == served == predicted and not (lost or doubled or stray or lost_d or doubled_d or stray_d))
        print("RESULT:", "0 lost, 0 doubled" if ok else "FAILED")
        sys.exit(0 if ok else 1)
    finally:
        feed_server.close()
        webhook.close()
        smtp.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
