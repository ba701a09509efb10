"""fetch(session, feed) → FetchResult: a polite, bounded HTTP GET that never raises.

feedparser has no timeout of its own, so the bytes are fetched here and parsed elsewhere. Every
request is bounded the same way, feeds and article pages alike (``fetch_url``):

* only http(s), and no loopback/private/link-local/reserved address unless allowed — checked on
  the resolved addresses of every redirect hop, so a public URL cannot redirect into the LAN;
* redirects followed by hand up to ``max_redirects``; a chain of permanent ones (301/308) is
  reported so the caller can remember the new address;
* one deadline for the whole exchange: each socket wait is cut to the time left, and the body is
  read with ``read1`` (returns as soon as any bytes arrive), so neither a silent server nor a slow
  drip outlives the deadline;
* the size cap counts *decoded* bytes (urllib3 decompresses at most one chunk ahead), so a gzip
  bomb stops at the cap instead of filling memory.
"""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from .config import FetchSettings
from .models import Feed, FetchResult, Validators

_CHUNK = 64 * 1024
_PERMANENT_REDIRECTS = frozenset({301, 308})
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


class _Refused(Exception):
    """A request we will not make (scheme, address) or stopped (deadline, cap); the message says why."""


def host_of(url: str) -> str:
    """The host a feed URL is fetched from, as politeness limits count hosts."""
    return (urlsplit(url).hostname or "").lower()


class HostLimits:
    """At most ``per_host`` requests in flight to one host, shared by every thread of a cycle.

    The global limit is the cycle's thread pool: each worker makes one request at a time.
    """

    def __init__(self, per_host: int):
        self.per_host = per_host
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        host = host_of(url)
        with self._lock:
            semaphore = self._hosts.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with semaphore:
            yield


def new_session(settings: FetchSettings) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = settings.user_agent
    session.headers["Accept"] = FEED_ACCEPT
    # requests would add br/zstd when their decoders happen to be installed; gzip and deflate are
    # what feeds use and what the decoded-size cap has been tested against
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session


def fetch(session: requests.Session, feed: Feed, validators: Validators, settings: FetchSettings,
          url: str | None = None, limits: HostLimits | None = None) -> FetchResult:
    """Fetch a feed from ``url`` (where a permanent redirect moved it) or its configured URL. A ``${NAME}`` in
    either is read here and nowhere else: the result's error and addresses name it again, not its value."""
    headers = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    result = fetch_url(session, feed.expand(url or feed.url), settings, allow_private=feed.allow_private_addresses,
                       headers=headers, validators=validators, feed_url=feed.url, limits=limits)
    if not feed.secrets:
        return result
    return replace(result, error=result.error and feed.conceal(result.error),
                   final_url=result.final_url and feed.conceal(result.final_url),
                   permanent_url=result.permanent_url and feed.conceal(result.permanent_url))


def fetch_url(session: requests.Session, url: str, settings: FetchSettings, *, allow_private: bool,
              headers: Mapping[str, str] | None = None, validators: Validators = Validators(),
              feed_url: str | None = None, limits: HostLimits | None = None) -> FetchResult:
    if limits is not None:
        with limits.slot(url):
            return fetch_url(session, url, settings, allow_private=allow_private, headers=headers,
                             validators=validators, feed_url=feed_url)
    started = time.monotonic()
    deadline = started + settings.deadline
    current = url
    permanent_url: str | None = None
    only_permanent = True

    def failed(message: str, status: int | None = None, retry_after: float | None = None) -> FetchResult:
        return FetchResult(feed_url or url, final_url=current, status=status, error=message, validators=validators,
                           retry_after=retry_after, permanent_url=permanent_url,
                           elapsed=time.monotonic() - started)

    try:
        for _hop in range(settings.max_redirects + 1):
            check_destination(current, allow_private)
            response = session.get(current, headers=dict(headers or {}), stream=True, allow_redirects=False,
                                   timeout=_timeouts(settings, deadline))
            with response:
                if response.is_redirect:
                    target = urljoin(current, response.headers["Location"])
                    only_permanent = only_permanent and response.status_code in _PERMANENT_REDIRECTS
                    if only_permanent:
                        permanent_url = target
                    current = target
                    continue
                if response.status_code == 304:
                    return FetchResult(feed_url or url, final_url=current, status=304, validators=validators,
                                       headers=dict(response.headers), permanent_url=permanent_url,
                                       elapsed=time.monotonic() - started)
                if response.status_code >= 400:
                    return failed(f"HTTP {response.status_code} {response.reason or ''}".strip(), response.status_code,
                                  retry_after_seconds(response.headers.get("Retry-After")))
                body = _read_body(response, settings, deadline)
                return FetchResult(
                    feed_url or url,
                    final_url=current,
                    status=response.status_code,
                    body=body,
                    headers=dict(response.headers),
                    validators=Validators(
                        etag=response.headers.get("ETag") or validators.etag,
                        last_modified=response.headers.get("Last-Modified") or validators.last_modified,
                    ),
                    permanent_url=permanent_url,
                    elapsed=time.monotonic() - started,
                )
        return failed(f"more than {settings.max_redirects} redirects")
    except _Refused as exc:
        return failed(str(exc))
    except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
        return failed(f"timed out (deadline {settings.deadline:g}s)")
    except requests.ConnectionError as exc:
        return failed(f"connection failed: {_root_cause(exc)}")
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        return failed(f"request failed: {_root_cause(exc)}")


def check_destination(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs, and hosts resolving to non-public addresses unless allowed.

    The check resolves the name itself; the connection resolves it again, so a DNS server that
    answers differently twice (rebinding) is not covered — the cost of keeping requests' stock
    connection handling.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _Refused(f"refused {url!r}: only http(s) URLs are fetched")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise _Refused(f"connection failed: cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not is_public(address):
            raise _Refused(f"refused {parts.hostname}: it resolves to the non-public address {address} "
                           "(to allow it, set allow_private_addresses = true in the feed's [[feeds]] entry, "
                           "or at the top of the config file for every feed)")


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A globally routable unicast address, and so is any IPv4 address an IPv6 one carries inside it: a
    NAT64 gateway (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16), Teredo (2001::/32) or an IPv4-mapped
    address reaches that IPv4 address, so 64:ff9b::10.0.0.1 is as private as 10.0.0.1."""
    if address.is_multicast or not address.is_global and not any(address in net for net in _NAT64):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
        embedded += [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) for net in _NAT64 if address in net]
        return all(is_public(inner) for inner in embedded if inner is not None)
    return True


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is True, float("²") fails
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _timeouts(settings: FetchSettings, deadline: float) -> tuple[float, float]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Refused(f"timed out (deadline {settings.deadline:g}s)")
    return min(settings.connect_timeout, remaining), min(settings.read_timeout, remaining)


def _read_body(response: requests.Response, settings: FetchSettings, deadline: float) -> bytes:
    body = bytearray()
    raw = response.raw
    while True:
        _limit_next_wait(raw, settings, deadline)
        chunk = raw.read1(_CHUNK, decode_content=True)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > settings.max_bytes:
            raise _Refused(f"body larger than the {settings.max_bytes}-byte cap (decoded)")


def _limit_next_wait(raw: urllib3.BaseHTTPResponse, settings: FetchSettings, deadline: float) -> None:
    """Cut the socket's next wait to the time left before the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Refused(f"timed out (deadline {settings.deadline:g}s) while reading the body")
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(min(settings.read_timeout, remaining))


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return f"{type(exc).__name__}: {exc}"
