"""Ingestion behaviour beyond hostile servers: keys, backoff, address guard, full text, stories, feed list."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from newswatch.cli import main
from newswatch.config import FetchSettings, load_settings
from newswatch.feedlist import feed_statuses
from newswatch.fetch import fetch_url, new_session, retry_after_seconds
from newswatch.models import Item
from newswatch.parsers.entries import feed_title
from newswatch.cycle import ingest, next_attempt
from newswatch.store import Store
from newswatch.stories import cluster

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ARTICLE = """<html><head><title>Treaty</title></head><body><nav>Home | World | Sport</nav>
<article><h1>Putin and Kim sign a treaty</h1>
<p>Russian President Vladimir Putin and North Korean leader Kim Jong Un signed a comprehensive strategic
partnership treaty in Pyongyang on Wednesday, pledging mutual assistance in case of aggression.</p>
<p>The agreement, the strongest between the two countries since the end of the Cold War, also covers
cooperation in trade, science and technology, according to state media in both countries.</p>
<p>Analysts in Seoul said the pact could open the door to deeper military cooperation and to arms
transfers that would breach United Nations Security Council resolutions.</p></article>
<footer>Copyright Example News</footer></body></html>"""


def rss(items_xml: str) -> str:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items_xml}</channel></rss>'


def write_config(tmp_path, feeds: dict[str, str], extra: str = "", fetch: str = "") -> str:
    """A config with these feeds on loopback; ``extra`` goes into every [[feeds]] table, ``fetch`` into [fetch]."""
    config = tmp_path / "newswatch.toml"
    tables = "".join(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n{extra}\n' for name, url in feeds.items())
    config.write_text(f'allow_private_addresses = true\ndata_dir = "{tmp_path / "data"}"\n'
                      f"[fetch]\ndeadline = 5.0\nread_timeout = 2.0\n{fetch}\n{tables}")
    return str(config)


@pytest.fixture
def store(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield store
    store.close()


def test_a_feed_that_changes_guids_or_republishes_stores_each_article_once(feed_server, tmp_path, store):
    item = "<item><title>Drills begin</title><link>{link}</link><guid>{guid}</guid></item>"
    feed_server.route("f.xml", body=rss(item.format(link="https://n.example/a?utm_source=x", guid="g-1")))
    settings = load_settings(write_config(tmp_path, {"F": feed_server.url("f.xml")}), env={})
    [first] = ingest(settings, store)
    feed_server.route("f.xml", body=rss(item.format(link="https://n.example/a", guid="g-1-republished")))
    [second] = ingest(settings, store)
    assert len(first.new_items) == 1 and second.new_items == ()
    headers = feed_server.requests_for("f.xml")[0][2]
    assert headers["User-Agent"].startswith("newswatch/") and headers["Accept-Encoding"] == "gzip, deflate"


def test_items_sharing_one_link_are_kept_apart_by_guid(feed_server, tmp_path, store):
    items = "".join(f"<item><title>Bulletin {i}</title><link>https://n.example/live</link><guid>b{i}</guid></item>"
                    for i in range(3))
    feed_server.route("live.xml", body=rss(items))
    settings = load_settings(write_config(tmp_path, {"Live": feed_server.url("live.xml")}), env={})
    [outcome] = ingest(settings, store)
    live = feed_server.url("live.xml")
    assert sorted(i.key for i in outcome.new_items) == [f"guid:{live} b0", f"guid:{live} b1", f"guid:{live} b2"]


def test_backoff_doubles_from_the_second_failure_and_retry_after_wins_when_longer():
    settings = FetchSettings(backoff_base=60, backoff_max=3600)
    assert next_attempt(1, None, settings, NOW) is None
    assert next_attempt(2, None, settings, NOW) == NOW + timedelta(seconds=60)
    assert next_attempt(4, None, settings, NOW) == NOW + timedelta(seconds=240)
    assert next_attempt(20, None, settings, NOW) == NOW + timedelta(seconds=3600)
    assert next_attempt(1, 600, settings, NOW) == NOW + timedelta(seconds=600)
    assert retry_after_seconds("Mon, 23 Nov 2026 12:05:00 GMT", NOW) == 300
    assert retry_after_seconds("soon") is None


def test_a_feed_past_the_failure_limit_is_reported_unhealthy_not_dropped(feed_server, tmp_path):
    feed_server.route("down.xml", status=500)
    config = write_config(tmp_path, {"Down": feed_server.url("down.xml")})
    (tmp_path / "newswatch.toml").write_text((tmp_path / "newswatch.toml").read_text().replace(
        "[fetch]\n", "[fetch]\nunhealthy_after = 2\nbackoff_base = 0.001\n"))
    settings = load_settings(config, env={})
    store = Store.open(settings.database_url)
    for _ in range(2):
        [outcome] = ingest(settings, store)
    store.close()
    assert outcome.failed and outcome.unhealthy and outcome.consecutive_failures == 2
    status = CliRunner().invoke(main, ["feeds", "status", "--json", "--config", config], catch_exceptions=False)
    [entry] = json.loads(status.output)
    assert entry["healthy"] is False and entry["last_error"].startswith("HTTP 500")


def test_private_addresses_are_refused_unless_allowed_on_every_hop(feed_server):
    settings = FetchSettings(deadline=5)
    session = new_session(settings)
    refused = fetch_url(session, feed_server.url("x.xml"), settings, allow_private=False)
    assert "non-public address 127.0.0.1" in refused.error and feed_server.requests_for("x.xml") == []
    assert "allow_private_addresses = true in the feed's [[feeds]] entry" in refused.error  # where to say so
    assert "only http(s)" in fetch_url(session, "file:///etc/passwd", settings, allow_private=True).error
    # a redirect into a non-http scheme is refused at the hop
    feed_server.route("to-file.xml", status=302, headers={"Location": "file:///etc/passwd"})
    assert "only http(s)" in fetch_url(session, feed_server.url("to-file.xml"), settings, allow_private=True).error


def test_fulltext_replaces_the_summary_for_the_classifier_and_respects_robots(feed_server, tmp_path, store):
    base = feed_server.base_url
    feed_server.route("robots.txt", headers={"Content-Type": "text/plain"}, body="User-agent: *\nDisallow: /private/\n")
    feed_server.route("news/treaty.html", headers={"Content-Type": "text/html"}, body=ARTICLE)
    feed_server.route("private/secret.html", headers={"Content-Type": "text/html"}, body=ARTICLE)
    feed_server.route("feed.xml", body=rss(
        f"<item><title>Treaty</title><link>{base}/news/treaty.html</link><description>Short.</description></item>"
        f"<item><title>Secret</title><link>{base}/private/secret.html</link><description>Kept.</description></item>"
        f"<item><title>Broken</title><link>{base}/news/missing.html</link><description>Stays.</description></item>"))
    settings = load_settings(write_config(tmp_path, {"Full": feed_server.url("feed.xml")}, "fulltext = true"), env={})
    [outcome] = ingest(settings, store)
    by_title = {item.title: item for item in outcome.new_items}
    assert "strategic partnership treaty" in by_title["Treaty"].text
    assert "Copyright" not in by_title["Treaty"].text and "Home | World" not in by_title["Treaty"].text
    assert "strategic partnership" in by_title["Treaty"].document
    assert by_title["Secret"].text == "" and by_title["Secret"].document.endswith("Kept.")
    assert by_title["Broken"].text == "" and by_title["Broken"].document.endswith("Stays.")
    assert feed_server.requests_for("private/secret.html") == []
    [stored] = store.items_by_id([by_title["Treaty"].id])
    assert stored.text == by_title["Treaty"].text


def stored(item_id: int, title: str, summary: str = "") -> Item:
    return Item(key=f"k{item_id}", title=title, summary=summary, id=item_id)


def test_near_duplicates_across_outlets_share_a_story_and_others_do_not():
    recent = [stored(1, "Putin and Kim sign strategic partnership treaty in Pyongyang",
                     "Russian President Vladimir Putin and North Korean leader Kim Jong Un signed a treaty.")]
    new = [
        stored(2, "Kim, Putin sign strategic partnership treaty at Pyongyang summit",
               "North Korean leader Kim Jong Un and Russian President Vladimir Putin signed the treaty."),
        stored(3, "US and South Korea begin Ulchi Freedom Shield drills",
               "The allies started their annual summertime exercise on Monday."),
        stored(4, "South Korea, US start Ulchi Freedom Shield exercise",
               "The allies started their annual summertime exercise on Monday, officials said."),
        stored(5, "Oil prices slip as demand worries grow", "Brent crude fell."),
    ]
    assert cluster(recent, new) == {2: 1, 3: 3, 4: 3, 5: 5}


def test_story_sizes_for_the_digest_and_items_are_never_lost(feed_server, tmp_path, store):
    wire = ("<item><title>Pyongyang fires ballistic missile into East Sea, Joint Chiefs say</title>"
            "<link>https://{host}/missile</link><description>North Korea fired a short-range ballistic missile "
            "into the East Sea on Tuesday, South Korea's Joint Chiefs of Staff said.</description></item>")
    feed_server.route("a.xml", body=rss(wire.format(host="a.example")))
    feed_server.route("b.xml", body=rss(wire.format(host="b.example")
                                        + "<item><title>K-pop tour</title><link>https://b.example/kpop</link></item>"))
    settings = load_settings(write_config(tmp_path, {"A": feed_server.url("a.xml"), "B": feed_server.url("b.xml")}),
                             env={})
    outcomes = ingest(settings, store)
    ids = [item.id for outcome in outcomes for item in outcome.new_items]
    assert len(ids) == 3
    stories = Counter(item.story_id or item.id for item in store.items_by_id(ids))
    assert sorted(stories.values()) == [1, 2]


def test_feeds_add_and_remove_edit_the_config_file_and_keep_the_rest(tmp_path):
    config = tmp_path / "newswatch.toml"
    config.write_text('# my feeds\n[[feeds]]\nname = "Keep"\nurl = "https://keep.example/rss"\n\n'
                      '# channels below\n[[channels]]\nname = "mail"\nurl = "json://localhost"\n')

    def run(*args):
        return CliRunner().invoke(main, [*args, "--config", str(config)], catch_exceptions=False)

    added = run("feeds", "add", "https://new.example/rss", "--name", 'New "one"', "--tag", "korea", "--fulltext")
    assert added.exit_code == 0, added.output
    listed = run("feeds", "list").output
    assert 'New "one"\thttps://new.example/rss' in listed and "fulltext" in listed
    assert run("feeds", "add", "https://new.example/rss").exit_code == 2  # listed twice: refused, file unchanged
    assert run("feeds", "add", "ftp://x.example/rss").exit_code == 2
    assert run("feeds", "add", "https://").exit_code == 2, "a URL with no host is refused, not written"
    assert run("feeds", "add", "https://bare.example/rss").output.startswith("added https://bare.example/rss to ")
    assert run("feeds", "remove", "https://bare.example/rss").exit_code == 0
    assert run("feeds", "remove", "Keep").exit_code == 0
    settings = load_settings(config, env={})
    assert [f.url for f in settings.feeds] == ["https://new.example/rss"] and settings.feeds[0].fulltext
    assert settings.channels[0].name == "mail" and "# channels below" in config.read_text()
    assert run("feeds", "remove", "https://nowhere.example/rss").exit_code == 2


def test_feed_rows_stay_correct_when_feeds_are_refreshed_concurrently(feed_server, tmp_path, store):
    feeds = {}
    for n in range(12):
        feed_server.route(f"c{n}.xml", body=rss("".join(
            f"<item><title>Feed {n} item {i}</title><link>https://c.example/{n}/{i}</link></item>" for i in range(20))
            + "<item><title>Shared wire story</title><link>https://wire.example/shared</link></item>"))
        feeds[f"C{n}"] = feed_server.url(f"c{n}.xml")
    settings = load_settings(write_config(tmp_path, feeds), env={})
    outcomes = ingest(settings, store)
    assert sum(len(o.new_items) for o in outcomes) == 12 * 20 + 1
    rows = store.feed_rows()
    assert sum(r.items_stored for r in rows) == 241 and all(r.last_success_at for r in rows)


class FailingInserts(Store):
    """A store whose inserts of one feed's items fail as a bug or a lost database connection would."""

    def insert_new(self, feed_id, batch, now):
        if self.feed_row(feed_id).name == "Bug":
            raise RuntimeError("connection lost")
        return super().insert_new(feed_id, batch, now)


