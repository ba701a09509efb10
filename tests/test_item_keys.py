"""Keys that hold, on SQLite and PostgreSQL: an article is stored once whatever its GUIDs, a GUID names an
item within its feed only, text a backend refuses is cleaned, and concurrent label imports add once."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

from newswatch.analyst_labels import import_labels
from newswatch.config import load_settings
from newswatch.cycle import ingest
from newswatch.store import Store
from newswatch.models import Item
from shipped_topics import NAMES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def rss(items_xml: str) -> str:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items_xml}</channel></rss>'


def item(title: str, guid: str, link: str | None = None) -> str:
    return f"<item><title>{title}</title><guid>{guid}</guid>" + (f"<link>{link}</link>" if link else "") + "</item>"


def settings_for(tmp_path, feeds: dict[str, str]):
    tables = "".join(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n' for name, url in feeds.items())
    config = tmp_path / "newswatch.toml"
    config.write_text(f'allow_private_addresses = true\ndata_dir = "{tmp_path / "data"}"\n{tables}')
    return load_settings(config)


def count(store, sql: str) -> int:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


def test_a_stored_article_listed_again_under_new_guids_and_a_tracking_url_is_not_stored_again(
        feed_server, tmp_path, store):
    settings = settings_for(tmp_path, {"News": feed_server.url("news.xml")})
    feed_server.route("news.xml", body=rss(item("Kim meets Putin", "g-1", "http://news.test/a2")))
    [first] = ingest(settings, store)
    feed_server.route("news.xml", body=rss(item("Kim meets Putin", "g-2", "HTTP://NEWS.TEST/a2")
                                           + item("Kim meets Putin (update)", "g-3",
                                                  "http://news.test/a2?utm_campaign=y")))
    [second] = ingest(settings, store)
    assert len(first.new_items) == 1 and second.new_items == () and second.error is None
    assert count(store, "select count(*) from items") == 1


def test_feeds_numbering_their_guids_alike_keep_every_item(feed_server, tmp_path, store):
    settings = settings_for(tmp_path, {"A": feed_server.url("a.xml"), "B": feed_server.url("b.xml")})
    feed_server.route("a.xml", body=rss(item("Seoul markets open", "1") + item("Busan port busy", "2")))
    feed_server.route("b.xml", body=rss(item("Kim meets Putin", "1") + item("Drills begin", "2")))
    outcomes = {o.name: o for o in ingest(settings, store)}
    assert (len(outcomes["A"].new_items), len(outcomes["B"].new_items)) == (2, 2)
    assert count(store, "select count(*) from items") == 4
    assert [o.new_items for o in ingest(settings, store) if o.new_items] == []  # and each is stored once


def test_a_nul_or_a_lone_surrogate_in_a_feed_is_cleaned_not_a_failed_feed(feed_server, tmp_path, store):
    settings = settings_for(tmp_path, {"Dirty": feed_server.url("dirty.xml")})
    feed_server.route("dirty.xml", body=rss(item("Kim&#0; meets\x00 Putin", "g\x00-1")))
    [outcome] = ingest(settings, store)
    assert outcome.error is None and len(outcome.new_items) == 1
    assert outcome.new_items[0].title == "Kim meets Putin"
    # what a parser may hand over (feedparser turns &#xD800; into an error of its own): the store cleans it
    [feed_id] = store.sync_feeds(settings.feeds).values()
    [stored] = store.insert_new(feed_id, [Item(key="guid:x \ud800", title="Drills\ud800 begin\x00", guid="\ud800",
                                               summary="a\x00b")], NOW)
    assert (stored.title, stored.summary, stored.guid) == ("Drills\ufffd begin", "ab", "\ufffd")
    with store.engine.connect() as conn:
        titles = set(conn.exec_driver_sql("select title from items").scalars())
    assert titles == {"Kim meets Putin", "Drills\ufffd begin"}


def test_concurrent_imports_of_one_label_file_add_each_label_once(database_url, tmp_path):
    records = "".join(json.dumps({"id": f"item-{n}", "title": f"Report {n}",
                                  "topics": ["russia_dprk"] if n % 2 else []}) + "\n" for n in range(300))
    Store.open(database_url).close()
    stores = [Store.open(database_url) for _ in range(3)]
    start = threading.Barrier(len(stores))
    added: list[int] = []

    def import_once(store):  # three importers, each with its own connections, starting at the same moment
        start.wait()
        added.append(import_labels(store, records.splitlines(), "labels.jsonl", "ana", NOW, NAMES).labels)

    threads = [threading.Thread(target=import_once, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=100)
    assert sorted(added)[-1] == 600 and sum(added) == 600, added
    assert count(stores[0], "select count(*) from labels") == 600  # 300 items x 2 topics, once
    for store in stores:
        store.close()
