"""Surge alerts: a story many outlets report at once, a topic far above its own hourly history.

Detection is checked on stored items with timestamps (real SQLite/PostgreSQL), delivery on the loopback SMTP
server; time is a passed-in ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from newswatch.alerts import owe_surges
from newswatch.config import load_settings
from newswatch.models import Feed, Item, Prediction
from newswatch.notify import deliver_owed
from newswatch.store import ItemFilter
from newswatch.surges import hourly_counts, story_surges, topic_surge

from conftest import TAGGED_AT

NOW = datetime(2026, 5, 4, 10, 40, tzinfo=timezone.utc)
TAGGED = Prediction(scores={"russia_dprk": 0.91, "alliance_drills": 0.05}, tags=("russia_dprk",))
UNTAGGED = Prediction(scores={"russia_dprk": 0.2, "alliance_drills": 0.05}, tags=())


def put(store, source: str, title: str, minutes_ago: float, story: int | None = None,
        prediction: Prediction = TAGGED, now: datetime = NOW) -> Item:
    feed = Feed(f"https://{source.lower()}.example/rss", source)
    feed_id = store.sync_feeds([feed])[feed.url]
    when = now - timedelta(minutes=minutes_ago)
    [item] = store.insert_new(feed_id, [Item(key=f"{source}-{title}-{minutes_ago}", title=title, summary="s",
                                             url=f"https://{source.lower()}.example/{abs(hash(title)) % 10**6}",
                                             published=when, feed_url=feed.url)], when)
    if story is not None:
        store.set_stories({item.id: story})
    store.save_predictions("m1", [(item, prediction)], when)
    return item


def stories(store, since: datetime, now: datetime = NOW):
    return store.scored_stories(ItemFilter(since=since, until=now + timedelta(seconds=1), scored=True), limit=None)


def test_a_story_surges_when_enough_outlets_report_it_within_the_window(store):
    first = put(store, "Yonhap", "Kim arrives in Vladivostok", 100)
    put(store, "TASS", "Kim Jong Un arrives in Vladivostok", 70, story=first.id)
    put(store, "Yonhap", "Kim in Vladivostok (update)", 60, story=first.id)  # same outlet again: one source
    put(store, "KCNA", "Respected Comrade Kim Jong Un arrives in Vladivostok", 30, story=first.id)
    two = put(store, "NK News", "Shoigu lands in Pyongyang", 50)
    put(store, "Reuters", "Russia's Shoigu in Pyongyang", 20, story=two.id)
    late = put(store, "AP", "Putin, Kim sign deal", 400)
    put(store, "TASS", "Putin and Kim sign agreement", 300, story=late.id)
    put(store, "RIA", "Putin, Kim agreement signed", 20, story=late.id)

    found = story_surges(stories(store, NOW - timedelta(hours=8)), ["russia_dprk"], NOW, 3, timedelta(hours=2))

    assert [s.story_id for s in found] == [first.id]
    [surge] = found
    assert surge.sources == 3 and surge.reached_at == NOW - timedelta(minutes=30)
    assert {m.source for m in surge.copies} == {"Yonhap", "TASS", "KCNA"} and len(surge.copies) == 4
    assert story_surges(stories(store, NOW - timedelta(hours=8)), ["alliance_drills"], NOW, 3,
                        timedelta(hours=2)) == []


def test_a_topic_surges_far_above_its_own_history_once_per_burst():
    hour = NOW.replace(minute=0)
    background = [hour - timedelta(hours=h, minutes=7) for h in range(1, 14 * 24) if h % 3 == 0]  # one every 3 h
    burst = [hour + timedelta(minutes=m) for m in range(1, 40, 5)]  # eight in this hour

    assert hourly_counts(background, hour - timedelta(hours=4), 4) == [1, 0, 0, 0]
    assert topic_surge("russia_dprk", background + burst, NOW, 3.0, 5, hour - timedelta(days=30))[0] == 8
    assert topic_surge("russia_dprk", background, NOW, 3.0, 5, hour - timedelta(days=30)) is None
    # a store that started watching yesterday has no history to compare with
    assert topic_surge("russia_dprk", background + burst, NOW, 3.0, 5, hour - timedelta(days=1)) is None
    # the burst carries on past the hour: the next hour is not a second surge
    next_hour = burst + [hour + timedelta(hours=1, minutes=m) for m in range(1, 40, 5)]
    assert topic_surge("russia_dprk", background + next_hour, NOW + timedelta(hours=1), 3.0, 5,
                       hour - timedelta(days=30)) is None


def test_surge_alert_lists_every_copy_and_is_sent_once(store, database_url, tmp_path, smtp_server):
    config = tmp_path / "newswatch.toml"
    config.write_text(f"""
        database_url = "{database_url}"
        [[channels]]
        name = "breaking"
        url = "{smtp_server.apprise_url()}"
        mode = ["surge"]
        surge_sources = 3
    """)
    settings = load_settings(config, env={"NEWSWATCH_HOME": str(tmp_path)})
    first = put(store, "Yonhap", "Kim arrives in Vladivostok for talks with Putin", 50)
    put(store, "TASS", "Kim Jong Un arrives in Vladivostok", 40, story=first.id, prediction=UNTAGGED)
    put(store, "KCNA", "Kim Jong Un arrives in Vladivostok, Russia", 10, story=first.id)

    for minutes in (0, 5):  # the next cycle sees the same surge: nothing new is owed
        owe_surges(store, settings, NOW + timedelta(minutes=minutes), TAGGED_AT)
        deliver_owed(store, settings.channels, now=lambda: NOW)

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["Subject"] == "Surge: 3 sources — Kim arrives in Vladivostok for talks with Putin"
    text = message.get_body(("plain",)).get_content()
    for source, url in (("TASS", "https://tass.example/"), ("KCNA", "https://kcna.example/")):
        assert f"also: {source}" in text and url in text
