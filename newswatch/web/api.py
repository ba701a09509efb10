"""The machine doors of the web app: the read-only JSON API (described at /api/openapi.json) and each
saved query's matches as Atom and JSON Feed (/feeds/<name>.atom, /feeds/<name>.json).

Thin over the same functions as the CLI and the page: ``Store.scored_items`` (the one search), the
stories, feeds and labels views, ``retrain.model_versions``, and for a label the page's own ``label_item``.
Auth is the page's (server.py's guard): a Bearer token when one is configured, open on loopback when
none is. Feed readers that cannot send headers may put the token in the feed's address (``?token=``),
accepted on /feeds/ only: an address ends up in logs and histories, so nothing else takes it there.
"""

# no `from __future__ import annotations`: the routes' parameter types are built from the config's topics
# inside api_router, and FastAPI resolves string annotations in the module's globals only
import hashlib
from functools import partial
from datetime import date, datetime, time, timezone
from typing import Annotated, Any, Callable, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from .. import retrain as loop
from .. import syndication
from ..config import Settings
from ..jsonview import feed_json, label_json, story_json
from ..store import ItemFilter, SearchError, Store
from ..store.search import MAX_QUERY, search_terms
from ..untrusted import MAX_ITEM_ID, LanguageCodeError, language_code

API_VERSION = "1"
MAX_PAGE = 200
FEED_ENTRIES = 50
"""Matches in a saved query's feed: the newest ones (readers keep what they have seen)."""


class ApiError(BaseModel):
    error: str


class ItemOut(BaseModel):
    id: int
    key: str = Field(description="The item's identity across runs: canonical URL, GUID or title hash.")
    title: str
    summary: str
    url: str | None
    feed: str = Field(description="The feed's name.")
    feed_url: str | None
    published: datetime | None = Field(description="As the outlet published it; null when the feed gave no date.")
    fetched_at: datetime
    story_id: int = Field(description="Copies of one story (several outlets) share it; see /api/stories.")
    model_version: str | None
    scores: dict[str, float] | None = Field(description="Topic → score of the latest prediction; null if unscored.")
    tags: list[str] | None = Field(description="Topics the latest prediction tags; null if unscored.")
    labels: dict[str, bool] = Field(description="Topic → the analysts' judgement in force.")


class ItemPage(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class StoryOut(BaseModel):
    id: int
    copies: list[ItemOut] = Field(description="Every stored copy, newest first.")
    matched_ids: list[int] = Field(description="The copies the filters matched.")


class StoryPage(BaseModel):
    stories: list[StoryOut]
    next_page: int | None


class FeedOut(BaseModel):
    id: int
    url: str
    name: str
    items_stored: int
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_new_item_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_attempt_at: datetime | None


class FeedList(BaseModel):
    feeds: list[FeedOut]


class ModelOut(BaseModel):
    version: str
    in_service: bool
    created_at: str | None
    trained_on: str | None
    training_examples: int | None
    thresholds: dict[str, float]
    metrics: dict[str, Any]


class ModelList(BaseModel):
    current: str | None
    models: list[ModelOut]


class LabelOut(BaseModel):
    item_key: str
    topic: str
    value: bool
    author: str
    source: str
    title: str
    url: str | None
    created_at: datetime | None


class LabelPage(BaseModel):
    labels: list[LabelOut]
    next_page: int | None


class LabelRecorded(BaseModel):
    item_id: int
    topic: str
    value: bool
    author: str
    created_at: datetime
    text: str


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Results per page.")]
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="Page number, from 1.")]
Search = Annotated[str | None, Query(max_length=MAX_QUERY, description='Words and "quoted phrases", all required '
                                     "(title, summary, text; any language; case-insensitive substrings).")]
FeedFilter = Annotated[int | None, Query(ge=1, le=MAX_ITEM_ID, description="A feed's id (see /api/feeds).")]
Since = Annotated[datetime | date | None, Query(description="Published (else fetched) at or after this date or time.")]
class SeparateIn(BaseModel):
    """An empty JSON object, ``{}``: a JSON body, like a label's, is what a cross-site form cannot send."""


