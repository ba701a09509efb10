"""Refused messages: dead letters that never block a channel, capped messages, partial SMTP refusals, and the
`outbox` commands that show and act on them (real webhook receiver and aiosmtpd on loopback)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from newswatch.cli import main
from newswatch.config import load_settings
from newswatch.cycle import deliver, record_predictions
from newswatch.models import Feed, Item, Prediction
from newswatch.notify import deliver_owed
from newswatch.store import Store

from conftest import TAGGED_AT

NOW = datetime(2026, 5, 4, 0, 30, tzinfo=timezone.utc)
RUSSIA = Prediction({"russia_dprk": 0.95, "alliance_drills": 0.1}, ("russia_dprk",), {"russia_dprk": ("kim",)})


def setup(tmp_path, channels: str):
    path = tmp_path / "newswatch.toml"
    path.write_text(f'data_dir = "{tmp_path / "home"}"\n{channels}')
    return load_settings(path)


def score(store, settings, titles, at=NOW):
    """Store items with these titles and record their predictions, as the cycle does (owing their alerts)."""
    feed = Feed("https://yonhap.example/rss", "Yonhap")
    feed_id = store.sync_feeds([feed])[feed.url]
    items = store.insert_new(feed_id, [Item(key=f"k-{at:%H%M}-{n}", title=title, url=f"https://y.example/{at:%H%M}/{n}",
                                            feed_url=feed.url) for n, title in enumerate(titles)], at)
    record_predictions(store, settings, "m1", items, [RUSSIA] * len(items), at, TAGGED_AT)
    return items


def test_a_message_refused_for_good_is_dead_and_the_channel_goes_on(tmp_path, webhook):
    settings = setup(tmp_path, f"""
        [[channels]]
        name = "hook"
        url = "{webhook.apprise_url()}"
        mode = ["immediate"]
    """)
    store = Store.open(settings.database_url)
    score(store, settings, ["Kim meets Putin"])
    score(store, settings, ["Kim visits Vladivostok"], NOW + timedelta(minutes=5))
    webhook.statuses = [413]  # the first alert is refused for good
    report = deliver(store, settings, TAGGED_AT, clock=lambda: NOW + timedelta(minutes=6))
    assert (report.sent, report.failed, report.dead) == (1, 1, 1)
    [dead, sent] = store.outbox_entries()
    assert (dead.status, sent.status) == ("dead", "sent") and "413" in dead.last_error
    assert deliver(store, settings, TAGGED_AT, clock=lambda: NOW + timedelta(hours=9)).failed == 0  # never tried again

    runner = CliRunner()
    listing = runner.invoke(main, ["outbox", "--config", str(settings.source)], catch_exceptions=False)
    assert f"#{dead.id} dead" in listing.output and "413" in listing.output and f"#{sent.id}" not in listing.output
    not_dead = runner.invoke(main, ["outbox", "retry", str(sent.id), "--config", str(settings.source)])
    assert not_dead.exit_code == 2 and f"Error: outbox: #{sent.id} is not a dead letter" in not_dead.output
    retried = runner.invoke(main, ["outbox", "retry", str(dead.id), "--config", str(settings.source)])
    assert retried.exit_code == 0 and f"#{dead.id} owed again" in retried.output
    assert deliver_owed(store, settings.channels, now=lambda: NOW + timedelta(hours=10)).sent == 1
    assert len(webhook.wait_for(3)) == 3 and store.owed() == []
    store.close()


def test_a_message_that_keeps_failing_is_dead_after_max_attempts_and_can_be_dropped(tmp_path, webhook):
    settings = setup(tmp_path, f"""
        [[channels]]
        name = "hook"
        url = "{webhook.apprise_url()}"
        mode = ["immediate"]
        retry_seconds = 0
        max_attempts = 2
    """)
    store = Store.open(settings.database_url)
    score(store, settings, ["Kim meets Putin"])
    score(store, settings, ["Kim visits Vladivostok"], NOW + timedelta(minutes=5))
    webhook.statuses = [500, 500]  # a transient failure, twice: retried in order, then dead
    first = deliver(store, settings, TAGGED_AT, clock=lambda: NOW + timedelta(minutes=6))
    assert (first.sent, first.failed, first.dead, first.held) == (0, 1, 0, 1)  # the second waits behind it
    second = deliver(store, settings, TAGGED_AT, clock=lambda: NOW + timedelta(minutes=7))
    assert (second.sent, second.failed, second.dead) == (1, 1, 1)
    [dead] = [e for e in store.outbox_entries() if e.status == "dead"]
    assert dead.attempts == 2

    dropped = CliRunner().invoke(main, ["outbox", "drop", str(dead.id), "--config", str(settings.source)])
    assert dropped.exit_code == 0 and f"#{dead.id} dropped" in dropped.output
    listing = CliRunner().invoke(main, ["outbox", "--config", str(settings.source)])
    assert "outbox: nothing owed" in listing.output
    store.close()


def test_an_oversized_title_is_capped_in_messages_and_its_batch_is_delivered(tmp_path, webhook):
    settings = setup(tmp_path, f"""
        [[channels]]
        name = "hook"
        url = "{webhook.apprise_url()}"
        mode = ["immediate"]
    """)
    webhook.max_body = 64 * 1024  # a real endpoint's size limit: larger posts are refused with 413
    store = Store.open(settings.database_url)
    huge = "Kim " + "very " * 60_000 + "long title"  # 300 KB
    items = score(store, settings, [huge, "Kim meets Putin", "Kim visits Vladivostok"])
    report = deliver(store, settings, TAGGED_AT, clock=lambda: NOW)
    assert (report.sent, report.dead) == (1, 0)
    [post] = webhook.wait_for(1)
    assert len(post.body) < 16 * 1024
    assert "Kim meets Putin" in post.json()["message"] and "Kim visits Vladivostok" in post.json()["message"]
    assert store.items_by_id([items[0].id])[0].title == huge  # the store keeps the full text
    store.close()


def test_smtp_refusing_every_recipient_is_dead_and_a_partial_refusal_is_recorded(tmp_path, smtp_server):
    settings = setup(tmp_path, f"""
        [[channels]]
        name = "gone"
        url = "{smtp_server.apprise_url(to="gone@example.org")}"
        mode = ["immediate"]

        [[channels]]
        name = "team"
        url = "{smtp_server.apprise_url(to="ok@example.org,gone@example.org")}"
        mode = ["immediate"]
    """)
    smtp_server.refuse = {"gone@example.org"}
    store = Store.open(settings.database_url)
    score(store, settings, ["Kim meets Putin"])
    report = deliver(store, settings, TAGGED_AT, clock=lambda: NOW)
    assert (report.sent, report.failed, report.dead) == (1, 1, 1)
    assert report.notes and "gone@example.org" in report.notes[0] and "550" in report.notes[0]
    entries = {e.channel: e for e in store.outbox_entries()}
    assert entries["gone"].status == "dead" and "550" in entries["gone"].last_error
    assert entries["team"].status == "sent" and "gone@example.org" in entries["team"].last_error
    assert smtp_server.recipients == [["ok@example.org"]]
    listing = CliRunner().invoke(main, ["outbox", "--all", "--config", str(settings.source)])
    assert "refused: refused recipients: gone@example.org" in listing.output
    store.close()
