"""The store queries behind the review page, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from newswatch.analyst_labels import labels_for_item
from newswatch.models import Feed, Item, Prediction
from newswatch.store import ItemFilter, threshold_distance

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
FEED = Feed("https://a.example/rss", "A")


def scored(store, specs):
    """Store items (key, title, hours ago, {topic: score}, tags) and one prediction each; return key → id."""
    feed_id = store.sync_feeds([FEED])[FEED.url]
    items = [Item(key=key, title=title, published=NOW - timedelta(hours=hours)) for key, title, hours, _, _ in specs]
    stored = store.insert_new(feed_id, items, NOW)
    store.save_predictions("v1", [(item, Prediction(scores, tuple(tags), {t: ("why",) for t in tags}))
                                  for item, (_, _, _, scores, tags) in zip(stored, specs)], NOW)
    return {item.key: item.id for item in stored}


def label(store, key, topic, value, author, when):
    store.add_labels(labels_for_item(Item(key=key, title=key), {topic: value}, author, "web", when), when)


SPECS = [
    ("a", "Putin meets Kim 100%_done", 1, {"russia_dprk": 0.95, "alliance_drills": 0.10}, ["russia_dprk"]),
    ("b", "Allied drill off Busan", 30, {"russia_dprk": 0.30, "alliance_drills": 0.58}, ["alliance_drills"]),
    ("c", "Chip exports rebound", 50, {"russia_dprk": 0.48, "alliance_drills": 0.02}, []),
]


def test_labels_latest_per_item_and_topic_wins(store):
    label(store, "a", "russia_dprk", True, "ana", NOW)
    label(store, "a", "russia_dprk", False, "bo", NOW + timedelta(minutes=1))
    label(store, "a", "alliance_drills", False, "ana", NOW)
    latest = {(label.item_key, label.topic): (label.value, label.author) for label in store.labels_for(["a", "zz"])}
    assert latest == {("a", "russia_dprk"): (False, "bo"), ("a", "alliance_drills"): (False, "ana")}
    assert store.labels_for([]) == []


def test_scored_items_newest_first_with_latest_prediction_and_filters(store):
    ids = scored(store, SPECS)
    rows = [copy for story in store.scored_stories() for copy in story.copies]
    assert [r.item.key for r in rows] == ["a", "b", "c"]
    assert rows[0].prediction.tags == ("russia_dprk",) and rows[0].feed_name == "A" and rows[0].model_version == "v1"
    later = NOW + timedelta(minutes=5)
    [item_a] = store.items_by_id([ids["a"]])
    store.save_predictions("v2", [(item_a, Prediction({"russia_dprk": 0.2, "alliance_drills": 0.1}, ()))], later)
    assert store.scored_item(ids["a"]).model_version == "v2"

    def keys(**where):  # every item here is a story of one
        return [copy.item.key for story in store.scored_stories(ItemFilter(**where)) for copy in story.copies]

    assert keys(tagged=True) == ["b"]
    assert keys(tagged=False) == ["a", "c"]
    assert keys(topic="alliance_drills", tagged=True) == ["b"]
    assert keys(search="100%_") == ["a"] and keys(search="busan") == ["b"] and keys(search="%") == ["a"]
    assert keys(since=NOW - timedelta(hours=40)) == ["a", "b"]
    assert keys(until=NOW - timedelta(hours=40)) == ["c"]
    label(store, "c", "russia_dprk", False, "ana", NOW)
    assert keys(labeled=True) == ["c"] and keys(labeled=False) == ["a", "b"]
    assert keys(topic="alliance_drills", labeled=True) == []
    assert store.scored_item(ids["c"]).labels["russia_dprk"].value is False
    assert store.scored_item(999_999) is None
    assert [story.story_id for story in store.scored_stories(limit=1, offset=1)] == [ids["b"]]


OUTLETS = (Feed("https://yonhap.example/rss", "Yonhap"), Feed("https://kcnawatch.example/rss", "KCNA Watch"),
           Feed("https://nknews.example/rss", "NK News"))


def test_scored_stories_group_copies_match_any_copy_and_page_by_story(store):
    feed_ids = [store.sync_feeds(OUTLETS)[outlet.url] for outlet in OUTLETS]

    def put(outlet, key, title, hours, score):
        [item] = store.insert_new(feed_ids[outlet], [Item(key=key, title=title, published=NOW - timedelta(hours=hours))],
                                  NOW)
        tags = ("russia_dprk",) if score >= 0.5 else ()
        store.save_predictions("v1", [(item, Prediction({"russia_dprk": score, "alliance_drills": 0.0}, tags))], NOW)
        return item.id

    treaty = [put(0, "t-yonhap", "Treaty signed", 2, 0.9), put(1, "t-kcna", "Treaty signed, KCNA says", 3, 0.95),
              put(2, "t-nknews", "Treaty text published", 5, 0.4)]
    bridge = put(0, "bridge", "Tumen bridge opens", 4, 0.8)  # never clustered: a story of its own
    drills = put(1, "drills", "Drills begin", 1, 0.1)
    store.set_stories({**{item_id: treaty[0] for item_id in treaty}, drills: drills})

    def stories(**where):
        return [(story.story_id, sorted(story.matched_ids)) for story in store.scored_stories(ItemFilter(**where))]

    everything = store.scored_stories()
    assert [story.story_id for story in everything] == [drills, treaty[0], bridge]  # by the newest copy
    assert [copy.item.id for copy in everything[1].copies] == treaty  # all copies, newest first
    assert [copy.feed_name for copy in everything[1].copies] == ["Yonhap", "KCNA Watch", "NK News"]
    assert [copy.story_id for copy in everything[2].copies] == [bridge]
    assert stories(tagged=True) == [(treaty[0], treaty[:2]), (bridge, [bridge])]
    tagged_no = store.scored_stories(ItemFilter(tagged=False))
    assert [(s.story_id, [c.item.id for c in s.matching], len(s.copies)) for s in tagged_no] == [
        (drills, [drills], 1), (treaty[0], [treaty[2]], 3)]  # one matching copy brings its whole story
    # a story ranks by its newest matching copy: the treaty's only one before the cut is 5 h old, the bridge's 4 h
    assert stories(until=NOW - timedelta(hours=3, minutes=30)) == [(bridge, [bridge]), (treaty[0], [treaty[2]])]
    assert stories(search="kcna") == [(treaty[0], [treaty[1]])]
    assert stories(feed_id=feed_ids[2]) == [(treaty[0], [treaty[2]])]
    label(store, "t-kcna", "russia_dprk", False, "ana", NOW)
    assert stories(labeled=True) == [(treaty[0], [treaty[1]])]
    [labeled] = store.scored_stories(ItemFilter(labeled=True))
    assert [sorted(copy.labels) for copy in labeled.copies] == [[], ["russia_dprk"], []]  # labels stay per copy
    pages = [store.scored_stories(limit=1, offset=n) for n in range(4)]
    assert [[story.story_id for story in page] for page in pages] == [[drills], [treaty[0]], [bridge], []]
    assert len(pages[1][0].copies) == 3  # a page never splits a story


def test_the_review_shortlist_is_ordered_in_the_database_by_the_share_of_the_way_to_0_or_1(store):
    ids = scored(store, [("near", "n", 1, {"russia_dprk": 0.30}, []), ("above", "a", 1, {"russia_dprk": 0.60}, []),
                         ("below", "b", 1, {"russia_dprk": 0.10}, []), ("sure", "s", 1, {"russia_dprk": 0.02}, [])])
    label(store, "near", "russia_dprk", True, "ana", NOW)  # labeled: never on the shortlist
    # under 0.25: 0.60 is 47 % of the way to 1, 0.10 is 60 % of the way to 0 (the plain difference says otherwise)
    shortlist = store.nearest_thresholds("v1", {"russia_dprk": 0.25}, limit=2)
    assert [(item_id, round(distance, 3)) for item_id, _, _, distance in shortlist] == [
        (ids["above"], 0.467), (ids["below"], 0.6)]
    assert [entry[0] for entry in store.nearest_thresholds("v1", {"russia_dprk": 0.25}, limit=5)][-1] == ids["sure"]


def test_the_review_shortlist_read_from_the_threshold_outwards_is_the_nearest_of_all_predictions(store):
    import random

    rng = random.Random(7)
    feed_id = store.sync_feeds([FEED])[FEED.url]
    stored = store.insert_new(feed_id, [Item(key=f"k{n}", title=f"t{n}") for n in range(400)], NOW)
    # scores on a coarse grid, so that many items tie, a few exactly at the threshold
    scores = {item.id: {"russia_dprk": rng.randrange(0, 41) / 40, "alliance_drills": rng.randrange(0, 21) / 20}
              for item in stored}
    store.save_predictions("v1", [(item, Prediction(scores[item.id], ())) for item in stored], NOW)
    store.save_predictions("v2", [(item, Prediction({"russia_dprk": 0.3, "alliance_drills": 0.3}, ()))
                                  for item in stored[:50]], NOW)  # another version's scores are not read
    labeled = {item.key for item in rng.sample(stored, 60)}
    for key in sorted(labeled):
        label(store, key, "russia_dprk", True, "ana", NOW)
    thresholds = {"russia_dprk": 0.25, "alliance_drills": 0.5}
    every = sorted(((item.id, topic, scores[item.id][topic], threshold_distance(scores[item.id][topic], threshold))
                    for item in stored for topic, threshold in thresholds.items()
                    if not (topic == "russia_dprk" and item.key in labeled)), key=lambda e: (e[3], e[0]))
    for limit in (1, 7, 30, 120, 1000):
        assert store.nearest_thresholds("v1", thresholds, limit) == every[:limit]


def test_the_inbox_offers_every_stored_language_and_feed_without_reading_every_item(store):
    assert store.languages() == []
    feed_id = store.sync_feeds([FEED, Feed("https://b.example/rss", "B")])[FEED.url]
    store.insert_new(feed_id, [Item(key=f"{lang}{n}", title="t", lang=lang) for n, lang in enumerate("ru en ko en ru und".split())],
                     NOW)
    assert store.languages() == ["en", "ko", "ru", "und"]
    assert [name for _, name in store.feed_names()] == ["A", "B"]


def test_tagged_per_day(store):
    scored(store, SPECS)
    counts = store.tagged_per_day(["russia_dprk", "alliance_drills"], NOW - timedelta(days=7))
    assert counts == {"russia_dprk": {"2026-11-23": 1}, "alliance_drills": {"2026-11-22": 1}}
    assert store.tagged_per_day(["russia_dprk"], NOW + timedelta(days=1)) == {"russia_dprk": {}}


def test_a_page_of_stories_is_the_same_read_newest_first_or_grouped(store, monkeypatch):
    """A page reads the newest matching items until it has its stories, else groups every match (store.queries): both
    give each page the same stories in the same order, ties of date and story ids included, and no story twice."""
    from newswatch.store import queries

    feed_id = store.sync_feeds([FEED])[FEED.url]
    # 40 items, 4 to an hour (ties of date), in 25 stories; every third one tagged
    stored = store.insert_new(feed_id, [Item(key=f"k{n}", title=f"item {n}", published=NOW - timedelta(hours=n // 4))
                                        for n in range(40)], NOW)
    store.save_predictions("v1", [(item, Prediction({"russia_dprk": 0.9}, ("russia_dprk",) if n % 3 == 0 else ()))
                                  for n, item in enumerate(stored)], NOW)
    store.set_stories({item.id: stored[n % 25].id for n, item in enumerate(stored)})

    def pages(where, size):
        return [[story.story_id for story in store.scored_stories(where, limit=size, offset=offset)]
                for offset in range(0, 30, size)]

    for where in (ItemFilter(), ItemFilter(tagged=True), ItemFilter(tagged=False), ItemFilter(topic="russia_dprk")):
        for size in (1, 4, 7):
            monkeypatch.setattr(queries, "_WALKS", ())
            grouped = pages(where, size)
            if where == ItemFilter(tagged=True) and size == 4:
                grouped_tagged = grouped
            # short walks (some pages found by reading, some grouped), and one that reads every item
            for walks in ((3, 9), (5, 100)):
                monkeypatch.setattr(queries, "_WALKS", walks)
                assert pages(where, size) == grouped, (where, size, walks)
            found = [story for page in grouped for story in page]
            assert len(found) == len(set(found))

    # a deep page: the walks find part of it, one more walk sized from that finds the rest, and nothing is grouped
    monkeypatch.setattr(queries, "_WALKS", (6,))
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: statements.append(statement))
    page_2 = store.scored_stories(ItemFilter(tagged=True), limit=4, offset=4)
    assert [story.story_id for story in page_2] == grouped_tagged[1]
    assert not [statement for statement in statements if "GROUP BY coalesce(items.story_id" in statement], statements


def test_the_first_page_of_the_inbox_reads_its_own_items_not_every_stored_item(tmp_path):
    """Grouping every stored item into stories took seconds a page over a million items: the inbox's first page walks
    the items by date through their index and finds each story's copies by key (SQLite's plans scan no other way)."""
    import sqlalchemy as sa

    from newswatch.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'newswatch.db'}")
    feed_id = store.sync_feeds([FEED])[FEED.url]
    stored = store.insert_new(feed_id, [Item(key=f"k{n}", title=f"item {n}", published=NOW - timedelta(minutes=n))
                                        for n in range(200)], NOW)
    store.save_predictions("v1", [(item, Prediction({"russia_dprk": 0.9}, ("russia_dprk",))) for item in stored], NOW)
    executed: list[tuple[str, object]] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, parameters, context, many: executed.append((statement, parameters)))
    assert len(store.scored_stories(ItemFilter(tagged=True), limit=50)) == 50
    with store.engine.connect() as conn:
        for statement, parameters in list(executed):
            plan = [row.detail for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            scans = [step for step in plan if step.startswith("SCAN items") or step.startswith("SCAN feeds")]
            assert scans in ([], ["SCAN items USING INDEX ix_items_when"]), (statement, plan)
    store.close()