class Separated(BaseModel):
    item_id: int
    story_id: int = Field(description="The item's story now: a story of its own, named after the item.")
    was_in_story: int | None = Field(description="The story it left; null when it was a story of its own already.")


LabelItem = Callable[[Store, str, str, bool], tuple[Any, Any]]
SeparateItem = Callable[[Store, str], tuple[Any, int | None]]


def api_router(settings: Settings, store: Store, label_item: LabelItem, label_text: Callable[[Any], str],
               separate_item: SeparateItem) -> APIRouter:
    """The /api routes; ``label_item`` and ``separate_item`` are the page's (its buttons and the API act alike)."""
    router = APIRouter(prefix="/api", dependencies=[Depends(HTTPBearer(auto_error=False))],
                       responses={400: {"model": ApiError}, 401: {"model": ApiError}, 404: {"model": ApiError}})
    Topic = Literal[settings.topic_names]  # type: ignore[valid-type]  # the config's: another is a documented 422
    TopicFilter = Annotated[Topic | None,  # type: ignore[valid-type]
                            Query(description="Tagged with this topic by the latest prediction.")]

    class LabelIn(BaseModel):
        topic: Topic  # type: ignore[valid-type]
        value: bool = Field(description="true: the item is about the topic; false: it is not.")

    @router.get("/items", response_model=ItemPage, summary="Stored items, newest first, filtered and searched")
    def items(q: Search = None, topic: TopicFilter = None,
              lang: Annotated[str | None, Query(max_length=16, description="Language code (en, ko, ru).")] = None,
              feed: FeedFilter = None, since: Since = None,
              story: Annotated[int | None, Query(ge=1, le=MAX_ITEM_ID, description="A story's id.")] = None,
              limit: Limit = 50,
              cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,10}$", description="From `next_cursor`.")] = None,
              ) -> dict[str, Any]:
        lang = lang_param(lang)
        where = ItemFilter(search=search_param(q), topics=(topic,) if topic else (), languages=(lang,) if lang else (),
                           feed_id=feed, since=_moment(since), story_id=story)
        rows = store.scored_items(where, limit=limit + 1, before=int(cursor) if cursor else None)
        more = len(rows) > limit
        return {"items": [row.as_json() for row in rows[:limit]],
                "next_cursor": str(rows[limit - 1].item.id) if more else None}

    @router.get("/stories", response_model=StoryPage,
                summary="Stories (copies of one event across outlets), the one with the newest matching copy first")
    def stories(q: Search = None, topic: TopicFilter = None, feed: FeedFilter = None, since: Since = None,
                limit: Limit = 20, page: PageNumber = 1) -> dict[str, Any]:
        where = ItemFilter(search=search_param(q), topics=(topic,) if topic else (), feed_id=feed, since=_moment(since))
        found = store.scored_stories(where, limit=limit + 1, offset=(page - 1) * limit)
        return {"stories": [story_json(story) for story in found[:limit]],
                "next_page": page + 1 if len(found) > limit else None}

    @router.get("/feeds", response_model=FeedList, summary="Every feed with its health and items stored")
    def feeds() -> dict[str, Any]:
        return {"feeds": [feed_json(row) for row in store.feed_rows()]}

    @router.get("/models", response_model=ModelList, summary="Model versions, oldest first, and the one in service")
    def models() -> dict[str, Any]:
        current = loop.current_version(settings)
        return {"current": current, "models": [
            {"version": meta["version"], "in_service": meta["version"] == current,
             "created_at": meta.get("created_at"), "trained_on": meta.get("trained_on"),
             "training_examples": meta.get("training_examples"), "thresholds": meta.get("thresholds", {}),
             "metrics": meta.get("metrics", {})} for meta in loop.model_versions(settings)]}

    @router.get("/labels", response_model=LabelPage, summary="The labels in force, oldest first")
    def labels(limit: Limit = 100, page: PageNumber = 1) -> dict[str, Any]:
        found = store.latest_labels()  # one per labeled item and topic: thousands, not millions
        chosen = found[(page - 1) * limit:page * limit + 1]
        return {"labels": [label_json(label) for label in chosen[:limit]],
                "next_page": page + 1 if len(chosen) > limit else None}

    @router.post("/items/{item_id}/labels", response_model=LabelRecorded,
                 summary="Label an item about a topic, as the page's buttons do")
    def add_label(item_id: Annotated[str, Path(pattern=r"^[0-9]{1,10}$", description="The item's id.")],
                  body: LabelIn) -> dict[str, Any]:
        # no CSRF token here: the body must be JSON, which a browser sends cross-site only after a CORS
        # preflight this server never answers; a script sends the Bearer token instead
        row, label = label_item(store, item_id, body.topic, body.value)
        return {"item_id": row.item.id, "topic": label.topic, "value": label.value, "author": label.author,
                "created_at": label.created_at, "text": label_text(label)}

    @router.post("/items/{item_id}/separate", response_model=Separated,
                 summary="Take an item out of its story (it reports another event), as the page's button does")
    def separate(item_id: Annotated[str, Path(pattern=r"^[0-9]{1,10}$", description="The item's id.")],
                 body: SeparateIn) -> dict[str, Any]:
        row, story = separate_item(store, item_id)
        return {"item_id": row.item.id, "story_id": row.item.id, "was_in_story": story}

    return router


