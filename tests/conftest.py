"""Shared pytest fixtures for newswatch.

Everything here uses real sockets bound to 127.0.0.1 -- no mocks:

* ``feed_server``   -- threaded HTTP server serving files (ETag / Last-Modified / 304) and canned routes
* ``smtp_server``   -- aiosmtpd server collecting messages; ``apprise_url()`` for apprise ``mailto://``
* ``data_dir``      -- temp dir exported as ``NEWSWATCH_HOME``
* ``prefect_home``  -- opt-in: isolated Prefect home, ephemeral API, heartbeats off
* ``SHARED`` / ``shared_dir`` / ``dev_set`` -- the public material kept in ``../shared``
* ``FEEDS`` / ``feeds_dir`` -- the sample feeds in ``tests/feeds``

This module must not import ``newswatch`` (the fixtures have to work while the package is broken or
absent), nor ``prefect`` at import time (it is slow and reads its settings on import).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import http.server
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
#: ``../shared`` next to the repository (public material kept outside the project).
SHARED = Path(__file__).resolve().parents[2] / "shared"
#: Sample feeds shipped with the tests.
FEEDS = Path(__file__).resolve().parent / "feeds"

LOOPBACK = "127.0.0.1"

TAGGED_AT = {"russia_dprk": 0.5, "alliance_drills": 0.5}
"""The tagging thresholds a test's hand-made predictions (tags where a score is ≥ 0.5) were made at:
what every owed message names in its footer."""


def scores_by(store, model_version: str) -> list:
    """(item, scores) of every stored item, oldest first, by the item's latest prediction, which must be
    ``model_version``'s: what a test reads back after one model scored a store."""
    from newswatch.store import ItemFilter

    rows = store.scored_items(ItemFilter(scored=True), limit=1_000_000)
    assert {row.model_version for row in rows} <= {model_version}
    return sorted(((row.item, dict(row.prediction.scores)) for row in rows), key=lambda pair: pair[0].id)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------------
# HTTP feed server
# --------------------------------------------------------------------------------------------------

CONTENT_TYPES = {
    ".xml": "application/rss+xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass
class CannedResponse:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    """Seconds to wait before answering (a slow feed)."""


class _FeedHandler(http.server.BaseHTTPRequestHandler):
    server_version = "newswatch-test-feed/1.0"
    protocol_version = "HTTP/1.1"
    owner: "FeedServer"  # set on the per-server subclass

    def log_message(self, format, *args):  # noqa: A002 - silence default stderr logging
        pass

    def do_GET(self):
        self._serve(send_body=True)

    def do_HEAD(self):
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        owner = self.owner
        path = urlsplit(self.path).path
        owner._record(self.command, self.path, dict(self.headers.items()))
        time.sleep(owner.delay)

        canned = owner._routes.get(path)
        if canned is not None:
            time.sleep(canned.delay)
            body = canned.body if isinstance(canned.body, bytes) else str(canned.body).encode()
            self._respond(canned.status, canned.headers, body, send_body)
            return

        rel = unquote(path).lstrip("/")
        target = (owner.root / rel).resolve()
        root = owner.root.resolve()
        if (target != root and root not in target.parents) or not target.is_file():
            self._respond(404, {"Content-Type": "text/plain"}, b"not found\n", send_body)
            return

        body = target.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        mtime = int(target.stat().st_mtime)
        last_modified = email.utils.formatdate(mtime, usegmt=True)
        ctype = CONTENT_TYPES.get(target.suffix.lower(), "application/octet-stream")
        validators = {"ETag": etag, "Last-Modified": last_modified}

        if self._not_modified(etag, mtime):
            self._respond(304, validators, b"", send_body=False)
            return
        self._respond(200, {"Content-Type": ctype, **validators}, body, send_body)

    def _not_modified(self, etag: str, mtime: int) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # RFC 9110: If-None-Match takes precedence over If-Modified-Since
            tags = [t.strip() for t in inm.split(",")]
            return "*" in tags or etag in tags or ("W/" + etag) in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims)
            except (TypeError, ValueError, IndexError):
                return False
            if since is None:
                return False
            return mtime <= int(since.timestamp())
        return False

    def _respond(self, status: int, headers: dict, body: bytes, send_body: bool) -> None:
        self.send_response(status)
        names = {k.lower() for k in headers}
        for k, v in headers.items():
            self.send_header(k, str(v))
        if "content-length" not in names and status != 304 and not 100 <= status < 200:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body and status not in (204, 304):
            self.wfile.write(body)


class _QuietThreadingHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # client hung up etc.: not the test's concern
        pass


