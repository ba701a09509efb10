"""Hostile and broken feeds, all served over loopback, ingested together in two cycles.

Every case asserts its own outcome; all of them share the invariants: the cycle ends within its
time bound, the good feeds' items are stored, no exception escapes, the feed row says what happened.
Slow, silent and oversized servers need a raw socket server (http.server always answers at once).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from click.testing import CliRunner
from conftest import FEEDS, FeedServer, free_port

from newswatch.cli import main
from newswatch.config import load_settings
from newswatch.cycle import ingest
from newswatch.store import Store
from newswatch.store.schema import items

DEADLINE = 2.0
MAX_BYTES = 4 * 1024 * 1024
#: Two deadlines (the slow servers run in parallel) plus parsing a 10,000-item feed on a busy machine.
CYCLE_BOUND = 2 * DEADLINE + 20


class RawServer:
    """A loopback TCP server whose answer depends on the request path: silence, a drip, a flood."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = conn.recv(65536).decode("latin-1")
                path = request.split(" ", 2)[1] if " " in request else "/"
                if path == "/silent.xml":
                    self._stop.wait()
                elif path == "/drip.xml":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
                    while not self._stop.wait(0.2):
                        conn.sendall(b" ")
                elif path == "/huge.xml":
                    size = 50 * 1024 * 1024
                    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                                 f"Content-Length: {size}\r\n\r\n".encode())
                    chunk = b"<!-- padding -->" * 4096
                    for _ in range(size // len(chunk)):
                        conn.sendall(chunk)
            except OSError:  # the client gave up on us, as it should
                pass

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


def rss(items_xml: str, encoding: str = "utf-8") -> str:
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel><title>t</title>'
            f"<link>http://example.org/</link>{items_xml}</channel></rss>")


