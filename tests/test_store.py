from datetime import datetime, timezone

import pytest

from newswatch.models import Feed, Item, Prediction, Validators

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def item(key, title="t", published=None):
    return Item(key=key, title=title, summary="s", url=f"https://x.example/{key}", published=published)


def test_insert_new_returns_only_new_items_and_stores_each_once(store):
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    first = store.insert_new(feed_id, [item("k1"), item("k2"), item("k1")], NOW)
    assert [i.key for i in first] == ["k1", "k2"] and all(i.id for i in first)
    second = store.insert_new(feed_id, [item("k2"), item("k3")], NOW)
    assert [i.key for i in second] == ["k3"]
    assert [row.items_stored for row in store.feed_rows()] == [3]


def test_dates_round_trip_as_utc(store):
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    published = datetime(2024, 8, 19, 0, 30, tzinfo=timezone.utc)
    [stored] = store.insert_new(feed_id, [item("k", published=published)], NOW)
    [loaded] = store.items_by_id([stored.id])
    assert loaded.published == published and loaded.feed_url == "https://a.example/rss"


def test_feed_health_counts_failures_and_resets_on_success(store):
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    store.record_failure(feed_id, "HTTP 500", NOW)
    store.record_failure(feed_id, "timed out", NOW)
    [row] = store.feed_rows()
    assert (row.consecutive_failures, row.last_error) == (2, "timed out")
    store.record_success(feed_id, Validators('"abc"', "Mon, 23 Nov 2026 10:00:00 GMT"), 0, NOW)
    [row] = store.feed_rows()
    assert (row.consecutive_failures, row.last_error, row.last_success_at) == (0, None, NOW)
    assert store.feed_row(feed_id).validators == Validators('"abc"', "Mon, 23 Nov 2026 10:00:00 GMT")


def test_sync_feeds_follows_renames_without_duplicating(store):
    store.sync_feeds([Feed("https://a.example/rss", "A")])
    ids = store.sync_feeds([Feed("https://a.example/rss", "Renamed"), Feed("https://b.example/rss", "B")])
    assert len(ids) == 2 and [r.name for r in store.feed_rows()] == ["Renamed", "B"]


def test_outbox_owes_a_message_once_until_sent(store):
    for _ in range(2):
        store.enqueue("mail", "digest-1", "subject", "text", "<p>html</p>", "md", NOW)
    [entry] = store.owed("mail")
    store.mark_failed(entry.id, "connection refused")
    [entry] = store.owed("mail")
    assert (entry.status, entry.attempts, entry.last_error) == ("failed", 1, "connection refused")
    store.mark_sent(entry.id, NOW)
    assert store.owed("mail") == []
    store.enqueue("mail", "digest-1", "subject", "text", "<p>html</p>", "md", NOW)
    assert store.owed("mail") == []


def test_predictions_are_recorded_once_per_model_version(store):
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    [stored] = store.insert_new(feed_id, [item("k")], NOW)
    prediction = Prediction({"russia_dprk": 0.9, "alliance_drills": 0.1}, ("russia_dprk",), {"russia_dprk": ("kim",)})
    store.save_predictions("v1", [(stored, prediction)], NOW)
    store.save_predictions("v1", [(stored, prediction)], NOW)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from predictions").scalar() == 1


def test_the_postgres_urls_users_paste_use_psycopg_3(postgres_url):
    """`postgresql://` and `postgres://` would select psycopg2, which the [postgres] extra does not install."""
    from newswatch.store import Store

    bare = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    for pasted in (bare, bare.replace("postgresql://", "postgres://", 1)):
        with Store.open(pasted) as store:
            assert store.engine.url.drivername == "postgresql+psycopg"
            assert store.sync_feeds([Feed("https://a.example/rss", "A")])