class FeedServer:
    """A real HTTP server on 127.0.0.1 serving files from ``root`` plus canned routes."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        #: seconds every response waits before it is sent (a slow network keeps a cycle busy for a while)
        self.delay = 0.0
        self._lock = threading.Lock()
        self._routes: dict[str, CannedResponse] = {}
        handler = type("Handler", (_FeedHandler,), {"owner": self})
        self._httpd = _QuietThreadingHTTPServer((LOOPBACK, 0), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"feed-server-{self.port}", daemon=True,
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def url(self, path: str = "") -> str:
        return f"{self.base_url}/{quote(path.lstrip('/'), safe='/?=&%:@')}"

    def route(self, path: str, status: int = 200, headers: dict | None = None,
              body: bytes | str = b"", delay: float = 0.0) -> str:
        """Register a canned response for ``path`` (takes precedence over files). Returns its URL."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._routes["/" + path.lstrip("/")] = CannedResponse(status, dict(headers or {}), body, delay)
        return self.url(path)

    def add_file(self, name: str, data: bytes | str, mtime: float | None = None) -> str:
        """Write ``data`` to ``root/name`` (optionally setting its mtime). Returns its URL."""
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        if mtime is not None:
            os.utime(p, (mtime, mtime))
        return self.url(name)

    def requests_for(self, path: str) -> list[tuple[str, str, dict[str, str]]]:
        path = "/" + path.lstrip("/")
        with self._lock:
            return [r for r in self.requests if urlsplit(r[1]).path == path]

    def _record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((method, path, headers))

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def feed_server(tmp_path_factory):
    server = FeedServer(tmp_path_factory.mktemp("feeds_www"))
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------------------------------
# SMTP server
# --------------------------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _CollectingHandler:
    def __init__(self, owner: "SMTPServer"):
        self.owner = owner

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.owner.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        self.owner._store(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


class SMTPServer:
    """aiosmtpd on 127.0.0.1: plain SMTP, no TLS, no auth; collects every message."""

    def __init__(self, port: int | None = None):
        self.host = LOOPBACK
        self.port = port or free_port()
        self.received: list[ReceivedMail] = []
        self.refuse: set[str] = set()
        """Recipients answered 550 at RCPT TO (a mailbox that is gone)."""
        self._lock = threading.Lock()
        self._controller = None

    # -- lifecycle --
    def start(self) -> "SMTPServer":
        """Start (or restart, on the same port) the server."""
        if self._controller is not None:
            return self
        from aiosmtpd.controller import Controller

        deadline = time.monotonic() + 10
        while True:
            controller = Controller(_CollectingHandler(self), hostname=self.host, port=self.port,
                                    ready_timeout=10)
            try:
                controller.start()
                break
            except Exception:  # port still in TIME_WAIT / not yet released after stop()
                try:
                    controller.stop()
                except Exception:
                    pass
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop the server (connections to the port are then refused) -- to simulate an outage."""
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    # -- results --
    def _store(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.received.append(mail)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [m.message for m in self.received]

    @property
    def recipients(self) -> list[list[str]]:
        """Envelope recipients (RCPT TO) of each message, in the order received."""
        with self._lock:
            return [list(m.rcpt_tos) for m in self.received]

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                break
            time.sleep(0.02)
        return self.messages

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    # -- apprise --
    def apprise_url(self, to: str = "analyst@example.org", sender: str = "newswatch@example.org",
                    name: str | None = None) -> str:
        """An apprise URL delivering to this server in plain SMTP (no SSL, no STARTTLS, no login).

        ``mailto://`` (not ``mailtos://``) means secure mode "insecure"; the host is the SMTP
        server itself (``smtp=`` is set too, so apprise's provider templates are never applied);
        ``from=`` is required because an IP host with no user gives no valid From address.
        """
        params = {"smtp": self.host, "from": sender, "to": to}
        if name:
            params["name"] = name
        query = "&".join(f"{k}={quote(v, safe='@')}" for k, v in params.items())
        return f"mailto://{self.host}:{self.port}/?{query}"


@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------------
# Data dir, Prefect, shared material
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "newswatch_home"
    home.mkdir()
    monkeypatch.setenv("NEWSWATCH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory):
    """Opt-in: an isolated Prefect (temp PREFECT_HOME, ephemeral API, no analytics, no heartbeats).

    Prefect is imported lazily here, after the environment is set, because it reads its settings
    when first imported; the same values are also applied with ``temporary_settings`` in case some
    other code imported prefect earlier.
    """
    home = tmp_path_factory.mktemp("prefect_home")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("PREFECT_HOME", str(home))
        mp.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        mp.setenv("PREFECT_LOGGING_LEVEL", "WARNING")
        # a fresh PREFECT_HOME migrates its database first: on a loaded 2-core machine that can
        # outlast the default 20 s
        mp.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        for var in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILES_PATH", "PREFECT_PROFILE"):
            mp.delenv(var, raising=False)

        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
            PREFECT_HOME,
            PREFECT_LOGGING_LEVEL,
            PREFECT_SERVER_ANALYTICS_ENABLED,
            temporary_settings,
        )

        with temporary_settings(
            updates={
                PREFECT_HOME: str(home),
                PREFECT_SERVER_ANALYTICS_ENABLED: False,
                PREFECT_LOGGING_LEVEL: "WARNING",
                PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
            },
            restore_defaults={PREFECT_API_URL},
        ):
            yield home
            # stopped here, as Prefect's own test fixtures do, rather than at exit, where its "Stopping temporary
            # server" log line meets the streams pytest has closed and prints a logging error under the summary
            from prefect.server.api.server import SubprocessASGIServer

            SubprocessASGIServer().stop()
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def feeds_dir() -> Path:
    return FEEDS


@pytest.fixture(scope="session")
def dev_set() -> Path:
    path = SHARED / "eval" / "dev.jsonl"
    if not path.is_file():
        pytest.skip("../shared/eval/dev.jsonl not present (it is public material kept outside the project)")
    return path


# --------------------------------------------------------------------------------------------------
# The seed-trained model, trained once per test session
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seed_models(tmp_path_factory) -> Path:
    """A models dir holding the seed-trained model in service; copy it into a data dir to use it."""
    from newswatch import app
    from newswatch.config import load_settings

    home = tmp_path_factory.mktemp("seed_model_home")
    app.current_model(load_settings(env={"NEWSWATCH_HOME": str(home)}))
    return home / "models"


# --------------------------------------------------------------------------------------------------
# Webhook receiver
# --------------------------------------------------------------------------------------------------


@dataclass
class ReceivedPost:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        import json

        return json.loads(self.body)


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 taking POSTs, like a chat or webhook endpoint.

    ``statuses`` answers the next requests in order (then 200); ``on_request`` runs after a request is
    recorded and before it is answered (a test kills the sender there: received, never acknowledged).
    """

    def __init__(self):
        self.received: list[ReceivedPost] = []
        self.statuses: list[int] = []
        self.max_body: int | None = None
        """Bodies larger than this are answered 413 Payload Too Large (and not recorded), as real endpoints do."""
        self.on_request = None
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if owner.max_body is not None and len(body) > owner.max_body:
                    self.send_response(413)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with owner._lock:
                    owner.received.append(ReceivedPost(self.path, dict(self.headers.items()), body))
                    status = owner.statuses.pop(0) if owner.statuses else 200
                if owner.on_request is not None:
                    owner.on_request(owner.received[-1])
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self._httpd = _QuietThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"webhook-{self.port}", daemon=True)
        self._thread.start()

    def apprise_url(self, path: str = "hook", token: str | None = None) -> str:
        """An apprise ``json://`` URL posting here; ``token`` goes in the path like a real webhook secret."""
        return f"json://{LOOPBACK}:{self.port}/{path}" + (f"/{token}" if token else "")

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[ReceivedPost]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.02)
        with self._lock:
            return list(self.received)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.close()

# PostgreSQL: a fresh database per test on the server .ci/run starts (127.0.0.1:5432, trust auth)
# --------------------------------------------------------------------------------------------------

POSTGRES_SERVER = os.environ.get("NEWSWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _postgres_admin():
    """An autocommit connection to the `postgres` database, or skip (fail when CI requires PostgreSQL)."""
    import psycopg

    try:
        return psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL is not reachable at {POSTGRES_SERVER} ({str(exc).strip().splitlines()[0]})"
        if os.environ.get("NEWSWATCH_REQUIRE_POSTGRES") or os.environ.get("CI"):  # .ci/run starts PostgreSQL
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def postgres_url():
    """A SQLAlchemy URL of a new, empty PostgreSQL database, dropped after the test."""
    name = f"newswatch_t_{os.getpid()}_{secrets.token_hex(4)}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        with _postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, monkeypatch):
    """The store's URL on each backend, exported as NEWSWATCH_DATABASE_URL for code that reads config."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'newswatch.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", url)
    return url


@pytest.fixture
def store(database_url):
    """An open store on each backend (see database_url)."""
    from newswatch.store import Store

    store = Store.open(database_url)
    yield store
    store.close()
