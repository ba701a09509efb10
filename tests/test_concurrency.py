"""Concurrent writers never duplicate: items are stored once and alerts sent once, on SQLite and PostgreSQL.

Constraints are the guarantee (unique item key, unique outbox channel + digest key); the feed lease and
the outbox claim only keep concurrent runs from doing the same work twice.
"""

import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

from newswatch.models import Feed, Item, Validators
from newswatch.store import Store

from synthetic_feeds import assert_each_tagged_story_mailed_once, feeds_config, write_feeds

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def test_two_processes_running_the_cycle_at_once_store_and_send_everything_once(
        database_url, data_dir, seed_models, feed_server, smtp_server, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    names = write_feeds(feed_server.root, count=24)
    config = tmp_path / "newswatch.toml"
    config.write_text(feeds_config([feed_server.url(n) for n in names], smtp_server.apprise_url()))
    Store.open(database_url).close()  # migrate once up front so the two runs start on equal terms

    command = [sys.executable, "-m", "newswatch", "run", "--config", str(config)]
    runs = [subprocess.Popen(command, env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    store = Store.open(database_url)
    with store.engine.connect() as conn:
        items = conn.exec_driver_sql("select count(*), count(distinct key) from items").one()
        predicted = conn.exec_driver_sql("select count(distinct item_id) from predictions").scalar()
        statuses = [row[0] for row in conn.exec_driver_sql("select status from outbox")]
        tagged = conn.exec_driver_sql(
            "select items.id, items.title, coalesce(items.story_id, items.id) from items"
            " join predictions on predictions.item_id = items.id where tags != '[]'").all()
        taken = [row[0] for row in conn.exec_driver_sql("select item_id from digest_items")]
    store.close()
    assert tuple(items) == (72, 72) and predicted == 72
    assert statuses and set(statuses) == {"sent"}
    assert tagged, "the synthetic feeds carry items on both topics"
    assert {item_id for item_id, _, _ in tagged} <= set(taken), "every tagged item was owed to the channel"

    mails = smtp_server.wait_for(len(statuses), timeout=10)
    assert len(mails) == len(statuses), "one mail per outbox entry, none twice"
    bodies = [mail.get_body(("plain",)).get_content() for mail in mails]

    assert_each_tagged_story_mailed_once(bodies, tagged)


def test_concurrent_inserts_of_the_same_items_store_each_once(database_url):
    store = Store.open(database_url)
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    batch = [Item(key=f"k{i}", title=f"t{i}") for i in range(200)]
    returned: list[list[Item]] = []
    start = threading.Barrier(4)

    def insert() -> None:
        start.wait()
        returned.append(store.insert_new(feed_id, batch, NOW))

    threads = [threading.Thread(target=insert) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from items").scalar() == 200
    store.close()
    assert sorted(i.key for run in returned for i in run) == sorted(i.key for i in batch)


def test_a_feed_lease_excludes_other_runs_until_released_or_expired(database_url):
    store = Store.open(database_url)
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    minute = timedelta(minutes=1)
    assert store.acquire_feed_lease(feed_id, "run-1", NOW, minute)
    assert not store.acquire_feed_lease(feed_id, "run-2", NOW, minute)
    assert store.acquire_feed_lease(feed_id, "run-2", NOW + minute, minute), "an expired lease is taken over"
    store.release_feed_lease(feed_id, "run-1")  # a late release by the old holder changes nothing
    assert not store.acquire_feed_lease(feed_id, "run-3", NOW + minute, minute)
    store.release_feed_lease(feed_id, "run-2")
    assert store.acquire_feed_lease(feed_id, "run-3", NOW + minute, minute)
    # a run's last write on the feed releases its lease, and only its own
    store.record_success(feed_id, Validators(None, None), 0, NOW + minute, lease_owner="run-2")
    assert not store.acquire_feed_lease(feed_id, "run-4", NOW + minute, minute)
    store.record_failure(feed_id, "HTTP 500", NOW + minute, lease_owner="run-3")
    leased = store.acquire_feed_lease(feed_id, "run-4", NOW + minute, minute)
    assert leased is not None and leased.last_error == "HTTP 500" and leased.consecutive_failures == 1, \
        "the lease hands over the feed's row as it is under the lease"
    store.close()
