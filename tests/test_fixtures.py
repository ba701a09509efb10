"""Proof that the shared fixtures in conftest.py behave as documented (no newswatch import here)."""

from __future__ import annotations

import email.utils
import os
import time
from pathlib import Path

import feedparser
import pytest
import requests

FEEDS = Path(__file__).resolve().parent / "feeds"
SHARED = Path(__file__).resolve().parents[2] / "shared"


# ----------------------------------------------------------------------------- feed_server


def test_feed_server_serves_file_with_validators(feed_server):
    feed_server.add_file("korea.xml", (FEEDS / "korea.xml").read_bytes())
    r = requests.get(feed_server.url("korea.xml"), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/rss+xml"
    assert r.headers["ETag"].startswith('"') and r.headers["ETag"].endswith('"')
    assert email.utils.parsedate_to_datetime(r.headers["Last-Modified"]) is not None
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo
    assert len(parsed.entries) == 8
    assert feed_server.requests[-1][0] == "GET"
    assert feed_server.requests[-1][1] == "/korea.xml"


def test_conditional_get_gives_304(feed_server):
    url = feed_server.add_file("feed.xml", (FEEDS / "korea.xml").read_bytes())
    first = requests.get(url, timeout=5)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]

    by_etag = requests.get(url, headers={"If-None-Match": etag}, timeout=5)
    assert by_etag.status_code == 304
    assert by_etag.content == b""
    assert by_etag.headers["ETag"] == etag

    by_date = requests.get(url, headers={"If-Modified-Since": last_modified}, timeout=5)
    assert by_date.status_code == 304

    both = requests.get(url, headers={"If-None-Match": etag, "If-Modified-Since": last_modified},
                        timeout=5)
    assert both.status_code == 304

    # the request headers are recorded
    sent = feed_server.requests_for("feed.xml")
    assert [m for m, _, _ in sent] == ["GET"] * 4
    assert sent[1][2]["If-None-Match"] == etag


def test_changed_file_gives_200_and_new_etag(feed_server):
    url = feed_server.add_file("feed.xml", b"<rss version='2.0'><channel/></rss>",
                               mtime=time.time() - 3600)
    first = requests.get(url, timeout=5)
    feed_server.add_file("feed.xml", (FEEDS / "korea.xml").read_bytes())
    again = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=5)
    assert again.status_code == 200
    assert again.headers["ETag"] != first.headers["ETag"]
    # a stale If-Modified-Since alone no longer matches either
    stale = requests.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]},
                         timeout=5)
    assert stale.status_code == 200


def test_canned_routes_and_404(feed_server):
    feed_server.add_file("gone.xml", b"<rss/>")
    feed_server.route("gone.xml", status=410, body=b"gone")  # route overrides the file
    feed_server.route("boom.xml", status=503, headers={"Retry-After": "120"}, body="try later")
    feed_server.route("moved.xml", status=301, headers={"Location": feed_server.url("new.xml")})
    feed_server.add_file("new.xml", (FEEDS / "world.atom").read_bytes())

    assert requests.get(feed_server.url("gone.xml"), timeout=5).status_code == 410
    boom = requests.get(feed_server.url("boom.xml"), timeout=5)
    assert (boom.status_code, boom.headers["Retry-After"], boom.text) == (503, "120", "try later")
    moved = requests.get(feed_server.url("moved.xml"), timeout=5)
    assert moved.status_code == 200 and moved.history[0].status_code == 301
    assert feedparser.parse(moved.content).version == "atom10"
    assert requests.get(feed_server.url("missing.xml"), timeout=5).status_code == 404
    assert requests.get(feed_server.url("../../etc/passwd"), timeout=5).status_code == 404


def test_sample_feeds_parse_as_documented():
    korea = feedparser.parse(str(FEEDS / "korea.xml"))
    world = feedparser.parse(str(FEEDS / "world.atom"))
    broken = feedparser.parse(str(FEEDS / "broken.xml"))
    assert (korea.version, korea.bozo, len(korea.entries)) == ("rss20", False, 8)
    assert sum(1 for e in korea.entries if "id" not in e) == 1
    assert (world.version, world.bozo, len(world.entries)) == ("atom10", False, 6)
    assert sum(1 for e in world.entries if e.get("content")) == 1
    assert broken.bozo and len(broken.entries) == 3


# ----------------------------------------------------------------------------- smtp_server


def test_apprise_delivers_html_digest_over_plain_smtp(smtp_server):
    apprise = pytest.importorskip("apprise")
    url = smtp_server.apprise_url(to="analyst@example.org")
    assert url.startswith("mailto://127.0.0.1:")

    notifier = apprise.Apprise()
    assert notifier.add(url), f"apprise rejected {url}"
    ok = notifier.notify(
        title="newswatch: 2 new items",
        body="<h1>Digest</h1><p>Putin &amp; Kim sign treaty</p>",
        body_format=apprise.NotifyFormat.HTML,
    )
    assert ok
    messages = smtp_server.wait_for(1)
    assert len(messages) == 1
    msg = messages[0]
    assert smtp_server.recipients == [["analyst@example.org"]]
    assert msg["Subject"] == "newswatch: 2 new items"
    assert msg["To"] == "analyst@example.org"
    assert msg["From"] == "newswatch@example.org"
    assert msg.is_multipart()
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and "<p>Putin &amp; Kim sign treaty</p>" in html.get_content()
    # apprise 1.x also adds a text/plain alternative rendered from the HTML
    plain = msg.get_body(preferencelist=("plain",))
    assert plain is not None and "Putin & Kim sign treaty" in plain.get_content()


def test_smtp_server_can_go_down_and_come_back(smtp_server):
    apprise = pytest.importorskip("apprise")
    notifier = apprise.Apprise()
    notifier.add(smtp_server.apprise_url())
    port = smtp_server.port

    smtp_server.stop()
    assert not smtp_server.running
    assert notifier.notify(title="while down", body="x") is False
    assert smtp_server.messages == []

    smtp_server.start()
    assert smtp_server.port == port
    # a fresh Apprise: each apprise plugin instance waits 5.5 s between two sends (throttle)
    notifier = apprise.Apprise()
    notifier.add(smtp_server.apprise_url())
    assert notifier.notify(title="back up", body="y") is True
    assert [m["Subject"] for m in smtp_server.wait_for(1)] == ["back up"]


# ----------------------------------------------------------------------------- misc


def test_data_dir_sets_env(data_dir):
    assert data_dir.is_dir()
    assert os.environ["NEWSWATCH_HOME"] == str(data_dir)


def test_shared_and_dev_set(dev_set, shared_dir):
    assert shared_dir == SHARED
    assert dev_set == SHARED / "eval" / "dev.jsonl"
    assert dev_set.stat().st_size > 0


def test_prefect_home_runs_a_flow_in_ephemeral_mode(prefect_home):
    from prefect import flow
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_HOME,
    )

    assert PREFECT_HOME.value() == prefect_home
    assert PREFECT_API_URL.value() is None
    assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None

    @flow(name="fixture-smoke", persist_result=False)
    def add(a: int, b: int) -> int:
        return a + b

    assert add(2, 3) == 5