def test_an_item_separated_from_its_story_is_a_story_of_its_own_and_the_rest_stay_together(store):
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    lead, second, third, fourth = (i.id for i in store.insert_new(feed_id, [item(f"k{n}") for n in range(4)], NOW))
    store.set_stories({lead: lead, second: lead, third: lead, fourth: fourth})

    def story_of(item_id):
        return next(i.story_id for i in store.recent_items(NOW) if i.id == item_id)

    assert store.separate(third) == lead  # a copy leaves: the story keeps its name
    assert [story_of(i) for i in (lead, second, third, fourth)] == [lead, lead, third, fourth]
    assert store.separate(lead) == lead  # the item the story is named after leaves: the rest stay one story
    assert [story_of(i) for i in (lead, second, third, fourth)] == [lead, second, third, fourth]
    assert store.separate(fourth) is None and story_of(fourth) == fourth  # alone already: nothing changes
    with pytest.raises(KeyError):
        store.separate(fourth + 100)


def test_sqlite_commits_to_its_write_ahead_log_without_a_flush_per_commit(tmp_path):
    """WAL with synchronous=NORMAL: atomic commits that survive a killed process, without the fsync per commit
    that made a first cycle's thousand commits wait on the disk (README, "What survives what")."""
    import sqlalchemy as sa

    from newswatch.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'newswatch.db'}")
    try:
        with store.engine.connect() as connection:
            assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    finally:
        store.close()


def test_the_scoring_queries_are_anti_joins_on_postgresql(postgres_url):
    """NOT IN over the predictions is a hashed subplan only while they fit in work_mem; past that PostgreSQL tests
    every item against every prediction (a classification queue over a million scored items ran for more than
    14 minutes, over 500,000 for more than 3). An anti-join stays linear: each query's plan must hold one."""
    import sqlalchemy as sa

    from newswatch.store import Store

    store = Store.open(postgres_url)
    executed: list[tuple[str, object]] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, parameters, context, many: executed.append((statement, parameters)))
    store.count_unscored_by("v1")
    store.classification_queue("v1", 10)
    store.items_unscored_by("v1", 10)
    queries = [(statement, parameters) for statement, parameters in executed if "predictions" in statement]
    assert len(queries) == 3
    with store.engine.connect() as conn:
        for statement, parameters in queries:
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
            assert "Anti Join" in plan, plan  # NOT IN's plan has none: a filter on a subplan
    store.close()


def _score(store, version, items_):
    return store.save_predictions(version, [(i, Prediction({"russia_dprk": 0.1}, ())) for i in items_], NOW)


def test_the_items_owed_a_score_are_kept_with_them_and_taken_out_by_the_first_prediction(store):
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    stored = store.insert_new(feed_id, [item(f"k{n}") for n in range(5)], NOW)
    assert store.count_never_scored() == 5
    assert _score(store, "v1", stored[:2]) == {stored[0].id, stored[1].id}
    assert _score(store, "v2", stored[:3]) == {stored[2].id}, "only what no model had scored is scored a first time"
    assert store.count_never_scored() == 2
    queue = store.classification_queue("v2", 10)
    assert [i.id for i in queue.items] == [stored[3].id, stored[4].id], "owed first; v2 has scored the rest"
    queue = store.classification_queue("v1", 10)
    assert [i.id for i in queue.items] == [stored[3].id, stored[4].id, stored[2].id]
    assert queue.scored_through == stored[-1].id, "fewer than asked for: v1 is then through every stored item"


def test_a_model_version_rescores_past_its_progress_only(store):
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    stored = store.insert_new(feed_id, [item(f"k{n}") for n in range(6)], NOW)
    _score(store, "v1", stored)
    first = store.classification_queue("v2", 4)
    assert [i.id for i in first.items] == [i.id for i in stored[:4]] and first.scored_through == stored[3].id
    _score(store, "v2", first.items)
    store.save_progress("v2", first.scored_through)
    store.save_progress("v2", stored[1].id)  # another process's older progress does not move it back
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT model_version, scored_through FROM model_progress").all() == [
            ("v2", stored[3].id)]
    assert store.count_unscored_by("v2") == 2
    rest = store.classification_queue("v2", 4)
    assert [i.id for i in rest.items] == [i.id for i in stored[4:]] and rest.scored_through == stored[5].id