def serve_openapi(web: FastAPI, router: APIRouter) -> None:
    """/api/openapi.json: the API's routes only (the HTML pages are not an API)."""
    described: dict[str, Any] = {}

    @web.get("/api/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        if not described:
            described.update(get_openapi(
                title="newswatch API", version=API_VERSION, routes=router.routes,
                description="Read-only access to stored items, stories, feeds, models and labels; labeling, and "
                            "taking an item out of its story. "
                            "Send `Authorization: Bearer <token>` when the server has a token."))
        return JSONResponse(described)


def feed_routes(web: FastAPI, settings: Settings, store: Store) -> None:
    """/feeds/<name>.atom and /feeds/<name>.json: a saved query's newest matches for feed readers."""

    @web.get("/feeds/{name}.{kind}", include_in_schema=False)
    def saved_query_feed(request: Request, name: str, kind: str) -> Response:
        if kind not in ("atom", "json"):
            raise HTTPException(404, f"no feed format {kind!r} (atom or json)")
        query = store.saved_query(name)
        if query is None:
            raise HTTPException(404, f"no saved query named {name!r}")
        rows = store.scored_items(query.item_filter(settings.topic_names), limit=FEED_ENTRIES)
        path = f"/feeds/{name}.{kind}"  # never the ?token=: a feed's text must not carry the secret
        self_url = f"{settings.web.base_url}{path}" if settings.web.base_url else str(request.url.replace(query=""))
        render, media_type = ((partial(syndication.atom, titles=settings.titles()), syndication.ATOM_TYPE) if kind == "atom"
                              else (syndication.json_feed, syndication.JSON_FEED_TYPE))
        body = render(query, rows, self_url, settings.web.base_url)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers={"ETag": etag})
        return Response(body, media_type=media_type, headers={"ETag": etag, "Cache-Control": "private, no-cache"})


def is_feed_path(path: str) -> bool:
    return path.startswith("/feeds/") and path.endswith((".atom", ".json"))


def search_param(text: str | None) -> str | None:
    """A search box's or ``q``'s text, checked (a 400 says what is wrong); None when blank."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        search_terms(text)
    except SearchError as exc:
        raise HTTPException(400, str(exc)) from None
    return text


def lang_param(text: str | None) -> str | None:
    """A ``lang`` filter, checked as the CLI checks it (a 400 says what is wrong); None when blank."""
    if not (text or "").strip():
        return None
    try:
        return language_code(text or "")
    except LanguageCodeError as exc:
        raise HTTPException(400, str(exc)) from None


def _moment(since: datetime | date | None) -> datetime | None:
    if since is None:
        return None
    if not isinstance(since, datetime):
        return datetime.combine(since, time(), timezone.utc)
    return since if since.tzinfo else since.replace(tzinfo=timezone.utc)
