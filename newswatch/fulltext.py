"""Full article text for feeds with ``fulltext = true``: the page fetched politely, its main text kept.

Pages go through the same bounded ``fetch_url`` as feeds (timeouts, deadline, decoded-size cap,
private-address guard, per-host limit), and only where the site's robots.txt lets our User-Agent in.
trafilatura finds the main text (it drops navigation, comments and boilerplate far better than any
tag heuristic we would write). Any failure leaves the item with its summary.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Sequence
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import requests
import trafilatura

from .config import FetchSettings
from .fetch import HostLimits, fetch_url
from .models import Item

log = logging.getLogger(__name__)

#: New items of one feed whose pages are fetched per cycle; a feed's first cycle can bring hundreds,
#: and a few dozen pages are as much as one host should get from us at once.
MAX_ARTICLES_PER_FEED = 30
_HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


class ArticleFetcher:
    """Fetches article pages and extracts their text; robots.txt files are cached per site."""

    def __init__(self, settings: FetchSettings, limits: HostLimits | None = None):
        self.settings = settings
        self.limits = limits
        self._robots: dict[str, RobotFileParser] = {}
        self._lock = threading.Lock()

    def with_text(self, session: requests.Session, batch: Sequence[Item], allow_private: bool) -> list[Item]:
        """The items, those whose page could be read carrying its main text."""
        return [self._with_text(session, item, allow_private) if i < MAX_ARTICLES_PER_FEED else item
                for i, item in enumerate(batch)]

    def _with_text(self, session: requests.Session, item: Item, allow_private: bool) -> Item:
        if not item.url or not item.url.startswith(("http://", "https://")):
            return item
        text = self.text(session, item.url, allow_private)
        return replace(item, text=text) if text else item

    def text(self, session: requests.Session, url: str, allow_private: bool) -> str:
        """The main text of the page at ``url``, or "" when it may not or cannot be read."""
        if not self.allowed(session, url, allow_private):
            log.info("robots.txt disallows %s", url)
            return ""
        result = fetch_url(session, url, self.settings, allow_private=allow_private,
                           headers={"Accept": _HTML_ACCEPT}, limits=self.limits)
        if not result.ok or not result.body:
            log.info("article %s not fetched: %s", url, result.error or "empty body")
            return ""
        try:
            return trafilatura.extract(result.body, url=result.final_url or url, include_comments=False,
                                       include_tables=False, favor_precision=True) or ""
        except Exception as exc:  # a parser failure on one hostile page must not end the cycle
            log.info("article %s: no text extracted: %s", url, exc)
            return ""

    def allowed(self, session: requests.Session, url: str, allow_private: bool) -> bool:
        parts = urlsplit(url)
        site = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        with self._lock:
            robots = self._robots.get(site)
        if robots is None:
            robots = self._read_robots(session, site, allow_private)
            with self._lock:
                self._robots[site] = robots
        return robots.can_fetch(self.settings.user_agent, url)

    def _read_robots(self, session: requests.Session, site: str, allow_private: bool) -> RobotFileParser:
        """RFC 9309: a 4xx means no rules (allow all); a 5xx or no answer means stay away for now."""
        robots = RobotFileParser(site + "/robots.txt")
        result = fetch_url(session, site + "/robots.txt", self.settings, allow_private=allow_private,
                           headers={"Accept": "text/plain"}, limits=self.limits)
        if result.ok:
            robots.parse(result.body.decode("utf-8", errors="replace").splitlines())
        elif result.status is not None and 400 <= result.status < 500:
            robots.allow_all = True
        else:
            robots.disallow_all = True
        return robots
