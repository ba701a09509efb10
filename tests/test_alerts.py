"""Alerts and digests over real loopback channels: SMTP (aiosmtpd) and an HTTP webhook receiver.

The store is filled directly with items and predictions (no model needed); time is a passed-in clock.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from newswatch import alerts
from newswatch.cli import main
from newswatch.clock import utcnow
from newswatch.config import load_settings
from newswatch.digest import Match, build_digest
from newswatch.models import Feed, Item, Prediction
from newswatch.notify import IDEMPOTENCY_HEADER, deliver_owed
from newswatch.cycle import deliver, record_predictions
from newswatch.store import Store
from shipped_topics import TITLES

from conftest import TAGGED_AT

NOW = datetime(2026, 5, 4, 0, 30, tzinfo=timezone.utc)  # 09:30 in Seoul
TOKEN = "s3cr3t-webhook-token-123"
EVIL = 'Kim <script>alert("x")</script> meets Shoigu & co'


def at(minutes: float):
    """A clock fixed at NOW + minutes."""
    return lambda: NOW + timedelta(minutes=minutes)


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


def configure(tmp_path, home, channels: str, extra: str = ""):
    path = tmp_path / "newswatch.toml"
    path.write_text(f"{extra}\n{channels}")
    return load_settings(path, env={"NEWSWATCH_HOME": str(home)})


def stored(settings, rows, tagged_at=NOW):
    """Items with predictions made at ``tagged_at``; rows: (title, scores, source, minutes before NOW)."""
    store = Store.open(settings.database_url)
    matches = []
    for n, (title, scores, source, age) in enumerate(rows):
        feed = Feed(f"https://{source.lower().replace(' ', '-')}.example/rss", source)
        feed_id = store.sync_feeds([feed])[feed.url]
        [item] = store.insert_new(feed_id, [Item(
            key=f"{title}-{n}-{tagged_at.isoformat()}", title=title, url=f"https://news.example/{n}-{tagged_at:%H%M}?a=1&b=2",
            summary="Officials met in Vladivostok to discuss munitions, labour and satellite technology. " * 4,
            published=NOW - timedelta(minutes=age), feed_url=feed.url)], tagged_at)
        prediction = Prediction(scores=scores, tags=tuple(t for t, s in scores.items() if s >= 0.5),
                                why={t: ("pyongyang", "moscow") for t in scores})
        record_predictions(store, settings, "test-model", [item], [prediction], tagged_at, TAGGED_AT)
        matches.append(Match(item, prediction, source))
    return store, matches


RUSSIA = {"russia_dprk": 0.93, "alliance_drills": 0.1}
RUSSIA_WEAK = {"russia_dprk": 0.62, "alliance_drills": 0.1}
DRILLS = {"russia_dprk": 0.05, "alliance_drills": 0.81}


def test_email_digest_is_multipart_escaped_explained_and_says_what_is_inside(tmp_path, home, smtp_server):
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "mail"
        url = "{smtp_server.apprise_url()}"
        timezone = "Asia/Seoul"
    """, extra='[web]\nbase_url = "https://newswatch.example/"')
    store, _ = stored(settings, [(EVIL, RUSSIA, "Yonhap", 30), ("Putin hosts Kim", RUSSIA_WEAK, "TASS", 10),
                                 ("Freedom Shield starts", DRILLS, "NK News", 5)])
    report = deliver(store, settings, TAGGED_AT, clock=at(1))
    assert (report.sent, report.failed) == (1, 0)

    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "2 new: Russia–DPRK ties, 1 new: alliance drills"
    assert mail[IDEMPOTENCY_HEADER] and mail["Message-ID"].endswith("@newswatch>")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert EVIL in text and "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert text.index("Putin hosts Kim") < text.index("Kim <script>")  # newest first
    assert "2026-05-04 09:20 KST" in text and "score 0.62" in text and "why: pyongyang, moscow" in text
    assert "label: newswatch label 1 russia_dprk yes|no" in text
    assert "https://newswatch.example/items/3" in text and 'href="https://newswatch.example/items/3"' in html
    assert "&amp;b=2" in html  # attribute values escaped too
    store.close()