def gzip_bomb(decoded_size: int = 200 * 1024 * 1024) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    block = b"\0" * (1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(decoded_size // len(block))) + compressor.flush()


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
""" + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)) + """]>
<rss version="2.0"><channel><title>t</title><item><title>Laughs &lol9;</title>
<link>http://laughs.example/a</link><description>d</description></item></channel></rss>"""


def xxe_feed(secret_path: str, callback_url: str) -> str:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{secret_path}"><!ENTITY ping SYSTEM "{callback_url}">]>
<rss version="2.0"><channel><title>t</title><item><title>Leak &leak; &ping;</title>
<link>http://xxe.example/a</link><description>d &leak;</description></item></channel></rss>"""


@dataclass
class Hostile:
    store: Store
    config: str
    server: FeedServer
    first: dict
    second: dict
    seconds: tuple[float, float]
    rows: dict
    before_second: datetime

    def items_of(self, name: str) -> list:
        feed_id = self.rows[name].id
        with self.store.engine.connect() as conn:
            return conn.execute(items.select().where(items.c.feed_id == feed_id).order_by(items.c.id)).all()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_www")
    server, raw = FeedServer(root), RawServer()
    secret = root.parent / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    now = datetime.now(timezone.utc)
    future = format_datetime(now + timedelta(days=30))
    feeds = {
        "Good": server.add_file("korea.xml", (FEEDS / "korea.xml").read_bytes()),
        "Malformed": server.add_file("broken.xml", (FEEDS / "broken.xml").read_bytes()),
        "HTML page": server.route("page.html", headers={"Content-Type": "text/html"},
                                  body="<html><body><h1>Welcome</h1><p>No feed here.</p></body></html>"),
        "Empty": server.route("empty.xml", headers={"Content-Type": "application/rss+xml"}, body=b""),
        "Not found": server.route("gone.xml", status=404, body="not here"),
        "Server error": server.route("error.xml", status=500, body="oops"),
        "Unavailable": server.route("busy.xml", status=503, headers={"Retry-After": "120"}, body="later"),
        "Refused": f"http://127.0.0.1:{free_port()}/feed.xml",
        "Silent": raw.url("silent.xml"),
        "Drip": raw.url("drip.xml"),
        "Huge": raw.url("huge.xml"),
        "Gzip bomb": server.route("bomb.xml", headers={"Content-Type": "application/rss+xml",
                                                        "Content-Encoding": "gzip"}, body=gzip_bomb()),
        "Loop": server.route("loop.xml", status=302, headers={"Location": "/loop.xml"}),
        "Laughs": server.route("laughs.xml", headers={"Content-Type": "application/rss+xml"}, body=BILLION_LAUGHS),
        "XXE": server.route("xxe.xml", headers={"Content-Type": "application/rss+xml"},
                            body=xxe_feed(str(secret), server.url("xxe-callback"))),
        "Wrong charset": server.route(
            "cp1251.xml", headers={"Content-Type": "application/rss+xml; charset=utf-8"},
            body=rss("<item><title>Путин и Ким подписали договор</title><link>http://ru.example/1</link>"
                     "<description>Пхеньян</description></item>", "windows-1251").encode("cp1251")),
        "Bare items": server.route("bare.xml", headers={"Content-Type": "application/rss+xml"},
                                   body=rss("<item><title>No link, no guid, no date</title></item>"
                                            "<item><description>Only a description here</description></item>")),
        "Future": server.route("future.xml", headers={"Content-Type": "application/rss+xml"},
                               body=rss(f"<item><title>From the future</title><link>http://future.example/1</link>"
                                        f"<pubDate>{future}</pubDate></item>")),
        "Ten thousand": server.add_file("big.xml", rss("".join(
            f"<item><title>Item {i} of the big feed</title><link>http://big.example/{i}</link>"
            f"<guid>big-{i}</guid><description>Number {i}.</description></item>" for i in range(10_000)))),
        "Moved": server.route("old.xml", status=301, headers={"Location": "/moved.xml"}),
        "Private": server.url("korea.xml") + "?private",
    }
    server.add_file("moved.xml", rss("<item><title>Moved feed item</title><link>http://moved.example/1</link></item>"))
    tables = "\n".join(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n'
                       + ("allow_private_addresses = false\n" if name == "Private" else "")
                       for name, url in feeds.items())
    config = tmp_path_factory.mktemp("hostile_cfg") / "newswatch.toml"
    config.write_text(f"""
allow_private_addresses = true
data_dir = "{config.parent / 'data'}"
[fetch]
connect_timeout = 1.0
read_timeout = 1.0
deadline = {DEADLINE}
max_bytes = {MAX_BYTES}
max_workers = 8
per_host = 8
{tables}""")
    settings = load_settings(config, env={})
    store = Store.open(settings.database_url)

    def cycle() -> tuple[dict, float]:
        started = time.monotonic()
        outcomes = ingest(settings, store)
        return {o.name: o for o in outcomes}, time.monotonic() - started

    first, first_seconds = cycle()
    before_second = datetime.now(timezone.utc)
    second, second_seconds = cycle()
    rows = {row.name: row for row in store.feed_rows()}
    try:
        yield Hostile(store, str(config), server, first, second, (first_seconds, second_seconds), rows, before_second)
    finally:
        store.close()
        server.close()
        raw.close()


def test_both_cycles_end_within_their_bound_and_good_feeds_are_stored(hostile):
    assert max(hostile.seconds) < CYCLE_BOUND, hostile.seconds
    assert len(hostile.items_of("Good")) == 8
    assert hostile.first["Good"].ok and hostile.second["Good"].not_modified


@pytest.mark.parametrize("name, error", [
    ("HTML page", "not a feed"),
    ("Empty", "not a feed"),
    ("Not found", "HTTP 404"),
    ("Server error", "HTTP 500"),
    ("Unavailable", "HTTP 503"),
    ("Refused", "connection failed"),
    ("Silent", "timed out"),
    ("Drip", "timed out"),
    ("Huge", "larger than the"),
    ("Gzip bomb", "larger than the"),
    ("Loop", "more than 5 redirects"),
    ("Private", "non-public address 127.0.0.1"),
])
def test_each_failure_is_recorded_on_the_feed_row(hostile, name, error):
    row = hostile.rows[name]
    assert error in hostile.first[name].error
    assert error in row.last_error and row.consecutive_failures >= 1
    assert row.items_stored == 0


def test_retry_after_is_honoured_and_the_feed_is_skipped_and_reported(hostile):
    row = hostile.rows["Unavailable"]
    assert row.consecutive_failures == 1
    assert row.next_attempt_at >= hostile.before_second + timedelta(seconds=100)
    skipped = hostile.second["Unavailable"]
    assert skipped.not_due_until == row.next_attempt_at and not skipped.ok and not skipped.failed
    assert [r for r in hostile.server.requests_for("busy.xml")].__len__() == 1


def test_failing_feeds_back_off_from_the_second_failure(hostile):
    row = hostile.rows["Not found"]
    assert row.consecutive_failures == 2 and row.next_attempt_at is not None
    assert row.next_attempt_at - hostile.before_second >= timedelta(seconds=250)


def test_malformed_xml_is_recovered(hostile):
    assert hostile.rows["Malformed"].last_error is None
    assert len(hostile.items_of("Malformed")) == 3


def test_billion_laughs_and_external_entities_are_not_expanded(hostile):
    [laughs] = hostile.items_of("Laughs")
    assert len(laughs.title) < 100 and "lollol" not in laughs.title
    for row in hostile.items_of("XXE"):
        assert "TOP-SECRET-MARKER" not in row.title + row.summary
    assert hostile.server.requests_for("xxe-callback") == []


def test_wrong_charset_in_the_header_falls_back_to_the_xml_declaration(hostile):
    [item] = hostile.items_of("Wrong charset")
    assert item.title == "Путин и Ким подписали договор"


def test_items_without_link_guid_or_date_are_kept(hostile):
    stored = hostile.items_of("Bare items")
    assert sorted(i.title for i in stored) == ["No link, no guid, no date", "Only a description here"]
    assert all(i.key.startswith("text:") and i.published_at is None for i in stored)


def test_future_dates_are_clamped_to_the_fetch_time(hostile):
    [item] = hostile.items_of("Future")
    assert item.published_at == item.fetched_at


def test_a_ten_thousand_item_feed_is_stored_whole_and_costs_a_304_next_time(hostile):
    assert hostile.rows["Ten thousand"].items_stored == 10_000
    assert hostile.second["Ten thousand"].not_modified


def test_a_permanent_redirect_is_remembered(hostile):
    row = hostile.rows["Moved"]
    assert row.url.endswith("/old.xml") and row.fetch_url.endswith("/moved.xml")
    assert len(hostile.server.requests_for("old.xml")) == 1
    assert len(hostile.items_of("Moved")) == 1


def test_feeds_status_shows_the_hostile_feeds_errors(hostile):
    result = CliRunner().invoke(main, ["feeds", "status", "--json", "--config", hostile.config],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    status = {entry["name"]: entry for entry in json.loads(result.output)}
    assert status["Good"]["last_error"] is None and status["Good"]["items_stored"] == 8
    assert status["Drip"]["last_error"].startswith("timed out") and status["Drip"]["consecutive_failures"] >= 1
    assert {"url", "name", "last_error", "consecutive_failures", "items_stored", "healthy",
            "last_success_at", "last_new_item_at", "next_attempt_at"} <= set(status["Gzip bomb"])
    table = CliRunner().invoke(main, ["feeds", "status", "--config", hostile.config])
    assert "Loop <" in table.output and "more than 5 redirects" in table.output
