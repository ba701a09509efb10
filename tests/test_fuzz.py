"""Property-based tests (Hypothesis) of what comes from outside: feed text through parse → normalize → store →
digest and web page, and the web routes' parameters. Bounded example budgets keep them to seconds in CI."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st

from newswatch.config import load_settings
from newswatch.digest import Match, build_digest
from newswatch.models import FetchResult, Feed, Item, Prediction
from newswatch.parsers import NotAFeed, parse
from newswatch.store import Store
from newswatch.web import create_app
from shipped_topics import NAMES, TITLES

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# budgets: about 20 s together on this 2-core machine, well inside pytest-timeout even when it is loaded
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

# text as hostile feeds write it: control characters, NUL, escape sequences, lone surrogates, markup, schemes
hostile_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(["\x00", "\x1b", "]0;", "\x07", "\x9b", "\ud800", "\udfff", "\n", "\t", "<",
                                      ">", "&", "&#0;", "&#x1b;", "&#xD800;", "<a href='javascript:x'>", "é", "김",
                                      "javascript:", "data:", " ", "a"]), max_size=20).map("".join),
)
hostile_link = st.one_of(
    st.sampled_from(["javascript:alert(document.cookie)", "JAVASCRIPT:alert(1)", " javascript:alert(1)",
                     "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x", "//evil.example/",
                     "https://news.example/a?b=1", "http://news.example/\x00x", "file:///etc/passwd", ""]),
    hostile_text, st.text(max_size=30).map(lambda s: "https://news.example/" + s),
)


def links_in(page: str) -> list[str]:
    return [html.unescape(value) for value in re.findall(r"""(?:href|src|action)\s*=\s*["']([^"']*)""", page)]


def assert_safe_rendering(digest) -> None:
    assert not CONTROL.search(digest.subject), repr(digest.subject)
    for link in links_in(digest.html):
        assert link.lower().startswith(("http://", "https://")), link
    for link in re.findall(r"\]\(<?([^)>]*)", digest.markdown):
        assert link.lower().startswith(("http://", "https://")), link


def prediction() -> Prediction:
    return Prediction(dict.fromkeys(NAMES, 0.99), NAMES, {NAMES[0]: ("kim",)})


@settings(max_examples=150, deadline=None)
@given(title=hostile_text, summary=hostile_text, url=hostile_link, source=hostile_text)
def test_digest_of_any_item_has_only_http_links_and_a_clean_subject(title, summary, url, source):
    item = Item(key="k", id=1, title=title or "t", summary=summary, url=url or None, published=NOW)
    digest = build_digest([Match(item, prediction(), source)], TITLES, web_base_url="https://nw.example")
    assert digest is not None
    assert_safe_rendering(digest)
    digest.text.encode("utf-8")  # every part can go out by mail
    digest.html.encode("utf-8")


def rss(entries: list[tuple[str, str, str]], raw: bool, title: str = "x") -> bytes:
    """An RSS document; with ``raw`` the strings go in unescaped (broken markup, as real feeds have)."""
    quote = (lambda s: s) if raw else html.escape
    items = "".join(f"<item><title>{quote(t)}</title><link>{quote(link)}</link><description>{quote(d)}</description>"
                    f"<guid>{quote(t)}{n}</guid></item>" for n, (t, link, d) in enumerate(entries))
    text = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{quote(title)}</title>{items}'
            '</channel></rss>')
    return text.encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz_home")
    app_settings = load_settings(env={"NEWSWATCH_HOME": str(home)})
    store = Store.open(app_settings.database_url)
    with TestClient(create_app(app_settings, store=store), base_url="http://127.0.0.1") as client:
        yield store, client
    store.close()


@FUZZ
@given(entries=st.lists(st.tuples(hostile_text, hostile_link, hostile_text), min_size=1, max_size=3), raw=st.booleans(),
       title=hostile_text)
def test_any_feed_text_survives_parse_store_digest_and_the_page(fuzz_home, entries, raw, title):
    store, client = fuzz_home
    url = f"https://feeds.example/{abs(hash((repr(entries), raw, title)))}.xml"
    feed = Feed(url, url)  # named by no config: shown by its own title, which is as hostile as the rest
    result = FetchResult(feed.url, final_url=feed.url, status=200, body=rss(entries, raw, title),
                         headers={"Content-Type": "application/rss+xml"})
    try:
        parsed = parse(result)
    except NotAFeed:
        return
    for item in parsed.items:
        assert not CONTROL.search(item.title + item.summary), repr(item.title + item.summary)
    assert parsed.title is None or not CONTROL.search(parsed.title) and len(parsed.title) <= 80, repr(parsed.title)
    feed_id = store.sync_feeds([feed])[feed.url]
    stored = store.insert_new(feed_id, parsed.items, NOW)
    store.record_success(feed_id, result.validators, len(stored), NOW, title=parsed.title)
    source = store.names_by_url()[feed.url]
    assert source == (parsed.title or feed.url)
    digest = build_digest([Match(item, prediction(), source) for item in stored], TITLES)
    if digest is not None:
        assert_safe_rendering(digest)
    for item in stored:
        page = client.get(f"/items/{item.id}")
        assert page.status_code == 200, page.text
        for link in links_in(page.text):
            assert link.startswith("/") and not link.startswith("//") or link.lower().startswith(("http://", "https://")), link


param_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
numberish = st.one_of(param_text, st.integers(min_value=-2**70, max_value=2**70).map(str),
                      st.sampled_from(["²", "１", "٣", "0", "1e3", "2147483647", "2147483648", " 1", "+1", "0x1"]))


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(page=numberish, feed=numberish, limit=numberish, item=numberish, topic=param_text, since=param_text,
       until=param_text, q=param_text, tagged=param_text, labeled=param_text)
def test_web_routes_never_answer_500(fuzz_home, page, feed, limit, item, topic, since, until, q, tagged, labeled):
    _, client = fuzz_home
    answers = [
        client.get("/", params={"page": page, "feed": feed, "topic": topic, "since": since, "until": until, "q": q,
                                "tagged": tagged, "labeled": labeled}),
        client.get("/review", params={"limit": limit}),
        client.get("/items/" + quote(item, safe="")),
    ]
    for answer in answers:
        assert answer.status_code < 500, (answer.request.url, answer.text[:300])