def test_every_message_a_cycle_delivers_names_the_thresholds_pinned_in_the_config(
        data_dir, seed_models, feed_server, feeds_dir, smtp_server, webhook, tmp_path):
    """Thresholds an analyst chose on the model page (kept in the config) are named in every message a real
    cycle (`newswatch run`, the seed model) delivers: the immediate alert and the digest by mail, plain text
    and HTML; the webhook's Markdown; the digest copy in the data dir."""
    shutil.copytree(seed_models, data_dir / "models")
    feed_server.add_file("korea.xml", (feeds_dir / "korea.xml").read_bytes())
    config = tmp_path / "newswatch.toml"
    config.write_text(f"""
        allow_private_addresses = true

        [topics.russia_dprk]
        threshold = 0.42

        [[feeds]]
        url = "{feed_server.url('korea.xml')}"
        name = "Peninsula Desk"

        [[channels]]
        name = "mail"
        url = "{smtp_server.apprise_url()}"
        mode = ["immediate", "digest"]
        immediate_threshold = 0.3

        [[channels]]
        name = "hook"
        url = "{webhook.apprise_url()}"
        mode = ["immediate"]
        immediate_threshold = 0.3
    """)
    result = CliRunner().invoke(main, ["run", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output

    mails = {mail["Subject"].split(":")[0]: mail for mail in smtp_server.wait_for(2)}
    assert len(mails) == 2 and "Alert" in mails  # the immediate alert and the digest
    for kind, mail in mails.items():
        text, html = (mail.get_body((part,)).get_content() for part in ("plain", "html"))
        assert "tagged at russia_dprk ≥ 0.42" in text.split("\n--\n")[-1], kind
        assert "Tagged at russia_dprk ≥ 0.42" in html or "tagged at russia_dprk ≥ 0.42" in html, kind
    alert = mails["Alert"].get_body(("plain",)).get_content()
    assert "listed at score ≥ 0.30 (this channel's threshold); tagged at russia_dprk ≥ 0.42" in alert
    [post] = webhook.wait_for(1)
    assert "russia\\_dprk ≥ 0.42" in post.json()["message"].splitlines()[-1]
    copies = sorted(load_settings(config).digests_dir.iterdir())
    assert copies and all("russia_dprk ≥ 0.42" in path.read_text().replace("\\_", "_") for path in copies)


def test_one_entry_per_story_with_more_sources_and_every_copy_listed():
    prediction = Prediction({"russia_dprk": 0.9}, ("russia_dprk",))
    copies = [Match(Item(key=str(i), title=f"Treaty signed ({i})", id=i, story_id=1,
                              published=NOW - timedelta(minutes=i)), prediction, source)
              for i, source in enumerate(["Yonhap", "TASS", "NK News"], start=1)]
    alone = Match(Item(key="9", title="Lone report", id=9, published=NOW - timedelta(hours=3)), prediction, "BBC")
    digest = build_digest(copies + [alone], TITLES)
    assert digest.subject == "2 new: Russia–DPRK ties"
    assert digest.text.count("* Treaty signed") == 1 and "+2 sources" in digest.text
    # a copy clustering put in the story is never hidden: each is listed under the lead, in every rendering
    for rendering in (digest.text, digest.markdown, digest.html):
        assert "TASS" in rendering and "Treaty signed (2)" in rendering and "Treaty signed (3)" in rendering
    assert digest.item_ids == (1, 2, 3, 9)


def test_the_digest_copy_streamed_to_its_files_is_the_digest_as_read(tmp_path):
    from newswatch.cycle import write_digest_files

    prediction = Prediction({"russia_dprk": 0.9}, ("russia_dprk",), {"russia_dprk": ("kim", "putin")})
    matches = [Match(Item(key=str(i), title=f"Report <{i}> & *co*", summary="Lead.  " if i % 2 else "", id=i,
                          url="https://a.example/x", published=NOW - timedelta(minutes=i)), prediction, "TASS")
               for i in range(1, 40)]
    digest = build_digest(matches, TITLES, tagged_at={"russia_dprk": 0.42})
    markdown, page = write_digest_files(digest, tmp_path, NOW)
    assert markdown.read_text(encoding="utf-8") == f"# {digest.subject}\n\n{digest.markdown}"
    assert page.read_text(encoding="utf-8") == digest.html
    assert digest.text.endswith("tagged at russia_dprk ≥ 0.42\n") and not digest.markdown.endswith("\n\n")


@pytest.mark.parametrize("lines", [[], [""], ["a"], ["a", "", ""], ["", "", "a"], ["a", "  ", "b  "], ["a ", "", "b", "", ""],
                                   ["  ", "x", "", "y   ", " "]])
def test_a_rendering_in_pieces_is_the_whole_rendering(lines):
    from newswatch.digest import _stripped

    assert "".join(_stripped(iter(lines))) == "\n".join(lines).rstrip() + "\n"


def test_a_stored_story_carried_by_two_outlets_is_one_entry_of_the_mailed_digest(tmp_path, home, smtp_server):
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "mail"
        url = "{smtp_server.apprise_url()}"
    """)
    store, matches = stored(settings, [("Putin and Kim sign treaty", RUSSIA, "TASS", 20),
                                       ("Putin, Kim sign defence treaty", RUSSIA_WEAK, "Yonhap", 10)])
    first, second = (m.item.id for m in matches)
    store.set_stories({second: first})  # what clustering does when the second copy arrives
    report = deliver(store, settings, TAGGED_AT, clock=at(1))
    assert (report.sent, report.failed) == (1, 0)

    [mail] = smtp_server.wait_for(1)
    text = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "1 new: Russia–DPRK ties"
    assert "* Putin and Kim sign treaty" in text and "+1 source" in text and "* Putin, Kim sign defence" not in text
    assert "also: Yonhap" in text and "Putin, Kim sign defence treaty" in text  # listed under the lead, not hidden
    store.close()


def test_each_channel_gets_its_topics_and_threshold_webhooks_get_markdown_with_a_key(tmp_path, home, smtp_server,
                                                                                      webhook):
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "drills-hook"
        url = "{webhook.apprise_url(token=TOKEN)}"
        topics = ["alliance_drills"]

        [[channels]]
        name = "mail"
        url = "{smtp_server.apprise_url()}"
        topics = ["russia_dprk"]
        threshold = 0.9
    """)
    store, _ = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 30), ("Putin hosts Kim", RUSSIA_WEAK, "TASS", 10),
                                 ("Freedom Shield starts", DRILLS, "NK News", 5)])
    deliver(store, settings, TAGGED_AT, clock=at(1))

    [post] = webhook.wait_for(1)
    payload = post.json()
    assert payload["title"] == "1 new: alliance drills"
    assert "Freedom Shield starts" in payload["message"] and "Treaty" not in payload["message"]
    assert "`newswatch label 3 alliance_drills yes|no`" in payload["message"]
    assert payload["idempotency_key"] == post.headers[IDEMPOTENCY_HEADER]
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "1 new: Russia–DPRK ties"
    assert "Treaty ratified" in mail.get_body(("plain",)).get_content()
    assert "Putin hosts Kim" not in mail.get_body(("plain",)).get_content()  # 0.62 is under the channel's 0.9
    store.close()