def test_every_way_out_of_a_refresh_releases_the_feeds_lease(feed_server, tmp_path):
    item = "<item><title>Drills begin</title><link>https://n.example/{n}</link></item>"
    for name in ("ok", "bug"):
        feed_server.route(f"{name}.xml", body=rss(item.format(n=name)))
    feed_server.add_file("same.xml", rss(item.format(n="same")))
    feed_server.route("gone.xml", status=404, body="not here")
    feed_server.route("page.xml", body="<html><body>not a feed</body></html>")
    settings = load_settings(write_config(tmp_path, {
        "Ok": feed_server.url("ok.xml"), "Same": feed_server.url("same.xml"), "Bug": feed_server.url("bug.xml"),
        "Gone": feed_server.url("gone.xml"), "Page": feed_server.url("page.xml")}), env={})
    store = FailingInserts(Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}").engine)
    ingest(settings, store)  # "Same" answers 304 the second time
    outcomes = {outcome.name: outcome for outcome in ingest(settings, store)}
    assert outcomes["Same"].not_modified and outcomes["Gone"].failed and outcomes["Page"].failed
    assert "internal error: RuntimeError: connection lost" in outcomes["Bug"].error
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from feeds where lease_owner is not null"
                                    " or lease_until is not null").scalar() == 0
    store.close()


