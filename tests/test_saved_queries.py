"""Saved queries: `newswatch queries`, a channel's filter (`[[channels]] query`), and Atom / JSON Feed of the
matches behind the web token (read back with feedparser; JSON Feed checked field by field against the spec)."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta

import feedparser
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from newswatch.alerts import owe_due
from newswatch.cli import main
from newswatch.cycle import record_predictions
from newswatch.config import load_settings
from newswatch.models import Item, Prediction
from newswatch.store import SavedQuery, Store
from newswatch.web import create_app
from conftest import TAGGED_AT
from test_search import NOW, TASS, YONHAP, store_articles

TOKEN = "s3cret-token-for-feeds"
HOSTILE = "<script>alert(1)</script> & \"quotes\" ]]> \x01bell Путин & 김정은"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "newswatch.toml"
    path.write_text(f"""
data_dir = "{tmp_path / 'home'}"
[web]
token = "{TOKEN}"
base_url = "https://newswatch.example.org"
[[feeds]]
url = "{YONHAP.url}"
name = "{YONHAP.name}"
[[feeds]]
url = "{TASS.url}"
name = "{TASS.name}"
[[channels]]
name = "ru-desk"
url = "json://127.0.0.1:9/ru"
mode = ["immediate", "digest"]
query = "russia-watch"
[[channels]]
name = "everything"
url = "json://127.0.0.1:9/all"
mode = ["immediate", "digest"]
""", encoding="utf-8")
    return path


def run(config, *args):
    return CliRunner().invoke(main, [*args[:2], "--config", str(config), *args[2:]] if args[0] == "queries"
                              else [*args, "--config", str(config)])


def test_queries_add_list_remove(config):
    added = run(config, "queries", "add", "russia-watch", "--text", "Путин OR", "--topic", "russia_dprk",
                "--feed", "TASS", "--min-score", "0.5")
    assert added.exit_code == 0, added.output
    assert "saved query russia-watch: text 'Путин OR'; topic russia_dprk; feed https://tass.example/rss" in added.output
    listed = run(config, "queries", "list")
    assert listed.exit_code == 0 and "russia-watch\t" in listed.output and "-> channel ru-desk" in listed.output
    [as_json] = json.loads(run(config, "queries", "list", "--json").output)
    assert as_json["feeds"] == [TASS.url] and as_json["min_score"] == 0.5 and as_json["channels"] == ["ru-desk"]
    refusals = {
        ("add", "russia-watch", "--text", "x"): "exists already",
        ("add", "bad/name", "--text", "x"): "query name must be",
        ("add", "q.atom", "--text", "x"): "query name must be",
        ("add", "nofeed", "--feed", "Nowhere"): "no feed with URL or name 'Nowhere'",
        ("add", "empty"): "needs at least one of",
        ("add", "blank", "--text", '""'): "nothing to search for",
        ("remove", "russia-watch"): "channel ru-desk",
        ("remove", "never-saved"): "no saved query named 'never-saved'",
    }
    for args, reason in refusals.items():
        refused = run(config, "queries", *args)
        assert refused.exit_code == 2 and reason in refused.output and "Traceback" not in refused.output, args
    by_language = run(config, "queries", "add", "korean", "--lang", "ko")
    assert by_language.exit_code == 0, by_language.output
    assert run(config, "queries", "add", "--help").exit_code == 0
    assert run(config, "queries", "add", "drills", "--topic", "alliance_drills").exit_code == 0
    removed = run(config, "queries", "remove", "drills")
    assert removed.exit_code == 0 and "removed saved query drills" in removed.output
    assert "drills" not in run(config, "queries", "list").output


def stored(config):
    settings = load_settings(config)
    store = Store.open(settings.database_url)
    return settings, store


def test_a_channel_with_a_query_is_owed_only_its_matches(config, caplog):
    settings, store = stored(config)
    with store:
        ids = store_articles(store)
        store.add_saved_query(SavedQuery("russia-watch", text="Путин", feeds=(TASS.url,)), NOW)
        owe_due(store, settings, NOW, TAGGED_AT)
        owed = {(entry.channel, entry.kind): entry.body_text for entry in store.outbox_entries()}
        assert "Визит Путина" in owed[("ru-desk", "digest")] and "Putin and Kim" not in owed[("ru-desk", "digest")]
        assert "Putin and Kim" in owed[("everything", "digest")] and "Визит Путина" in owed[("everything", "digest")]

        def arrives(key: str, title: str, when: datetime) -> list[str]:
            """A new TASS item scored (and owed its immediate alerts) at ``when``: the channels alerted."""
            [item] = store.insert_new(store.sync_feeds([TASS])[TASS.url], [Item(key=key, title=title)], when)
            record_predictions(store, settings, "v1", [item],
                               [Prediction({"russia_dprk": 0.97, "alliance_drills": 0.0}, ("russia_dprk",))], when,
                               TAGGED_AT)
            return sorted(e.channel for e in store.outbox_entries() if e.kind == "immediate" and e.created_at == when)

        assert arrives("ru-late", "Путин снова в Пхеньяне", NOW + timedelta(hours=1)) == ["everything", "ru-desk"]
        store.remove_saved_query("russia-watch")  # gone from under the config: the others are still owed theirs
        with caplog.at_level(logging.ERROR, logger="newswatch.alerts"):
            assert arrives("ru-later", "Путин и Ким", NOW + timedelta(hours=2)) == ["everything"]
        assert "channel ru-desk: no saved query named 'russia-watch'" in caplog.text
        assert ids["ru-visit"] in store.matching_ids(SavedQuery("x", text="Путин").item_filter(()), list(ids.values()))


@pytest.fixture
def feeds_client(config):
    settings, store = stored(config)
    ids = store_articles(store)
    [hostile] = store.insert_new(store.sync_feeds([YONHAP])[YONHAP.url],
                                 [Item(key="url:https://yonhap.example/a?b=1&c=<2>", title=HOSTILE,
                                       summary="<img src=x onerror=alert(1)> Пхеньян", url="javascript:alert(1)")],
                                 NOW + timedelta(minutes=5))
    store.save_predictions("v1", [(hostile, Prediction({"russia_dprk": 0.99, "alliance_drills": 0.0},
                                                       ("russia_dprk",)))], NOW)
    store.add_saved_query(SavedQuery("pyongyang", text="Пхеньян"), NOW)
    store.add_saved_query(SavedQuery("quiet", text="nothing matches this"), NOW)
    with TestClient(create_app(settings, store=store), base_url="http://127.0.0.1") as client:
        yield client, ids
    store.close()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_feeds_need_the_token_in_a_header_or_the_address(feeds_client):
    client, _ = feeds_client
    for path in ("/feeds/pyongyang.atom", "/feeds/pyongyang.json"):
        refused = client.get(path, follow_redirects=False)
        assert refused.status_code == 401 and "token is required" in refused.text  # a reader gets no login page
        assert client.get(path + "?token=wrong").status_code == 401
        assert client.get(path, headers=AUTH).status_code == 200
        assert client.get(path + f"?token={TOKEN}").status_code == 200
    assert client.get(f"/?token={TOKEN}", follow_redirects=False).status_code == 303  # the page wants a login
    assert client.get(f"/api/items?token={TOKEN}").status_code == 401  # the address takes no token elsewhere
    assert client.get("/feeds/unknown.atom", headers=AUTH).status_code == 404
    assert client.get("/feeds/pyongyang.rss", headers=AUTH).status_code == 404


def test_atom_parses_cleanly_with_stable_ids_dates_and_escaping(feeds_client):
    client, ids = feeds_client
    first = client.get(f"/feeds/pyongyang.atom?token={TOKEN}")
    assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert TOKEN not in first.text  # the self link is the feed's address without the secret
    feed = feedparser.parse(first.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.title == "newswatch: pyongyang"
    assert [entry.title for entry in feed.entries] == [HOSTILE.replace("\x01", ""), ARTICLE_RU_VISIT]
    hostile, visit = feed.entries
    assert hostile.id == "tag:newswatch,2026:item:url%3Ahttps%3A%2F%2Fyonhap.example%2Fa%3Fb%3D1%26c%3D%3C2%3E"
    assert visit.id == "tag:newswatch,2026:item:ru-visit"
    assert visit.link == f"https://newswatch.example.org/items/{ids['ru-visit']}"  # no URL of its own: the page
    assert [link.href for link in hostile.links] == [f"https://newswatch.example.org/items/{hostile_id(client)}"]
    assert hostile.summary == "<img src=x onerror=alert(1)> Пхеньян"  # text, escaped: shown, never run
    assert "<img" not in first.text and "&lt;img" in first.text
    assert visit.published == "2026-11-23T10:00:00Z" and visit.updated == visit.published
    assert "published" not in hostile and hostile.updated == "2026-11-23T12:05:00Z"  # undated: when fetched
    assert feed.feed.updated == "2026-11-23T12:05:00Z"
    assert [tag.term for tag in visit.tags] == ["russia_dprk"]
    again = client.get("/feeds/pyongyang.atom", headers=AUTH)
    assert again.content == first.content  # same matches, same bytes: ids and dates are stable
    assert client.get("/feeds/pyongyang.atom", headers={**AUTH, "If-None-Match": first.headers["etag"]}).status_code == 304
    empty = feedparser.parse(client.get("/feeds/quiet.atom", headers=AUTH).content)
    assert not empty.bozo and empty.entries == []


def hostile_id(client):
    return client.get("/api/items?q=onerror", headers=AUTH).json()["items"][0]["id"]


ARTICLE_RU_VISIT = "Визит Путина в Пхеньян завершился подписанием договора"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def test_json_feed_follows_version_1_1(feeds_client):
    client, ids = feeds_client
    answer = client.get("/feeds/pyongyang.json", headers=AUTH)
    assert answer.headers["content-type"] == "application/feed+json; charset=utf-8"
    feed = json.loads(answer.content)
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["title"] == "newswatch: pyongyang"
    assert feed["feed_url"] == "https://newswatch.example.org/feeds/pyongyang.json"
    assert set(feed) <= {"version", "title", "home_page_url", "feed_url", "description", "items"}
    hostile, visit = feed["items"]
    for entry in feed["items"]:  # the spec: a string id, content_html or content_text, RFC 3339 dates
        assert isinstance(entry["id"], str) and entry["id"].startswith("tag:newswatch,2026:item:")
        assert isinstance(entry.get("content_text"), str)
        assert all(RFC3339.match(entry[key]) for key in ("date_published", "date_modified") if key in entry)
        assert set(entry) <= {"id", "url", "external_url", "title", "content_text", "date_published",
                              "date_modified", "authors", "tags"}
    # JSON carries any character the store keeps (control characters are cleaned before storing)
    assert hostile["title"] == HOSTILE.replace("\x01", "")
    assert hostile["url"] == f"https://newswatch.example.org/items/{hostile_id(client)}"  # never javascript:
    assert visit["id"] == "tag:newswatch,2026:item:ru-visit" and visit["authors"] == [{"name": "TASS"}]
    assert visit["date_published"] == "2026-11-23T10:00:00Z"
    assert client.get("/feeds/pyongyang.json", headers=AUTH).content == answer.content
    assert visit["url"] == f"https://newswatch.example.org/items/{ids['ru-visit']}"


def test_the_feeds_page_lists_saved_queries_with_their_feed_addresses(feeds_client):
    client, _ = feeds_client
    page = client.get("/feeds", headers=AUTH).text
    assert 'href="/feeds/pyongyang.atom"' in page and 'href="/feeds/pyongyang.json"' in page
    assert "text &#39;Пхеньян&#39;" in page and "?token=" in page