def test_immediate_alerts_are_held_through_quiet_hours_and_sent_when_they_end(tmp_path, home, webhook):
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "pager"
        url = "{webhook.apprise_url()}"
        mode = "immediate"
        immediate_threshold = 0.9
        quiet_hours = "22:00-07:00"
        timezone = "Asia/Seoul"
    """)
    night = datetime(2026, 5, 3, 14, 30, tzinfo=timezone.utc)  # 23:30 in Seoul
    store, matches = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 1), ("Putin hosts Kim", RUSSIA_WEAK, "TASS", 1)],
                            tagged_at=night)
    report = deliver(store, settings, TAGGED_AT, clock=lambda: night)
    assert (report.sent, report.held) == (0, 1)
    [held] = store.owed("pager")
    assert held.kind == "immediate" and held.next_attempt_at == datetime(2026, 5, 3, 22, 0, tzinfo=timezone.utc)

    assert deliver_owed(store, settings.channels, now=lambda: datetime(2026, 5, 3, 21, 59, tzinfo=timezone.utc)).sent == 0
    assert webhook.wait_for(1, timeout=0.3) == []
    assert deliver_owed(store, settings.channels, now=lambda: datetime(2026, 5, 3, 22, 1, tzinfo=timezone.utc)).sent == 1
    [post] = webhook.wait_for(1)
    assert post.json()["title"] == "Alert: 1 new: Russia–DPRK ties" and "Putin" not in post.json()["message"]
    assert deliver_owed(store, settings.channels, now=lambda: datetime(2026, 5, 3, 23, 0, tzinfo=timezone.utc)).sent == 0
    assert len(webhook.wait_for(2, timeout=0.3)) == 1
    store.close()


def test_daily_digest_is_due_once_a_day_and_holds_what_was_tagged_since_the_last(tmp_path, home, webhook):
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "daily"
        url = "{webhook.apprise_url()}"
        schedule = "daily"
        at = "07:00"
        timezone = "Asia/Seoul"
    """)
    seoul_0630 = datetime(2026, 5, 3, 21, 30, tzinfo=timezone.utc)
    store, _ = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 1)], tagged_at=seoul_0630 - timedelta(hours=1))
    assert deliver(store, settings, TAGGED_AT, clock=lambda: seoul_0630).sent == 1  # the first digest is due at once
    stored(settings, [("Freedom Shield starts", DRILLS, "NK News", 1)], tagged_at=seoul_0630 + timedelta(minutes=10))
    assert deliver(store, settings, TAGGED_AT, clock=lambda: seoul_0630 + timedelta(minutes=29)).sent == 0  # 06:59
    assert deliver(store, settings, TAGGED_AT, clock=lambda: seoul_0630 + timedelta(minutes=31)).sent == 1  # 07:01
    assert deliver(store, settings, TAGGED_AT, clock=lambda: seoul_0630 + timedelta(hours=5)).sent == 0
    first, second = (p.json() for p in webhook.wait_for(2))
    assert "Treaty" in first["message"] and "Freedom Shield" in second["message"] and "Treaty" not in second["message"]
    store.close()


