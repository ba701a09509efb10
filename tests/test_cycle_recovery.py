"""The store is the queue: whatever a cycle stored is classified, owed and delivered exactly once, wherever the
process died, whatever filled up, whichever model scores it next (loopback feeds, webhook and SMTP channels)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest
from click.testing import CliRunner

from newswatch.cli import main
from newswatch.config import load_settings
from newswatch.cycle import classify_backlog, deliver, ingest, run_cycle
from newswatch.clock import utcnow
from newswatch.models import Item, Prediction
from newswatch.store import Store

from synthetic_feeds import write_distinct_feeds
from conftest import TAGGED_AT, scores_by

LABEL_LINE = re.compile(r"newswatch label (\d+) ")


def messages_per_item(bodies: list[str]) -> Counter:
    """How many messages name each item (an entry's label command carries the item id)."""
    return Counter(item_id for body in bodies for item_id in {int(i) for i in LABEL_LINE.findall(body)})


def configure(tmp_path, urls, webhook, smtp_server, extra=""):
    feeds = "".join(f'[[feeds]]\nurl = "{url}"\nname = "Feed {i}"\n' for i, url in enumerate(urls))
    path = tmp_path / "newswatch.toml"
    path.write_text(f"""allow_private_addresses = true
{extra}
{feeds}
[[channels]]
name = "pager"
url = "{webhook.apprise_url()}"
mode = ["immediate"]
immediate_threshold = 0.5

[[channels]]
name = "mail"
url = "{smtp_server.apprise_url()}"
""")
    return path


def owed_items(store):
    """(item ids with a topic score >= 0.5, item ids the model tagged), by any prediction."""
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("select item_id, scores, tags from predictions").all()
    immediate = {item_id for item_id, scores, _ in rows if max(json.loads(scores).values()) >= 0.5}
    tagged = {item_id for item_id, _, tags in rows if json.loads(tags)}
    return immediate, tagged


def test_a_run_killed_after_storing_items_leaves_them_owed_and_the_next_run_alerts_each_once(
        data_dir, seed_models, feed_server, smtp_server, webhook, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    names = write_distinct_feeds(feed_server.root, count=4)
    slow = feed_server.route("slow.xml", body="<rss version='2.0'><channel><title>s</title></channel></rss>",
                             delay=60)
    config = configure(tmp_path, [feed_server.url(n) for n in names] + [slow], webhook, smtp_server)
    database = load_settings(config).database_url.removeprefix("sqlite:///")

    child = subprocess.Popen([sys.executable, "-m", "newswatch", "run", "--config", str(config)], env=os.environ,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    stored = 0
    while time.monotonic() < deadline and stored < 12:  # the fast feeds are stored; the slow one holds the run
        time.sleep(0.1)
        try:
            with sqlite3.connect(database) as conn:
                stored = conn.execute("select count(*) from items").fetchone()[0]
        except sqlite3.OperationalError:
            pass  # not migrated yet
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL and stored == 12
    with sqlite3.connect(database) as conn:
        assert conn.execute("select count(*) from predictions").fetchone()[0] == 0

    feed_server.route("slow.xml", body="<rss version='2.0'><channel><title>s</title></channel></rss>")
    rerun = CliRunner().invoke(main, ["run", "--config", str(config)], catch_exceptions=False)
    assert rerun.exit_code == 0, rerun.output
    assert "12 classified" in rerun.output

    store = Store.open(load_settings(config).database_url)
    immediate, tagged = owed_items(store)
    store.close()
    assert immediate and tagged, "the distinct feeds carry items on both topics"
    alerts = messages_per_item([post.json()["message"] for post in webhook.wait_for(1)])
    digests = messages_per_item([mail.get_body(("plain",)).get_content() for mail in smtp_server.wait_for(1)])
    assert alerts == Counter(immediate) and digests == Counter(tagged)  # each exactly once


def test_a_full_disk_for_digest_copies_loses_no_alert_and_stops_no_delivery(
        database_url, data_dir, seed_models, feed_server, smtp_server, webhook, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    names = write_distinct_feeds(feed_server.root, count=2)
    config = configure(tmp_path, [feed_server.url(n) for n in names], webhook, smtp_server)
    (data_dir / "digests").write_text("not a directory: writing a digest copy here fails as a full disk does")

    first = CliRunner().invoke(main, ["run", "--config", str(config)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "digest copy not written (nothing owed was lost)" in first.output
    assert "alerts: 2 sent" in first.output
    store = Store.open(database_url)
    immediate, tagged = owed_items(store)
    store.close()
    alerts = messages_per_item([post.json()["message"] for post in webhook.wait_for(1)])
    assert alerts == Counter(immediate) and immediate
    assert messages_per_item([m.get_body(("plain",)).get_content() for m in smtp_server.wait_for(1)]) == Counter(tagged)

    (data_dir / "digests").unlink()  # space freed: the next run owes nothing again
    again = CliRunner().invoke(main, ["run", "--config", str(config)], catch_exceptions=False)
    assert "alerts: 0 sent" in again.output and len(webhook.wait_for(2, timeout=0.5)) == 1


class KeywordModel:
    """A stand-in model with a version of its own: a new model version in service."""

    def __init__(self, version: str):
        self.version = version
        self.thresholds = TAGGED_AT

    def predict_items(self, items):
        return [Prediction({"russia_dprk": 0.95, "alliance_drills": 0.0}, ("russia_dprk",)) if "Putin" in item.title
                else Prediction({"russia_dprk": 0.0, "alliance_drills": 0.0}, ()) for item in items]


@pytest.mark.parametrize("processes", [0, 2])
def test_every_new_item_is_scored_in_the_cycle_that_stored_it_whatever_the_limit(
        processes, database_url, data_dir, feed_server, smtp_server, webhook, tmp_path):
    """... by the cycle's process or, with more batches than worker processes, by forked workers: the same scores."""
    names = write_distinct_feeds(feed_server.root, count=5)
    settings = load_settings(configure(tmp_path, [feed_server.url(n) for n in names], webhook, smtp_server,
                                       extra=f"[fetch]\nparse_processes = {processes}"))
    store = Store.open(database_url)
    ingest(settings, store)
    classified = classify_backlog(settings, store, KeywordModel("v1"), limit=4, batch=3)
    assert (classified.scored, classified.backlog) == (15, 0)
    scores = {item.title: scores["russia_dprk"] for item, scores in scores_by(store, "v1")}
    assert len(scores) == 15 and all(score == (0.95 if "Putin" in title else 0.0) for title, score in scores.items())
    assert len(classified.matches) == 5
    store.close()


def test_a_queue_shorter_than_its_limit_leaves_no_backlog_to_count(database_url, data_dir, feed_server, smtp_server,
                                                                    webhook, tmp_path, monkeypatch):
    """Counting what a model has not scored reads every stored item (about 0.5 s a cycle over a million): a cycle
    whose queue held fewer items than it could take knows none is left without it."""
    names = write_distinct_feeds(feed_server.root, count=2)
    settings = load_settings(configure(tmp_path, [feed_server.url(n) for n in names], webhook, smtp_server))
    store = Store.open(database_url)
    ingest(settings, store)
    counted: list[str] = []
    count = store.count_unscored_by
    monkeypatch.setattr(store, "count_unscored_by", lambda version: counted.append(version) or count(version))
    assert classify_backlog(settings, store, KeywordModel("v1"), limit=100).backlog == 0 and counted == []
    assert classify_backlog(settings, store, KeywordModel("v2"), limit=2).backlog == 4 and counted == ["v2"]
    store.close()


def test_a_new_model_rescores_the_store_over_several_cycles_and_alerts_nothing_twice(
        database_url, data_dir, feed_server, smtp_server, webhook, tmp_path):
    names = write_distinct_feeds(feed_server.root, count=5)
    settings = load_settings(configure(tmp_path, [feed_server.url(n) for n in names], webhook, smtp_server))
    store = Store.open(database_url)
    report = run_cycle(settings, store, KeywordModel("v1"))
    assert (report.items_new, report.classified.scored, report.classified.backlog) == (15, 15, 0)
    assert report.delivery.sent == 2
    before = (len(webhook.wait_for(1)), len(smtp_server.wait_for(1)))

    fresh = KeywordModel("v2")
    first = classify_backlog(settings, store, fresh, limit=4, batch=3)
    assert (first.scored, first.backlog) == (4, 11)
    while classify_backlog(settings, store, fresh, limit=4).backlog:
        pass
    assert store.count_unscored_by("v2") == 0
    assert deliver(store, settings, fresh.thresholds).sent == 0
    assert (len(webhook.wait_for(2, timeout=0.5)), len(smtp_server.wait_for(2, timeout=0.5))) == before == (1, 1)

    # an item stored and left unscored (a killed run) goes before the new model's re-scoring of old items
    [feed_id] = store.sync_feeds(settings.feeds[:1]).values()
    [late] = store.insert_new(feed_id, [Item(key="url:https://late.example/1", title="Putin meets Kim again",
                                             url="https://late.example/1")], utcnow())
    assert [item.id for item in store.classification_queue("v3", 2).items] == [late.id, 1]
    store.close()