def test_feed_health_is_one_definition_for_the_cycle_the_cli_and_the_page(feed_server, tmp_path):
    from fastapi.testclient import TestClient

    from newswatch.web.server import create_app

    feed_server.route("never.xml", status=500)
    feed_server.route("ok.xml", body=rss("<item><title>Kim meets Putin</title><guid>g</guid></item>"))
    config = write_config(tmp_path, {"Never": feed_server.url("never.xml"), "Old": feed_server.url("ok.xml")})
    settings = load_settings(config, env={})
    store = Store.open(settings.database_url)
    outcomes = {o.name: o for o in ingest(settings, store)}
    assert outcomes["Never"].unhealthy, "a feed that has never worked and fails is not healthy"
    status = CliRunner().invoke(main, ["feeds", "status", "--config", config], catch_exceptions=False)
    assert "Never <" in status.output and "UNHEALTHY" in status.output.split("Never <")[1].splitlines()[0]
    assert "healthy, 1 item, last success" in status.output.split("Old <")[1].splitlines()[0]
    CliRunner().invoke(main, ["feeds", "remove", "Old", "--config", config], catch_exceptions=False)
    feed_server.route("ok.xml", status=500)
    ingest(settings, store)  # the old settings still fetch it once more: it fails, then it is removed
    store.close()
    settings = load_settings(config, env={})
    statuses = {s.name: s.health for s in feed_statuses(settings, Store.open(settings.database_url))}
    assert statuses == {"Never": "unhealthy", "Old": "removed"}
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        page = client.get("/feeds").text
    assert '<tr class="unhealthy">' in page and '<tr class="removed">' in page and "failing" not in page