def test_a_cycle_finds_what_it_owes_without_reading_every_stored_item(tmp_path):
    """Once a model version has scored the store, the queries of each later cycle read the owed items and the items
    past the version's progress, never every stored item (about a second a cycle per million): SQLite's plan for
    each of them searches the items by key and scans none."""
    import sqlalchemy as sa

    from newswatch.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'newswatch.db'}")
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    _score(store, "v1", store.insert_new(feed_id, [item(f"k{n}") for n in range(50)], NOW))
    queue = store.classification_queue("v1", 10)
    store.save_progress("v1", queue.scored_through)
    store.insert_new(feed_id, [item("new")], NOW)
    executed: list[tuple[str, object]] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, parameters, context, many: executed.append((statement, parameters)))
    assert store.count_never_scored() == 1
    assert [i.key for i in store.classification_queue("v1", 10).items] == ["new"]
    assert store.count_unscored_by("v1") == 1
    selects = [(statement, parameters) for statement, parameters in executed if "FROM items" in statement]
    assert len(selects) == 4
    with store.engine.connect() as conn:
        for statement, parameters in selects:
            plan = [row.detail for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            assert not [step for step in plan if step.startswith("SCAN items")], (statement, plan)
    store.close()


def test_the_feeds_recent_arrivals_read_their_window_only(tmp_path):
    """Every cycle reads the feeds' arrivals of the last day to set their poll intervals. Through an index on the feed
    alone SQLite read every item the feed ever had (44 ms a feed, 40 feeds, a million items: 1.8 s a cycle): the plans
    must bound the search by the window too."""
    from datetime import timedelta

    import sqlalchemy as sa

    from newswatch.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'newswatch.db'}")
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    old = [item(f"old{n}", published=NOW - timedelta(days=30 + n)) for n in range(5)]
    store.insert_new(feed_id, old + [item("new", published=NOW - timedelta(hours=2))], NOW)
    executed: list[tuple[str, object]] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, parameters, context, many: executed.append((statement, parameters)))
    assert store.arrivals(feed_id, NOW - timedelta(days=1)) == (1, NOW - timedelta(hours=2), NOW - timedelta(hours=2))
    [(statement, parameters)] = executed
    with store.engine.connect() as conn:
        plan = [row.detail for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    assert plan == ["SEARCH items USING INDEX ix_items_feed_when (feed_id=? AND <expr>>?)"], plan
    # every feed's at once (a cycle's start): the window's items by date, not every item by feed
    executed.clear()
    assert store.arrivals_by_feed(NOW - timedelta(days=1)) == {feed_id: (1, NOW - timedelta(hours=2),
                                                                         NOW - timedelta(hours=2))}
    [(statement, parameters)] = executed
    with store.engine.connect() as conn:
        plan = [row.detail for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    assert plan == ["SEARCH items USING INDEX ix_items_when (<expr>>?)", "USE TEMP B-TREE FOR GROUP BY"], plan
    store.close()


def test_a_digest_finds_what_its_channel_has_not_taken_with_an_anti_join_on_postgresql(postgres_url):
    """NOT IN over the items a channel's digests had taken became a comparison of every item with every taken item
    past work_mem: a digest over a million taken items ran for more than ten minutes. Its plan must hold an anti-join."""
    import sqlalchemy as sa

    from newswatch.store import Store

    store = Store.open(postgres_url)
    executed: list[tuple[str, object]] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, parameters, context, many: executed.append((statement, parameters)))
    store.tagged_between(NOW, NOW, not_taken_by="mail")
    [(statement, parameters)] = [(s, p) for s, p in executed if "digest_items" in s]
    with store.engine.connect() as conn:
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
    assert "Anti Join" in plan, plan
    store.close()
