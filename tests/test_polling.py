"""Adaptive polling: the scheduled cycle polls busy feeds often, quiet ones every max_poll, one host within
its hourly share, and never a feed backing off after failures; `newswatch run` by hand fetches every feed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import sqlalchemy as sa

from newswatch.config import FetchSettings, load_settings
from newswatch.cycle import host_share, ingest, poll_interval
from test_ingest import store, write_config  # noqa: F401  (store is a fixture)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
SETTINGS = FetchSettings()  # min_poll 60 s, max_poll 900 s, 120 polls per host and hour


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def rss(published: list[datetime], name: str) -> str:
    items = "".join(f"<item><title>{name} {when:%H%M%S}</title><link>https://n.example/{name}/{when:%H%M%S}</link>"
                    f"<pubDate>{format_datetime(when)}</pubDate></item>" for when in published)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}</channel></rss>'




def test_a_busy_feed_is_polled_at_min_poll_and_a_quiet_or_silent_one_at_max_poll():
    busy = (20, NOW - timedelta(hours=1), NOW - timedelta(minutes=2))  # an item every 3 minutes
    assert poll_interval(busy, SETTINGS, NOW) == 60
    steady = (6, NOW - timedelta(hours=1), NOW - timedelta(minutes=5))  # one every 10 minutes: polled every 150 s
    assert poll_interval(steady, SETTINGS, NOW) == 150
    assert poll_interval((3, NOW - timedelta(hours=20), NOW - timedelta(hours=5)), SETTINGS, NOW) == 900
    assert poll_interval((0, None, None), SETTINGS, NOW) == 900


def test_a_feed_gone_quiet_or_an_undated_backlog_does_not_stay_busy():
    # 30 items an hour until two hours ago, then nothing: the time since the last one is the gap
    assert poll_interval((60, NOW - timedelta(hours=4), NOW - timedelta(hours=2)), SETTINGS, NOW) == 900
    # an undated backlog of 50 stored at once 20 minutes ago: polled every 300 s, not every minute
    stored = NOW - timedelta(minutes=20)
    assert poll_interval((50, stored, stored), SETTINGS, NOW) == 300


def test_one_host_is_never_polled_more_than_its_hourly_share():
    busy, quiet = 60.0, 900.0  # wanted intervals: 60 and 4 polls an hour
    four_busy = {f"https://a.example/{i}": busy for i in range(4)}
    assert host_share("https://a.example/0", four_busy, SETTINGS) == 120  # four feeds share 120 polls an hour
    # two busy feeds beside six quiet ones: the quiet keep their 4 an hour, the busy split the other 96
    mixed = {**{f"https://a.example/q{i}": quiet for i in range(6)}, **{f"https://a.example/b{i}": busy for i in range(2)}}
    assert host_share("https://a.example/b0", mixed, SETTINGS) == 75
    assert host_share("https://a.example/q0", mixed, SETTINGS) == 900
    assert host_share("https://b.example/alone", {"https://b.example/alone": busy}, SETTINGS) == 60  # its host's only feed
    sixty_quiet = {f"https://a.example/{i}": quiet for i in range(60)}
    assert host_share("https://a.example/0", sixty_quiet, SETTINGS) == 1800  # politeness wins over max_poll


def test_the_scheduled_cycle_polls_each_feed_on_its_own_schedule(feed_server, tmp_path, store):
    clock = Clock(NOW)
    busy = [NOW - timedelta(minutes=3 * i) for i in range(20)]
    quiet = [NOW - timedelta(hours=9), NOW - timedelta(hours=20)]
    feed_server.route("busy.xml", body=rss(busy, "busy"))
    feed_server.route("quiet.xml", body=rss(quiet, "quiet"))
    settings = load_settings(write_config(tmp_path, {"Busy": feed_server.url("busy.xml"),
                                                    "Quiet": feed_server.url("quiet.xml")}), env={})
    first = {o.name: o for o in ingest(settings, store, clock=clock, due_only=True)}  # never polled: both due
    assert len(first["Busy"].new_items) == 20 and len(first["Quiet"].new_items) == 2
    rows = {row.name: row for row in store.feed_rows()}
    assert rows["Busy"].next_poll_at == NOW + timedelta(seconds=60)
    assert rows["Quiet"].next_poll_at == NOW + timedelta(seconds=900)

    clock.advance(60)
    writes: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: writes.append(statement) if "UPDATE feeds" in statement else None)
    second = {o.name: o for o in ingest(settings, store, clock=clock, due_only=True)}
    assert second["Busy"].ok and second["Quiet"].waiting_until == NOW + timedelta(seconds=900)
    # the busy feed: its lease, then its success, which releases the lease; the waiting feed takes no write (no lease
    # either)
    assert len(writes) == 2, writes
    assert not second["Quiet"].ok and not second["Quiet"].failed
    assert len(feed_server.requests_for("busy.xml")) == 2 and len(feed_server.requests_for("quiet.xml")) == 1

    by_hand = ingest(settings, store, clock=clock)  # `newswatch run`: every feed, now
    assert all(o.ok for o in by_hand) and len(feed_server.requests_for("quiet.xml")) == 2


def test_failure_backoff_wins_over_the_poll_time(feed_server, tmp_path, store):
    clock = Clock(NOW)
    feed_server.route("f.xml", body=rss([NOW - timedelta(minutes=3 * i) for i in range(20)], "f"))
    settings = load_settings(write_config(tmp_path, {"F": feed_server.url("f.xml")}), env={})
    ingest(settings, store, clock=clock, due_only=True)
    feed_server.route("f.xml", status=503)
    for _ in range(2):  # the second failure in a row backs off for backoff_base (300 s)
        clock.advance(60)
        [failed] = ingest(settings, store, clock=clock, due_only=True)
        assert failed.failed
    [row] = store.feed_rows()
    assert row.next_attempt_at == clock.now + timedelta(seconds=300) and row.poll_due(clock.now + timedelta(60))
    clock.advance(60)
    [skipped] = ingest(settings, store, clock=clock, due_only=True)
    assert skipped.not_due_until == row.next_attempt_at
    [by_hand] = ingest(settings, store, clock=clock)
    assert by_hand.not_due_until == row.next_attempt_at
    assert len(feed_server.requests_for("f.xml")) == 3


@pytest.mark.parametrize("hosts", [("127.0.0.1",), ("127.0.0.1", "localhost")])
def test_a_shared_host_gets_at_most_its_hourly_share_over_an_hour_of_cycles(feed_server, tmp_path, store, hosts):
    """Three feeds on each host: a host's feeds share its polls, and only its own feeds do."""
    clock = Clock(NOW)
    names = [f"f{i}" for i in range(3)]

    def publish() -> None:  # each feed publishes a new item every minute
        for name in names:
            feed_server.route(f"{name}.xml", body=rss([clock.now - timedelta(minutes=m) for m in range(20)], name))

    urls = {f"{n}@{host}": feed_server.url(f"{n}.xml").replace("127.0.0.1", host) for n in names for host in hosts}
    settings = load_settings(write_config(tmp_path, urls, fetch="per_host_per_hour = 30"), env={})
    polled = []
    for _ in range(120):  # two hours of scheduled cycles, one a minute
        publish()
        before = len(feed_server.requests)
        ingest(settings, store, clock=clock, due_only=True)
        polled.append(len(feed_server.requests) - before)
        clock.advance(60)
    # the first polls share the hour with feeds not yet known to be busy; from then on every feed waits
    # 3600 * 3 / 30 = 360 s: thirty polls an hour per host, the limit
    assert sum(polled[:60]) <= (30 + 3) * len(hosts) and sum(polled[60:]) == 30 * len(hosts)
