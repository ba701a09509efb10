"""The store queries behind the review page, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


from newswatch.models import Feed, Item, Prediction
from newswatch.store import ItemFilter

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


SPECS = [
    ("a", "Putin meets Kim 100%_done", 1, {"russia_dprk": 0.95, "alliance_drills": 0.10}, ["russia_dprk"]),
    ("b", "Allied drill off Busan", 30, {"russia_dprk": 0.30, "alliance_drills": 0.58}, ["alliance_drills"]),
    ("c", "Chip exports rebound", 50, {"russia_dprk": 0.48, "alliance_drills": 0.02}, []),
]


def test_labels_latest_per_item_and_topic_wins(store):
    store.add_label(Item(key="a", title="a"), "russia_dprk", True, "ana", "web", NOW)
    store.add_label(Item(key="a", title="a"), "russia_dprk", False, "bo", "web", NOW + timedelta(minutes=1))
    store.add_label(Item(key="a", title="a"), "alliance_drills", False, "ana", "cli", NOW)
    latest = {(label.item_key, label.topic): (label.value, label.author) for label in store.labels_for(["a", "zz"])}
    assert latest == {("a", "russia_dprk"): (False, "bo"), ("a", "alliance_drills"): (False, "ana")}
    assert store.labels_for([]) == []


def test_scored_items_newest_first_with_latest_prediction_and_filters(store):
    ids = scored(store, SPECS)
    rows = store.scored_items()
    assert [r.item.key for r in rows] == ["a", "b", "c"]
    assert rows[0].prediction.tags == ("russia_dprk",) and rows[0].feed_name == "A" and rows[0].model_version == "v1"
    later = NOW + timedelta(minutes=5)
    [item_a] = store.items_by_id([ids["a"]])
    store.save_predictions("v2", [(item_a, Prediction({"russia_dprk": 0.2, "alliance_drills": 0.1}, ()))], later)
    assert store.scored_item(ids["a"]).model_version == "v2"

    def keys(**where):
        return [r.item.key for r in store.scored_items(ItemFilter(**where))]

    assert keys(tagged=True) == ["b"]
    assert keys(tagged=False) == ["a", "c"]
    assert keys(topic="alliance_drills", tagged=True) == ["b"]
    assert keys(search="100%_") == ["a"] and keys(search="busan") == ["b"] and keys(search="%") == ["a"]
    assert keys(since=NOW - timedelta(hours=40)) == ["a", "b"]
    assert keys(until=NOW - timedelta(hours=40)) == ["c"]
    store.add_label(Item(key="c", title="c"), "russia_dprk", False, "ana", "web", NOW)
    assert keys(labeled=True) == ["c"] and keys(labeled=False) == ["a", "b"]
    assert keys(topic="alliance_drills", labeled=True) == []
    assert store.scored_item(ids["c"]).labels["russia_dprk"].value is False
    assert store.scored_item(999_999) is None
    assert [r.item.key for r in store.scored_items(limit=1, offset=1)] == ["b"]


def test_near_threshold_skips_labeled_pairs(store):
    scored(store, SPECS)
    pairs = store.near_threshold({"russia_dprk": 0.5, "alliance_drills": 0.5}, limit=3)
    assert [(row.item.key, topic) for row, topic in pairs] == [("c", "russia_dprk"), ("b", "alliance_drills"),
                                                                ("b", "russia_dprk")]
    store.add_label(Item(key="c", title="c"), "russia_dprk", False, "ana", "web", NOW)
    assert store.near_threshold({"russia_dprk": 0.5}, limit=1)[0][0].item.key == "b"


def test_tagged_per_day(store):
    scored(store, SPECS)
    counts = store.tagged_per_day(["russia_dprk", "alliance_drills"], NOW - timedelta(days=7))
    assert counts == {"russia_dprk": {"2026-11-23": 1}, "alliance_drills": {"2026-11-22": 1}}
    assert store.tagged_per_day(["russia_dprk"], NOW + timedelta(days=1)) == {"russia_dprk": {}}
