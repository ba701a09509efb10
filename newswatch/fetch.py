"""fetch(session, feed) → FetchResult: a polite, bounded HTTP GET that never raises.

feedparser has no timeout of its own, so the bytes are fetched here (connect/read timeouts, an
overall deadline, a size cap, validators sent back) and parsed elsewhere.
"""

from __future__ import annotations

import time

import requests

from .config import FetchSettings
from .models import Feed, FetchResult, Validators

_CHUNK = 64 * 1024


def new_session(settings: FetchSettings) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = settings.user_agent
    session.headers["Accept"] = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
    return session


def fetch(session: requests.Session, feed: Feed, validators: Validators, settings: FetchSettings) -> FetchResult:
    started = time.monotonic()
    headers = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified

    def failed(message: str, status: int | None = None) -> FetchResult:
        return FetchResult(feed.url, status=status, error=message, validators=validators,
                           elapsed=time.monotonic() - started)

    try:
        with session.get(feed.url, headers=headers, stream=True,
                         timeout=(settings.connect_timeout, settings.read_timeout)) as response:
            if response.status_code == 304:
                return FetchResult(feed.url, final_url=response.url, status=304, validators=validators,
                                   headers=dict(response.headers), elapsed=time.monotonic() - started)
            if response.status_code >= 400:
                return failed(f"HTTP {response.status_code} {response.reason or ''}".strip(), response.status_code)
            body = bytearray()
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > settings.max_bytes:
                    return failed(f"body larger than the {settings.max_bytes}-byte cap", response.status_code)
                if time.monotonic() - started > settings.deadline:
                    return failed(f"gave up after the {settings.deadline:g}s deadline", response.status_code)
            return FetchResult(
                feed.url,
                final_url=response.url,
                status=response.status_code,
                body=bytes(body),
                headers=dict(response.headers),
                validators=Validators(
                    etag=response.headers.get("ETag") or validators.etag,
                    last_modified=response.headers.get("Last-Modified") or validators.last_modified,
                ),
                elapsed=time.monotonic() - started,
            )
    except requests.Timeout:
        return failed("timed out")
    except requests.TooManyRedirects:
        return failed("too many redirects")
    except requests.ConnectionError as exc:
        return failed(f"connection failed: {_root_cause(exc)}")
    except requests.RequestException as exc:
        return failed(f"request failed: {_root_cause(exc)}")


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return f"{type(exc).__name__}: {exc}"