def stored_items(tmp_path, feed_urls, processes):
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        outcomes = ingest(load_settings(write_config(tmp_path, feed_urls, fetch=f"parse_processes = {processes}"),
                                        env={}), store)
        items = sorted((i.key, i.title, i.summary, i.lang, i.published)
                       for i in store.recent_items(NOW - timedelta(days=9999)))
    finally:
        store.close()
    return {o.name: o.error for o in outcomes if o.error}, items


def test_feeds_parsed_in_worker_processes_store_what_parsing_in_the_threads_stores(feed_server, feeds_dir, tmp_path):
    names = ["korea.xml", "world.atom", "world.json", "korea-euckr.xml", "russia-koi8r.xml", "broken.xml"]
    for name in names:
        feed_server.add_file(name, (feeds_dir / name).read_bytes())
    feed_server.route("page.html", body="<html><body>Moved to our new site</body></html>")
    feed_urls = {name: feed_server.url(name) for name in names + ["page.html"]}
    (tmp_path / "workers").mkdir()
    (tmp_path / "threads").mkdir()
    errors, items = stored_items(tmp_path / "workers", feed_urls, processes=2)
    assert list(errors) == ["page.html"] and errors["page.html"].startswith("not a feed")
    assert (errors, items) == stored_items(tmp_path / "threads", feed_urls, processes=0)
    assert len(items) > 20