def test_schedule_slots_in_the_channel_time_zone():
    from newswatch.config import DigestSchedule
    from datetime import time

    now = datetime(2026, 5, 6, 1, 0, tzinfo=timezone.utc)  # Wednesday 10:00 in Seoul
    slot = lambda every, **kw: alerts.last_slot(DigestSchedule(every, **kw), "Asia/Seoul", now)  # noqa: E731
    assert slot("cycle") is None
    assert slot("hourly", at=time(0, 15)).strftime("%a %H:%M") == "Wed 09:15"
    assert slot("daily", at=time(11, 0)).strftime("%a %H:%M") == "Tue 11:00"
    assert slot("weekly", at=time(7, 0), weekday=3).strftime("%a %d %H:%M") == "Thu 30 07:00"


def test_smtp_refusing_then_back_delivers_exactly_once_after_backoff(tmp_path, home, smtp_server):
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "mail"
        url = "{smtp_server.apprise_url()}"
        retry_seconds = 60
    """)
    store, _ = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 1)])
    smtp_server.stop()
    down = deliver(store, settings, TAGGED_AT, clock=at(1))
    assert (down.sent, down.failed) == (0, 1) and "Connection refused" in down.errors[0]
    [entry] = store.owed("mail")
    assert (entry.status, entry.attempts, entry.next_attempt_at) == ("failed", 1, NOW + timedelta(minutes=2))
    smtp_server.start()
    assert deliver_owed(store, settings.channels, now=at(1.5)).sent == 0  # still backing off
    assert deliver_owed(store, settings.channels, now=at(2.5)).sent == 1
    assert deliver_owed(store, settings.channels, now=at(60)).sent == 0
    assert len(smtp_server.wait_for(2, timeout=0.5)) == 1
    assert store.owed() == []
    store.close()


def test_backoff_doubles_while_a_webhook_fails_then_it_is_delivered_once(tmp_path, home, webhook):
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "hook"
        url = "{webhook.apprise_url(token=TOKEN)}"
        retry_seconds = 10
    """)
    store, _ = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 1)])
    webhook.statuses = [500, 500]
    assert deliver(store, settings, TAGGED_AT, clock=at(0)).failed == 1
    assert store.owed()[0].next_attempt_at == NOW + timedelta(seconds=10)
    assert deliver_owed(store, settings.channels, now=at(0.5)).failed == 1
    [entry] = store.owed()
    assert entry.attempts == 2 and entry.next_attempt_at == NOW + timedelta(seconds=30 + 20)
    assert TOKEN not in entry.last_error and "500" in entry.last_error
    assert deliver_owed(store, settings.channels, now=at(1)).sent == 1
    assert deliver_owed(store, settings.channels, now=at(5)).sent == 0
    posts = webhook.wait_for(3)
    assert len(posts) == 3 and len({p.headers[IDEMPOTENCY_HEADER] for p in posts}) == 1
    store.close()


