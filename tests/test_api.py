"""The JSON API against its own OpenAPI description: every documented route answers with the documented shape
(checked with jsonschema), for plain calls, for filters and paging, for bad parameters and without the token;
labels POSTed through the API land as the page's buttons put them."""

from __future__ import annotations

import dataclasses

import jsonschema
import pytest
from fastapi.testclient import TestClient

from newswatch.config import WebSettings
from newswatch.web import create_app
from test_web import LOCAL, copy_home, ids_by_title, stored_labels, web_template  # noqa: F401 (fixture)
from web_data import DRILLS, ITEMS, RUSSIA_DPRK, STORY_WORLD

TOKEN = "api-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(web_template, tmp_path):  # noqa: F811
    plain = copy_home(web_template, tmp_path / "home")
    return dataclasses.replace(plain, web=WebSettings(token=TOKEN))


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings), base_url=LOCAL, headers=AUTH) as client:
        yield client


@pytest.fixture
def described(client):
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def check(document, method, path, response):
    """The response's status is documented for the operation, and its body has the documented shape."""
    operation = document["paths"][path][method]
    assert str(response.status_code) in operation["responses"], (method, path, response.status_code, response.text)
    schema = operation["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
    jsonschema.validate(response.json(), {**schema, "components": document["components"]},
                        cls=jsonschema.Draft202012Validator)
    return response.json()


def test_the_description_lists_every_route_with_bearer_auth(described):
    assert described["openapi"].startswith("3.")
    operations = {(method, path) for path, methods in described["paths"].items() for method in methods}
    assert operations == {("get", "/api/items"), ("get", "/api/stories"), ("get", "/api/feeds"), ("get", "/api/models"),
                          ("get", "/api/labels"), ("post", "/api/items/{item_id}/labels"),
                          ("post", "/api/items/{item_id}/separate")}
    assert described["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, methods in described["paths"].items():
        for operation in methods.values():
            assert operation["security"] == [{"HTTPBearer": []}] and operation.get("summary"), path


def test_every_documented_get_answers_in_its_documented_shape(client, described, settings):
    ids = ids_by_title(settings)
    examples = {"q": "Pyongyang", "topic": "russia_dprk", "feed": "2", "since": "2020-01-01", "story": str(ids[DRILLS]),
                "limit": "1", "page": "1", "lang": None, "cursor": None}
    for path, methods in described["paths"].items():
        if "get" not in methods:
            continue
        check(described, "get", path, client.get(path))
        for parameter in methods["get"].get("parameters", []):
            value = examples[parameter["name"]]
            if value is not None:  # each documented filter alone
                check(described, "get", path, client.get(path, params={parameter["name"]: value}))
    feeds = check(described, "get", "/api/feeds", client.get("/api/feeds"))["feeds"]
    assert [feed["name"] for feed in feeds] == ["Peninsula <Desk>", "World", "KCNA Watch"]
    assert feeds[1]["last_error"] and feeds[1]["consecutive_failures"] == 1
    models = check(described, "get", "/api/models", client.get("/api/models"))
    assert models["current"] == "v1" and models["models"][0]["in_service"] and models["models"][0]["thresholds"]
    found = check(described, "get", "/api/items", client.get("/api/items", params={"q": "Putin Kim", "topic": "russia_dprk"}))
    assert [item["title"] for item in found["items"]][-1] == RUSSIA_DPRK
    story = check(described, "get", "/api/stories", client.get("/api/stories", params={"q": "Belousov"}))["stories"]
    assert len(story) == 1 and len(story[0]["copies"]) == 3 and STORY_WORLD in [c["title"] for c in story[0]["copies"]]


def test_paging_visits_every_item_once(client, described):
    seen, cursor = [], None
    while True:
        page = check(described, "get", "/api/items",
                     client.get("/api/items", params={"limit": 2, **({"cursor": cursor} if cursor else {})}))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(ITEMS) and seen == sorted(seen, reverse=True)
    stories, number = [], 1
    while number:
        page = check(described, "get", "/api/stories", client.get("/api/stories", params={"limit": 2, "page": number}))
        stories += [story["id"] for story in page["stories"]]
        number = page["next_page"]
    assert len(stories) == len(set(stories)) == len(ITEMS) - 2  # three copies of one story


@pytest.mark.parametrize("path, params", [
    ("/api/items", {"limit": "0"}), ("/api/items", {"limit": "201"}), ("/api/items", {"limit": "abc"}),
    ("/api/items", {"cursor": "-1"}), ("/api/items", {"cursor": "１２"}), ("/api/items", {"topic": "weather"}),
    ("/api/items", {"q": '""'}), ("/api/items", {"q": "kim\x00"}), ("/api/items", {"q": "x" * 201}),
("/api/items", {"since": "yesterday"}), ("/api/items", {"feed": "99999999999"}),
    ("/api/stories", {"page": "0"}), ("/api/labels", {"limit": "1e3"}),
])
def test_bad_parameters_get_a_documented_error(client, described, path, params):
    answer = client.get(path, params=params)
    assert answer.status_code in (400, 422)
    check(described, "get", path, answer)


def test_a_language_filter_answers_in_the_documented_shape(client, described):
    answer = client.get("/api/items", params={"lang": "ko"})
    check(described, "get", "/api/items", answer)
    assert answer.status_code == 200 and all(item["lang"] == "ko" for item in answer.json()["items"])


def test_the_token_is_required_and_openapi_is_behind_it_too(settings, described):
    with TestClient(create_app(settings), base_url=LOCAL) as anonymous:
        for path in ("/api/items", "/api/stories", "/api/feeds", "/api/models", "/api/labels", "/api/openapi.json"):
            refused = anonymous.get(path)
            assert refused.status_code == 401 and "token is required" in refused.json()["error"]
        check(described, "get", "/api/items", anonymous.get("/api/items"))
        wrong = anonymous.get("/api/items", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    open_settings = dataclasses.replace(settings, web=WebSettings())
    with TestClient(create_app(open_settings), base_url=LOCAL) as loopback:  # no token, loopback: open, as the page
        assert loopback.get("/api/items").status_code == 200


def test_labels_posted_through_the_api_go_the_way_of_the_buttons(client, described, settings):
    ids = ids_by_title(settings)
    path = "/api/items/{item_id}/labels"
    recorded = check(described, "post", path, client.post(f"/api/items/{ids[DRILLS]}/labels",
                                                          json={"topic": "alliance_drills", "value": True}))
    assert recorded["item_id"] == ids[DRILLS] and recorded["value"] is True and recorded["author"] == "web"
    assert recorded["text"].startswith("labeled about it by web")
    key = next(item.key for _, item in ITEMS if item.title == DRILLS)
    assert stored_labels(settings) == {(key, "alliance_drills"): True}
    labels = check(described, "get", "/api/labels", client.get("/api/labels"))["labels"]
    assert [(label["item_key"], label["topic"], label["value"], label["source"]) for label in labels] == [
        (key, "alliance_drills", True, "web")]
    item = check(described, "get", "/api/items", client.get("/api/items", params={"story": ids[DRILLS]}))["items"][0]
    assert item["labels"] == {"alliance_drills": True}
    page_label = client.post(f"/items/{ids[DRILLS]}/labels", json={"topic": "alliance_drills", "value": False})
    assert page_label.status_code == 200  # the page's button, as a script holding the token presses it
    assert stored_labels(settings) == {(key, "alliance_drills"): False}
    for body, status in (({"topic": "weather", "value": True}, 422), ({"topic": "alliance_drills"}, 422),
                         ({"topic": "alliance_drills", "value": "maybe"}, 422)):
        check(described, "post", path, client.post(f"/api/items/{ids[DRILLS]}/labels", json=body))
    form = client.post(f"/api/items/{ids[DRILLS]}/labels", data={"topic": "alliance_drills", "value": "true"})
    assert form.status_code == 422  # JSON only: a cross-site form cannot post here
    missing = client.post("/api/items/999999/labels", json={"topic": "alliance_drills", "value": True})
    assert missing.status_code == 404 and check(described, "post", path, missing)["error"] == "no item with id 999999"
    assert client.post("/api/items/abc/labels", json={"topic": "alliance_drills", "value": True}).status_code == 422
    assert client.get("/api/retrain").json()["state"] == "idle"  # the retrain button's status stays where it was


def test_an_item_taken_out_of_its_story_through_the_api_is_a_story_of_its_own(client, described, settings):
    ids = ids_by_title(settings)
    path = "/api/items/{item_id}/separate"
    before = check(described, "get", "/api/items", client.get("/api/items", params={"story": ids[STORY_WORLD]}))
    assert len(before["items"]) == 3
    kcna = next(item for item in before["items"] if item["title"] != STORY_WORLD)
    moved = check(described, "post", path, client.post(f"/api/items/{kcna['id']}/separate", json={}))
    assert moved == {"item_id": kcna["id"], "story_id": kcna["id"], "was_in_story": ids[STORY_WORLD]}
    after = client.get("/api/items", params={"story": ids[STORY_WORLD]}).json()["items"]
    assert len(after) == 2 and kcna["id"] not in {item["id"] for item in after}
    again = check(described, "post", path, client.post(f"/api/items/{kcna['id']}/separate", json={}))
    assert again["was_in_story"] is None
    form = client.post(f"/api/items/{kcna['id']}/separate", data={"x": "1"})
    assert form.status_code == 422  # JSON only: a cross-site form cannot post here
    missing = client.post("/api/items/999999/separate", json={})
    assert missing.status_code == 404 and check(described, "post", path, missing)["error"] == "no item with id 999999"
