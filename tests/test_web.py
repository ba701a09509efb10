"""The review page over HTTP (FastAPI's TestClient): every route, escaping, auth, CSRF, bad parameters."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from newswatch import app, retrain
from newswatch.cli import main
from newswatch.config import WebSettings
from newswatch.digest import Match, build_digest
from newswatch.models import Item
from newswatch.web import WebConfigError, create_app
from shipped_topics import TITLES
from web_data import (DRILLS, FEEDS, HOSTILE, NOW, RUSSIA_DPRK, STORY_KCNA, STORY_PENINSULA, STORY_WORLD, build_home,
                      copy_home, stored_rows)

LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="session")
def web_template(seed_models, tmp_path_factory):
    home = tmp_path_factory.mktemp("web_template") / "home"
    build_home(home, seed_models)
    return home


@pytest.fixture
def settings(web_template, tmp_path):
    return copy_home(web_template, tmp_path / "home")


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings), base_url=LOCAL) as client:
        yield client


def ids_by_title(settings):
    return {row.item.title: row.item.id for row in stored_rows(settings)}


def stored_labels(settings):
    return {(row.item.key, topic): label.value for row in stored_rows(settings) for topic, label in row.labels.items()}


def csrf(client):
    client.get("/feeds")
    return client.cookies["newswatch_csrf"]


def test_every_page_renders(client, settings):
    inbox = client.get("/")
    assert inbox.status_code == 200
    assert RUSSIA_DPRK in inbox.text and DRILLS in inbox.text
    assert "K-pop" not in inbox.text  # untagged items wait behind tagged=any
    assert "K-pop" in client.get("/?tagged=any").text
    item_id = ids_by_title(settings)[RUSSIA_DPRK]
    item = client.get(f"/items/{item_id}")
    assert item.status_code == 200 and RUSSIA_DPRK in item.text and "not about it" in item.text
    review = client.get("/review")
    assert review.status_code == 200 and "least sure" in review.text
    model = client.get("/model")
    assert model.status_code == 200 and "v1" in model.text and "<svg" in model.text
    assert "Precision and recall by model version" in model.text and "Items tagged per day" in model.text
    feeds = client.get("/feeds")
    assert feeds.status_code == 200 and "World" in feeds.text
    assert client.get("/login").status_code == 200
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "X-CSRF-Token" in script.text
    assert client.get("/api/retrain").json()["state"] == "idle"


def test_inbox_filters(client, settings):
    ids = ids_by_title(settings)
    drills_only = client.get("/?topic=alliance_drills")
    assert DRILLS in drills_only.text and RUSSIA_DPRK not in drills_only.text
    assert RUSSIA_DPRK in client.get("/?q=putin+and+kim").text
    assert DRILLS not in client.get("/?q=putin+and+kim").text
    assert RUSSIA_DPRK in client.get("/?q=Putin+treaty").text
    named = client.get("/?q=Putin+Kim+Jong+Un").text
    assert "Also searched for “Putin” as 푸틴, 뿌찐, путин; “Kim Jong Un” as 김정은, ким чен ын, kim jong-un (the" in named
    assert "Also searched" not in client.get('/?q="Putin"').text
    assert "K-pop" in client.get("/?tagged=no").text and DRILLS not in client.get("/?tagged=no").text
    assert "Nothing matches" in client.get("/?since=2099-01-01").text
    assert "Nothing matches" in client.get("/?labeled=yes").text
    assert RUSSIA_DPRK in client.get("/?feed=1&tagged=any").text and "Tumen" not in client.get("/?feed=1").text
    token = csrf(client)
    client.post(f"/items/{ids[DRILLS]}/labels", data={"topic": "alliance_drills", "value": "yes"},
                headers={"X-CSRF-Token": token, "Accept": "application/json"})
    labeled = client.get("/?labeled=yes&tagged=any")
    assert DRILLS in labeled.text and RUSSIA_DPRK not in labeled.text


STORY_TITLES = (STORY_WORLD, STORY_KCNA, STORY_PENINSULA)


def story_blocks(page):
    """Each story block of an inbox page: (lead's part, the compact copies' part)."""
    blocks = page.text.split('<li class="story"')[1:]
    return [tuple(block.split('<div class="copies">', 1)) if '<div class="copies">' in block else (block, "")
            for block in blocks]


def test_copies_of_one_story_from_three_feeds_are_one_block(client, settings):
    ids = ids_by_title(settings)
    [(lead, copies)] = [block for block in story_blocks(client.get("/")) if STORY_WORLD in "".join(block)]
    assert sum(title in lead for title in STORY_TITLES) == 1  # one copy leads, in full, with why it matched
    assert 'class="why"' in lead and "score" in lead
    assert "+2 sources:" in copies and sum(title in copies for title in STORY_TITLES) == 2
    for title in STORY_TITLES:  # every copy keeps its own label buttons
        assert f'action="/items/{ids[title]}/labels"' in lead + copies
    assert "Peninsula &lt;Desk&gt;" in lead + copies and "Peninsula <Desk>" not in lead + copies
    copy = next(row for row in stored_rows(settings) if row.item.title in copies)
    answer = client.post(f"/items/{copy.item.id}/labels", data={"topic": "russia_dprk", "value": "no"},
                         headers={"X-CSRF-Token": csrf(client), "Accept": "application/json"})
    assert answer.status_code == 200
    assert stored_labels(settings) == {(copy.item.key, "russia_dprk"): False}  # a copy's label is its own


def test_a_story_shows_when_one_copy_matches_and_that_copy_leads(client):
    for query, matching in (("feed=1", STORY_PENINSULA), ("feed=2", STORY_WORLD), ("q=kcna+says", STORY_KCNA)):
        blocks = [block for block in story_blocks(client.get(f"/?{query}")) if STORY_WORLD in "".join(block)]
        assert len(blocks) == 1, query
        [(lead, copies)] = blocks
        assert matching in lead and "+2 sources:" in copies, query
        assert all(title in copies for title in STORY_TITLES if title != matching), query
    assert not [block for block in story_blocks(client.get("/?q=no+such+words")) if STORY_WORLD in "".join(block)]


def test_pages_count_stories_and_never_split_one(tmp_path):
    from newswatch.config import load_settings
    from newswatch.web.server import PAGE_SIZE

    settings = load_settings(env={"NEWSWATCH_HOME": str(tmp_path / "home")})
    store = app.open_store(settings)
    try:
        feed_ids = list(store.sync_feeds(FEEDS).values())
        singles = [Item(key=f"single-{n}", title=f"Single report {n:02}", published=NOW - timedelta(hours=n))
                   for n in range(PAGE_SIZE - 1)]
        stored = store.insert_new(feed_ids[0], singles, NOW)
        wire = [store.insert_new(feed_id, [Item(key=f"wire-{n}", title=f"Wire copy {n}",
                                                published=NOW - timedelta(hours=PAGE_SIZE, minutes=n))], NOW)[0]
                for n, feed_id in enumerate(feed_ids)]
        last = store.insert_new(feed_ids[1], [Item(key="last", title="Oldest report",
                                                   published=NOW - timedelta(hours=PAGE_SIZE + 1))], NOW)
        store.set_stories({**{item.id: item.id for item in stored + last}, **{item.id: wire[0].id for item in wire}})
    finally:
        store.close()
    with TestClient(create_app(settings), base_url=LOCAL) as client:
        first, second = client.get("/?tagged=any"), client.get("/?tagged=any&page=2")
    assert len(story_blocks(first)) == PAGE_SIZE and "Single report 00" in first.text
    assert all(f"Wire copy {n}" in first.text for n in range(3)) and "+2 sources:" in first.text
    assert "older →" in first.text and "older →" not in second.text and "← newer" in second.text
    assert len(story_blocks(second)) == 1 and "Oldest report" in second.text and "Wire copy" not in second.text


def test_feed_strings_are_escaped(client, settings):
    for page in (client.get("/?tagged=any"), client.get(f"/items/{ids_by_title(settings)[HOSTILE]}")):
        assert "<script>alert" not in page.text and "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page.text
        assert "<img src=x" not in page.text
    inbox = client.get("/?tagged=any").text
    assert "Peninsula &lt;Desk&gt;" in inbox and "Peninsula <Desk>" not in inbox
    assert 'href="javascript:' not in inbox  # a feed's javascript: link is shown as text, never linked
    assert "HTTP 503 &lt;b&gt;Service Unavailable&lt;/b&gt;" in client.get("/feeds").text
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_one_click_label_is_stored_and_shown(client, settings):
    item_id = ids_by_title(settings)[RUSSIA_DPRK]
    answer = client.post(f"/items/{item_id}/labels", data={"topic": "russia_dprk", "value": "no"},
                         headers={"X-CSRF-Token": csrf(client), "Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["value"] is False and "not about it" in answer.json()["text"]
    assert stored_labels(settings) == {("kr-1", "russia_dprk"): False}
    assert "labeled not about it by web" in client.get(f"/items/{item_id}").text


def test_label_form_without_javascript_redirects_back(client, settings):
    item_id = ids_by_title(settings)[DRILLS]
    form = {"topic": "alliance_drills", "value": "yes", "csrf_token": csrf(client), "next": "/?tagged=any"}
    answer = client.post(f"/items/{item_id}/labels", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/?tagged=any"
    offsite = client.post(f"/items/{item_id}/labels", data={**form, "next": "//evil.example/"}, follow_redirects=False)
    assert offsite.headers["location"] == f"/items/{item_id}"
    assert stored_labels(settings) == {("kr-2", "alliance_drills"): True}


def test_actions_without_the_csrf_token_are_refused(client, settings):
    item_id = ids_by_title(settings)[RUSSIA_DPRK]
    csrf(client)
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        answer = client.post(f"/items/{item_id}/labels", data={"topic": "russia_dprk", "value": "no"}, headers=headers)
        assert answer.status_code == 403 and "CSRF" in answer.text
        assert client.post("/model/retrain", headers=headers).status_code == 403
    # a request from another site carries no cookie: the token it guessed matches nothing
    client.cookies.clear()
    answer = client.post(f"/items/{item_id}/labels", json={"topic": "russia_dprk", "value": "no", "csrf_token": "x"})
    assert answer.status_code == 403 and answer.json()["error"].startswith("missing or wrong CSRF token")
    assert stored_labels(settings) == {}
    assert client.get("/api/retrain").json()["state"] == "idle"


@pytest.mark.parametrize("path, message", [
    ("/?topic=nonsense", "topic must be one of"),
    ("/?since=yesterday", "since must be a date"),
    ("/?until=2026-13-45", "until must be a date"),
    ("/?until=9999-12-31", "until must be a date before 9999-12-31"),
    ("/?q=kim%00", "search text must not contain control characters"),
    ("/?tagged=maybe", "tagged must be yes, no or any"),
    ("/?labeled=1", "labeled must be yes, no or any"),
    ("/?page=0", "page must be a whole number"),
    ("/?page=-3", "page must be a whole number"),
    ("/?feed=abc", "feed must be a whole number"),
    ("/?q=" + "x" * 300, "search text is limited"),
    ("/review?limit=100000", "limit must be a whole number"),
    ("/items/abc", "item id must be a whole number"),
    ("/items/99999999999999999999999", "item id must be a whole number"),
])
def test_bad_parameters_get_a_clear_400(client, path, message):
    answer = client.get(path)
    assert answer.status_code == 400 and message in answer.text


def test_bad_actions_get_a_clear_4xx(client, settings):
    item_id = ids_by_title(settings)[RUSSIA_DPRK]
    headers = {"X-CSRF-Token": csrf(client), "Accept": "application/json"}
    cases = [
        (f"/items/{item_id}/labels", {"data": {"topic": "weather", "value": "no"}}, 400, "topic must be one of"),
        (f"/items/{item_id}/labels", {"data": {"topic": "russia_dprk", "value": "perhaps"}}, 400, "value must be yes or no"),
        (f"/items/{item_id}/labels", {"content": b"{not json", "headers": {**headers, "Content-Type": "application/json"}},
         400, "not valid JSON"),
        (f"/items/{item_id}/labels", {"json": [1, 2]}, 400, "must be a JSON object"),
        ("/items/424242/labels", {"data": {"topic": "russia_dprk", "value": "no"}}, 404, "no item with id 424242"),
    ]
    for path, body, status, message in cases:
        answer = client.post(path, **{"headers": headers, **body})
        assert answer.status_code == status and message in answer.json()["error"], (path, answer.text)
    assert client.get("/items/424242").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/model/retrain").status_code == 405
    assert stored_labels(settings) == {}


def test_loopback_refuses_foreign_host_headers(settings):
    with TestClient(create_app(settings), base_url="http://rebound.evil.example") as client:
        assert client.get("/").status_code == 400


def test_non_loopback_bind_needs_a_token(settings):
    with pytest.raises(WebConfigError, match="refusing to serve on 0.0.0.0"):
        create_app(settings, host="0.0.0.0")
    result = CliRunner().invoke(main, ["web", "--host", "192.0.2.7"], env={"NEWSWATCH_HOME": str(settings.data_dir)})
    assert result.exit_code != 0 and "refusing to serve on 192.0.2.7" in result.output


def test_token_guards_every_page_and_action(settings):
    guarded = dataclasses.replace(settings, web=WebSettings(token="s3cret-token"))
    with TestClient(create_app(guarded, host="0.0.0.0"), base_url="http://192.0.2.7:8750") as client:
        first = client.get("/model", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/login?next=%2Fmodel"
        assert client.get("/api/retrain").status_code == 401
        assert client.get("/static/style.css").status_code == 200
        assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert client.get("/", headers={"Authorization": "Bearer wrong"}, follow_redirects=False).status_code == 303
        token = csrf(client)
        item_id = ids_by_title(settings)[RUSSIA_DPRK]
        refused = client.post(f"/items/{item_id}/labels", data={"topic": "russia_dprk", "value": "no"},
                              headers={"X-CSRF-Token": token})
        assert refused.status_code == 401
        wrong = client.post("/login", data={"token": "guess", "csrf_token": token, "next": "/model"})
        assert wrong.status_code == 401 and "not right" in wrong.text
        right = client.post("/login", data={"token": "s3cret-token", "csrf_token": token, "next": "/model"},
                            follow_redirects=False)
        assert right.status_code == 303 and right.headers["location"] == "/model"
        assert "HttpOnly" in right.headers["set-cookie"] and "s3cret-token" not in client.get("/model").text
        assert client.get("/model").status_code == 200
        assert client.post(f"/items/{item_id}/labels", data={"topic": "russia_dprk", "value": "no"},
                           headers={"X-CSRF-Token": token}, follow_redirects=False).status_code == 303
    with TestClient(create_app(guarded, host="0.0.0.0"), base_url="http://192.0.2.7:8750") as script:
        by_script = script.post(f"/items/{item_id}/labels", json={"topic": "alliance_drills", "value": False},
                                headers={"Authorization": "Bearer s3cret-token"})
        assert by_script.status_code == 200 and by_script.json()["value"] is False
    assert stored_labels(settings) == {("kr-1", "russia_dprk"): False, ("kr-1", "alliance_drills"): False}


def test_retrain_button_runs_in_the_background_and_shows_the_decision(settings):
    def quick_retrain(settings_, store):
        # the real retrain.train trains for tens of seconds; its own test below covers it
        return SimpleNamespace(message="v2 promoted: not worse: macro-F1 0.91 vs 0.90", promoted_version="v2")

    with TestClient(create_app(settings, retrain=quick_retrain), base_url=LOCAL) as client:
        token = csrf(client)
        started = client.post("/model/retrain", data={"csrf_token": token}, follow_redirects=False)
        assert started.status_code == 303 and started.headers["location"] == "/model"
        client.app.state.retrain_job.wait(10)
        assert client.get("/api/retrain").json()["state"] == "done"
        assert "v2 promoted" in client.get("/model").text


def test_retrain_failure_is_shown_not_raised(settings):
    def broken(settings_, store):
        raise ValueError("training data needs positive and negative examples")

    with TestClient(create_app(settings, retrain=broken), base_url=LOCAL) as client:
        answer = client.post("/model/retrain", headers={"X-CSRF-Token": csrf(client), "Accept": "application/json"})
        assert answer.status_code == 202
        client.app.state.retrain_job.wait(10)
        assert "retraining failed: ValueError" in client.get("/model").text


@pytest.mark.timeout(300)  # a real training run with cross-validation
def test_real_retrain_learns_from_web_labels_and_keeps_the_gate(settings, client):
    ids = ids_by_title(settings)
    token = csrf(client)
    for title, topic, value in ((HOSTILE, "russia_dprk", "yes"), (RUSSIA_DPRK, "alliance_drills", "no")):
        client.post(f"/items/{ids[title]}/labels", data={"topic": topic, "value": value},
                    headers={"X-CSRF-Token": token, "Accept": "application/json"})
    store = app.open_store(settings)
    try:
        corpus, labeled = retrain.training_corpus(settings, store)
        report = retrain.train(settings, store)
    finally:
        store.close()
    assert labeled == 2 and {"w-1", "kr-1"} <= {e.item.key for e in corpus}
    assert report.current_version == "v1" and report.candidate.reason
    assert retrain.current_version(settings) == (report.promoted_version or "v1")


def test_digest_links_each_entry_to_its_page(settings):
    row = next(r for r in stored_rows(settings) if r.item.title == RUSSIA_DPRK)
    digest = build_digest([Match(row.item, row.prediction, row.feed_name)], TITLES, web_base_url="https://newswatch.example.org")
    page = f"https://newswatch.example.org/items/{row.item.id}"
    assert f'href="{page}"' in digest.html and page in digest.text and f"]({page})" in digest.markdown
    assert "/items/" not in build_digest([Match(row.item, row.prediction, row.feed_name)], TITLES).text


def test_web_config_keys(tmp_path):
    from newswatch.config import ConfigError, load_settings

    config = tmp_path / "newswatch.toml"
    config.write_text('[web]\nbase_url = "https://newswatch.example.org/"\ntoken = "${WEB_SECRET}"\n')
    web = load_settings(config, env={"WEB_SECRET": "abc"}).web
    assert web == WebSettings("https://newswatch.example.org", "abc") and "abc" not in repr(web)
    config.write_text("")
    assert load_settings(config, env={"NEWSWATCH_WEB_TOKEN": "from-env"}).web.token == "from-env"
    assert load_settings(config, env={}).web == WebSettings()
    for text, message in (('[web]\nbase_url = "ftp://x"\n', "web.base_url: expected an http(s) URL"),
                          ("[web]\nport = 1\n", "web.port: unknown key"),
                          ('[web]\ntoken = "${UNSET_SECRET}"\n', "web.token: environment variable UNSET_SECRET")):
        config.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_settings(config, env={})


def test_an_empty_data_dir_renders_every_page(tmp_path):
    from newswatch.config import load_settings

    empty = load_settings(env={"NEWSWATCH_HOME": str(tmp_path / "empty")})
    with TestClient(create_app(empty), base_url=LOCAL) as client:
        assert "Nothing matches" in client.get("/").text
        assert "Nothing to review" in client.get("/review").text
        assert "No model in service yet" in client.get("/model").text and "no data yet" in client.get("/model").text
        assert client.get("/feeds").status_code == 200


def test_another_event_takes_a_copy_out_of_its_story_on_the_page_and_from_the_cli(client, settings):
    ids = ids_by_title(settings)
    [(lead, copies)] = [block for block in story_blocks(client.get("/")) if STORY_WORLD in "".join(block)]
    for title in STORY_TITLES:  # every copy, the lead too, has the button
        assert f'action="/items/{ids[title]}/separate"' in lead + copies
    item_page = client.get(f"/items/{ids[STORY_KCNA]}").text  # where a digest's link leads
    assert "In one story with:" in item_page and STORY_WORLD in item_page and STORY_PENINSULA in item_page
    assert f'action="/items/{ids[STORY_KCNA]}/separate"' in item_page
    form = {"csrf_token": csrf(client), "next": "/?tagged=any"}
    assert client.post(f"/items/{ids[STORY_KCNA]}/separate", data={"next": "/"}).status_code == 403  # no token
    moved = client.post(f"/items/{ids[STORY_KCNA]}/separate", data=form, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/?tagged=any"
    blocks = [block for block in story_blocks(client.get("/?tagged=any")) if STORY_WORLD in "".join(block)
              or STORY_KCNA in "".join(block)]
    assert len(blocks) == 2 and not any(STORY_KCNA in copies for _, copies in blocks)
    assert "In one story with:" not in client.get(f"/items/{ids[STORY_KCNA]}").text
    assert client.post("/items/999999/separate", data=form).status_code == 404

    def separate(item_id):
        return CliRunner().invoke(main, ["separate", str(item_id)], env={"NEWSWATCH_HOME": str(settings.data_dir)})

    run = separate(ids[STORY_PENINSULA])
    assert run.exit_code == 0 and f"item {ids[STORY_PENINSULA]}: a story of its own now" in run.output, run.output
    stories = {row.item.title: row.story_id for row in stored_rows(settings)}
    assert len({stories[title] for title in STORY_TITLES}) == 3
    assert "already a story of its own" in separate(ids[STORY_PENINSULA]).output
    missing = separate(999999)
    assert missing.exit_code == 2 and "Error: no stored item with id 999999" in missing.output