def test_killed_between_send_and_mark_resends_once_with_the_same_key(tmp_path, home, webhook):
    """The receiver SIGKILLs the sending process as the message arrives (received, never marked).

    Documented semantics: at-least-once with an idempotency key. The next run inside STALE_CLAIM
    leaves the claim alone; after it, the message goes out again with the same key, once."""
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "hook"
        url = "{webhook.apprise_url()}"
    """)
    store, _ = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 1)], tagged_at=utcnow())  # the CLI digests now
    env = {**os.environ, "NEWSWATCH_HOME": str(home)}
    child = subprocess.Popen([sys.executable, "-m", "newswatch", "digest", "--config", str(settings.source)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    webhook.on_request = lambda _post: os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=60) == -signal.SIGKILL
    webhook.on_request = None
    [entry] = store.owed()
    assert entry.status == "sending" and entry.claimed_at is not None

    claimed = entry.claimed_at
    assert deliver_owed(store, settings.channels, now=lambda: claimed + timedelta(minutes=1)).sent == 0
    assert deliver_owed(store, settings.channels, now=lambda: claimed + timedelta(minutes=6)).sent == 1
    assert deliver_owed(store, settings.channels, now=lambda: claimed + timedelta(minutes=30)).sent == 0
    posts = webhook.wait_for(3, timeout=0.5)
    assert len(posts) == 2 and posts[0].body == posts[1].body
    assert len({p.headers[IDEMPOTENCY_HEADER] for p in posts}) == 1  # a receiver keeping keys sees it once
    assert store.owed() == []
    store.close()


def test_outbox_command_masks_secrets_and_digest_dry_run_changes_nothing(tmp_path, home, webhook, monkeypatch):
    monkeypatch.setenv("NEWSWATCH_HOME", str(home))
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "hook"
        url = "json://user:{TOKEN}@127.0.0.1:9/{TOKEN}"
    """)
    store, _ = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 1)], tagged_at=utcnow())  # the CLI digests now
    runner = CliRunner()
    dry = runner.invoke(main, ["digest", "--dry-run", "--config", str(settings.source)], catch_exceptions=False)
    assert dry.exit_code == 0 and "1 new: Russia–DPRK ties" in dry.output and "newswatch label 1" in dry.output
    assert store.outbox_entries() == [] and store.watermark("hook") is None

    sent = runner.invoke(main, ["digest", "--config", str(settings.source)], catch_exceptions=False)
    assert "alerts: 0 sent, 1 failed" in sent.output and TOKEN not in sent.output
    listing = runner.invoke(main, ["outbox", "--config", str(settings.source)], catch_exceptions=False)
    assert "failed" in listing.output and "hook" in listing.output and "attempts 1" in listing.output
    assert TOKEN not in listing.output and "last error" in listing.output
    again = runner.invoke(main, ["digest", "--since", "2026-05-01T00:00", "--config", str(settings.source)],
                          catch_exceptions=False)
    assert again.exit_code == 0 and len(store.outbox_entries()) == 1  # the same items: owed once, not twice
    store.close()


