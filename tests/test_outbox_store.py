"""The outbox claim, backoff and digest watermark on both databases (SQLite file, real PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


from newswatch.models import Feed, Item, Prediction

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def test_only_one_claim_of_a_row_wins_and_abandoned_claims_come_back(store):
    store.enqueue("mail", "k1", "s", "t", "h", "m", NOW, kind="immediate", not_before=NOW + timedelta(hours=1))
    assert store.due("mail", NOW, NOW) == []  # held
    later = NOW + timedelta(hours=1)
    [entry] = store.due("mail", later, later)
    assert store.claim(entry, later) and not store.claim(entry, later)  # a second process loses
    assert store.due("mail", later, later - timedelta(minutes=5)) == []
    [abandoned] = store.due("mail", later + timedelta(minutes=6), later + timedelta(minutes=1))
    assert abandoned.status == "sending" and store.claim(abandoned, later + timedelta(minutes=6))
    store.mark_failed(abandoned.id, "refused", later + timedelta(minutes=7))
    assert store.due("mail", later + timedelta(minutes=6, seconds=30), later) == []
    [retry] = store.due("mail", later + timedelta(minutes=7), later)
    assert (retry.status, retry.attempts, retry.last_error) == ("failed", 1, "refused")


def test_a_digest_and_its_watermark_are_written_together(store):
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    [old, new] = store.insert_new(feed_id, [Item(key="a", title="old"), Item(key="b", title="new")], NOW)
    store.save_predictions("m1", [(old, Prediction({"russia_dprk": 0.9}, ("russia_dprk",)))], NOW)
    store.save_predictions("m1", [(new, Prediction({"russia_dprk": 0.2}, ()))], NOW + timedelta(hours=1))
    assert [t.item.title for t in store.tagged_between(None, NOW)] == ["old"]
    [tagged] = store.tagged_between(NOW, NOW + timedelta(hours=1))
    assert (tagged.item.title, tagged.source, tagged.prediction.scores) == ("new", "A", {"russia_dprk": 0.2})
    store.save_predictions("m2", [(old, Prediction({"russia_dprk": 0.95}, ("russia_dprk",)))], NOW + timedelta(hours=2))
    assert [t.item.title for t in store.tagged_between(NOW + timedelta(hours=1), NOW + timedelta(hours=3))] == []
    [rescored] = store.tagged_between(None, NOW + timedelta(hours=3))[:1]
    assert rescored.item.title == "old" and rescored.prediction.scores == {"russia_dprk": 0.95}

    message = dict(dedupe_key="d1", subject="s", body_text="t", body_html="h", body_markdown="m")
    assert store.enqueue_digest("mail", message, [old.id], NOW, NOW)
    racer = dict(message, dedupe_key="d2")  # another process's digest holding an item already taken
    assert not store.enqueue_digest("mail", racer, [old.id, new.id], NOW, NOW)
    assert [t.item.title for t in store.tagged_between(None, NOW + timedelta(hours=3), not_taken_by="mail")] == ["new"]
    assert store.enqueue_digest("mail", None, [new.id], NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    watermark = store.watermark("mail")
    assert (watermark.tagged_until, watermark.digested_at) == (NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    assert [e.kind for e in store.owed("mail")] == ["digest"]