def test_a_feed_the_config_does_not_name_is_shown_by_its_own_title_until_the_config_names_it(feed_server, tmp_path):
    entry = "<item><title>Drills begin {n}</title><link>https://n.example/{n}</link></item>"
    own = feed_server.add_file("own.xml", '<?xml version="1.0"?><rss version="2.0"><channel>'
                                          "<title>Hanbando &lt;b&gt;Daily&lt;/b&gt;\n  (Korean edition)</title>"
                                          f"{entry.format(n=1)}</channel></rss>")
    named = feed_server.add_file("named.xml", rss(entry.format(n=2)))
    untitled = feed_server.add_file("untitled.xml", '<?xml version="1.0"?><rss version="2.0"><channel>'
                                                    f"{entry.format(n=3)}</channel></rss>")
    config = tmp_path / "newswatch.toml"
    tables = f'[[feeds]]\nurl = "{own}"\n[[feeds]]\nname = "Named"\nurl = "{named}"\n[[feeds]]\nurl = "{untitled}"\n'
    config.write_text(f'allow_private_addresses = true\ndata_dir = "{tmp_path / "data"}"\n{tables}')
    settings = load_settings(str(config), env={})
    store = Store.open(settings.database_url)
    ingest(settings, store)
    shown = {own: "Hanbando Daily (Korean edition)", named: "Named", untitled: untitled}
    assert store.names_by_url() == shown
    assert {status.url: status.name for status in feed_statuses(settings, store)} == shown
    listed = CliRunner().invoke(main, ["items", "--json", "--config", str(config)], catch_exceptions=False)
    assert sorted(json.loads(line)["feed"] for line in listed.output.splitlines()) == sorted(shown.values())
    status = CliRunner().invoke(main, ["feeds", "status", "--config", str(config)], catch_exceptions=False).output
    assert f"Hanbando Daily (Korean edition) <{own}>: healthy" in status
    assert f"\n{untitled}: healthy" in status, "a feed with no name but its URL is not named twice"

    ingest(settings, store)  # unchanged: a 304 keeps the title it had
    assert "If-None-Match" in feed_server.requests_for("own.xml")[-1][2] and store.names_by_url() == shown
    config.write_text(config.read_text().replace(f'url = "{own}"', f'name = "Mine"\nurl = "{own}"', 1))
    store.sync_feeds(load_settings(str(config), env={}).feeds)
    assert store.names_by_url()[own] == "Mine"
    store.close()


def test_a_feed_title_is_cleaned_and_cut_to_what_a_digest_line_can_carry():
    assert feed_title("  <i>Yonhap</i> &amp; friends \x1b[31m ") == "Yonhap & friends [31m"
    assert feed_title("N" * 500) == "N" * 79 + "…" and feed_title("   ") is None and feed_title(None) is None
    assert feed_title(["a", "list"]) is None  # a JSON Feed's "title" can be anything


def test_a_private_feeds_token_from_the_environment_is_fetched_with_and_shown_nowhere(feed_server, tmp_path):
    token = "tok-3f9a77c2e1"
    feed_server.route("private.xml", body=rss("<item><title>Kim meets Putin</title><guid>p1</guid></item>"))
    # a permanent move to an address holding the token: it is remembered as written, ${NAME} and all
    feed_server.route("moved.xml", status=301, headers={"Location": f"/private.xml?token={token}&v=2"})
    feed_server.route("gone.xml", status=404)
    config = tmp_path / "newswatch.toml"
    config.write_text(f'allow_private_addresses = true\ndata_dir = "{tmp_path / "data"}"\n'
                      f'[[feeds]]\nurl = "{feed_server.url("moved.xml")}?token=${{FEED_TOKEN}}"\n'
                      f'[[feeds]]\nname = "Gone"\nurl = "{feed_server.url("gone.xml")}?key=${{FEED_TOKEN}}"\n'
                      f'[[feeds]]\nurl = "http://127.0.0.1:9/refused.xml?key=${{FEED_TOKEN}}"\n')
    env = {"FEED_TOKEN": token, "NEWSWATCH_CONFIG": str(config)}
    runner = CliRunner(env=env)
    shown = [runner.invoke(main, ["run"], catch_exceptions=False).output for _ in range(2)]
    assert "1 new" in shown[0] and "HTTP 404" in shown[0] and "connection failed" in shown[0], shown[0]
    assert feed_server.requests_for("private.xml")[-1][1] == f"/private.xml?token={token}&v=2", "fetched with it"
    assert len(feed_server.requests_for("moved.xml")) == 1, "the second run went to where the feed moved"
    for args in (["feeds", "status", "--json"], ["feeds", "list"], ["feeds", "export"], ["items", "--json"],
                 ["search", "Kim", "--json"], ["outbox", "--all"]):
        shown.append(runner.invoke(main, args, catch_exceptions=False).output)
    assert "?token=${FEED_TOKEN}" in shown[2] and "?token=${FEED_TOKEN}&v=2" in shown[2]
    store = Store.open(load_settings(config, env=env).database_url)
    rows = [str(row) for row in store.feed_rows()]
    store.close()
    database = b"".join(path.read_bytes() for path in (tmp_path / "data").glob("newswatch.db*"))
    assert token not in "".join(shown + rows) and token.encode() not in database