def test_a_channel_url_apprise_cannot_parse_keeps_its_password_out_of_apprises_own_logs(tmp_path, home, caplog,
                                                                                        monkeypatch):
    monkeypatch.setenv("NEWSWATCH_HOME", str(home))
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "hook"
        url = "json://user:{TOKEN}@"

        [[channels]]
        name = "mail"
        url = "mailtos://analyst:{TOKEN}@/?to=desk@example.org"
    """)
    store, _ = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 1)], tagged_at=utcnow())
    runner = CliRunner()
    with caplog.at_level(logging.DEBUG):
        sent = runner.invoke(main, ["digest", "--config", str(settings.source)], catch_exceptions=False)
        listing = runner.invoke(main, ["outbox", "--config", str(settings.source)], catch_exceptions=False)
    assert "alerts: 0 sent, 2 failed" in sent.output and "not a usable apprise URL" in sent.output
    assert "Unparseable JSON URL ****" in caplog.text, "apprise says what it could not read, masked"
    assert TOKEN not in sent.output + listing.output + caplog.text
    store.close()


@pytest.mark.parametrize("channel, message", [
    ('mode = "sometimes"', "channels[0].mode: unknown value 'sometimes'"),
    ('quiet_hours = "22-7"', "channels[0].quiet_hours: expected a time of day"),
    ('quiet_hours = "22:00"', 'channels[0].quiet_hours: expected "HH:MM-HH:MM"'),
    ('schedule = "monthly"', "channels[0].schedule: unknown schedule 'monthly'"),
    ('timezone = "Mars/Olympus"', "channels[0].timezone: unknown time zone"),
    ("immediate_threshold = 1.5", "channels[0].immediate_threshold: must be above 0"),
    ('colour = "red"', "channels[0].colour: unknown key"),
])
def test_channel_config_errors_name_the_file_and_key(tmp_path, channel, message):
    path = tmp_path / "c.toml"
    path.write_text(f'[[channels]]\nurl = "json://127.0.0.1/x"\n{channel}\n')
    with pytest.raises(ValueError) as error:
        load_settings(path, env={})
    assert str(error.value).startswith(f"{path}: {message}")


def test_a_failed_immediate_alert_whose_retry_falls_in_quiet_hours_waits_for_their_end(tmp_path, home, webhook):
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "pager"
        url = "{webhook.apprise_url()}"
        mode = ["immediate"]
        quiet_hours = "22:00-07:00"
        timezone = "Asia/Seoul"
    """)
    evening = datetime(2026, 5, 3, 12, 59, tzinfo=timezone.utc)  # 21:59 in Seoul
    store, matches = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 1)], tagged_at=evening)
    webhook.statuses = [500]
    assert deliver(store, settings, TAGGED_AT, clock=lambda: evening).failed == 1
    assert deliver_owed(store, settings.channels, now=lambda: evening + timedelta(minutes=5)).held == 1
    morning = datetime(2026, 5, 3, 22, 0, tzinfo=timezone.utc)  # 07:00 in Seoul
    assert deliver_owed(store, settings.channels, now=lambda: morning).sent == 1
    assert len(webhook.wait_for(2)) == 2
    store.close()


def test_a_channel_added_to_a_store_with_history_is_sent_what_is_new_not_its_history(tmp_path, home, webhook):
    """A channel's first digest begins one period of its schedule before its last scheduled time: added to a store
    that has watched for months it is not sent every story of them (over a million items that also meant reading
    them all). `newswatch digest --since` still reaches back as far as asked."""
    settings = configure(tmp_path, home, f"""
        [[channels]]
        name = "hook"
        url = "{webhook.apprise_url()}"
        schedule = "daily"
        at = "07:00"
        timezone = "Asia/Seoul"
    """)
    store, _ = stored(settings, [("Treaty ratified", RUSSIA, "Yonhap", 1)], tagged_at=NOW - timedelta(days=40))
    store.close()
    store, _ = stored(settings, [("Shoigu in Pyongyang", RUSSIA, "KCNA", 1)], tagged_at=NOW - timedelta(hours=20))
    [planned] = alerts.owe_due(store, settings, NOW, TAGGED_AT)  # 09:30 Seoul time: the day's 07:00 digest is due
    assert planned.since == datetime(2026, 5, 2, 22, 0, tzinfo=timezone.utc)  # 07:00 Seoul the day before
    assert "Shoigu in Pyongyang" in planned.digest.text and "Treaty ratified" not in planned.digest.text
    [asked] = alerts.digest_now(store, settings, NOW, since=NOW - timedelta(days=60), dry_run=True, tagged_at=TAGGED_AT)
    assert "Treaty ratified" in asked.digest.text
    store.close()
