"""The review page: FastAPI routes over the store, rendered on the server with Jinja2.

Reads go through ``Store``; the review queue, labels, model versions, thresholds and retraining through
the same functions the CLI runs (``newswatch.retrain``, ``newswatch.analyst_labels``, ``newswatch.feedlist``). Every page is plain HTML; ``static/app.js`` only turns the label buttons
into in-place updates and polls a running retrain.
"""

from __future__ import annotations

import json
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .. import app as core
from .. import retrain as loop
from ..analyst_labels import LabelError, label_stored_item
from ..clock import Clock, utcnow
from ..config import ConfigError, Settings
from ..digest import lead_copy, more_sources, other_outlets
from ..feedlist import feed_statuses, set_topic_threshold
from ..jsonview import saved_query_json
from ..store import ItemFilter, ScoredItem, ScoredStory, Store
from ..store.search import search_terms
from ..untrusted import MAX_ITEM_ID, NumberError, http_url, parse_item_id, whole_number
from . import security
from .api import api_router, feed_routes, is_feed_path, lang_param, search_param, serve_openapi
from .charts import PALETTE, Series, line_chart

PAGE_SIZE = 50
"""Stories per inbox page."""
TAGGED_DAYS = 30
LABEL_AUTHOR = "web"
MAX_COPIES_SHOWN = 20
"""The other copies of its story an item's page lists (a story of more is a wire flood, not news)."""
Retrain = Callable[[Settings, Store], "loop.TrainingReport"]


class BadRequest(HTTPException):
    def __init__(self, message: str, status_code: int = 400):
        super().__init__(status_code=status_code, detail=message)


@dataclass(frozen=True)
class StoryBlock:
    """One story as the inbox shows it: the store's ``ScoredStory`` with its lead chosen for the topic the
    inbox is filtered by (among the copies the filter matched), shown in full, and the story's other copies
    compactly under it."""

    lead: ScoredItem
    others: tuple[ScoredItem, ...]
    outlets: tuple[ScoredItem, ...]
    """The first other copy from each outlet besides the lead's: the "+N sources" line."""

    @classmethod
    def of(cls, story: ScoredStory, topic: str | None) -> "StoryBlock":
        # The highest-scored copy the filters matched leads, as in the digest: a reader who followed a digest
        # entry finds that copy heading the block, and its "why" explains the match best. Of equals, the
        # newest (copies come newest first). It is one the filters matched, so a filter by feed shows that feed.
        lead = lead_copy(story.matching, topic)
        others = tuple(copy for copy in story.copies if copy is not lead)
        return cls(lead, others, tuple(other_outlets(lead, others, source=lambda row: row.feed_name)))


@dataclass
class RetrainStatus:
    state: str = "idle"  # idle → running → done | failed
    message: str = ""
    promoted: bool | None = None
    started_at: datetime | None = None


class RetrainJob:
    """One retrain at a time, in a background thread, so the page stays responsive while it trains."""

    def __init__(self, retrain: Retrain, settings: Settings, store: Store, clock: Clock):
        self._retrain, self.settings, self._store, self._clock = retrain, settings, store, clock
        self._lock = threading.Lock()
        self.status = RetrainStatus()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        with self._lock:
            if self.status.state == "running":
                return False
            self.status = RetrainStatus("running", "training a candidate on the seeds and every label…",
                                        started_at=self._clock())
            self._thread = threading.Thread(target=self._run, name="newswatch-retrain", daemon=True)
            self._thread.start()
            return True

    def _run(self) -> None:
        try:
            report = self._retrain(self.settings, self._store)
            status = RetrainStatus("done", report.message, report.promoted_version is not None,
                                   self.status.started_at)
        except Exception as exc:  # the page must say why, and stay up for the next attempt
            status = RetrainStatus("failed", f"retraining failed: {type(exc).__name__}: {exc}", None,
                                   self.status.started_at)
        with self._lock:
            self.status = status

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def create_app(settings: Settings, *, host: str = "127.0.0.1", store: Store | None = None,
               retrain: Retrain | None = None, clock: Clock = utcnow) -> FastAPI:
    """The web app for these settings, as served on ``host`` (which decides whether a token is needed)."""
    token = settings.web.token
    security.require_token_off_loopback(host, token)
    owns_store = store is None
    store = store or core.open_store(settings)
    templates = Environment(loader=PackageLoader("newswatch.web", "templates"),
                            autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    templates.globals.update(topic_names=settings.topic_names, topic_titles=settings.titles(), when=_when, label_text=_label_text,
                             http_url=http_url, more_sources=more_sources)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        job.wait()  # a retrain in progress finishes (and saves its decision) before the store closes
        if owns_store:
            store.close()

    web = FastAPI(title="newswatch", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    job = RetrainJob(retrain or loop.train, settings, store, clock)
    web.state.store, web.state.retrain_job = store, job
    web.mount("/static", StaticFiles(packages=[("newswatch.web", "static")]), name="static")

    def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        body = templates.get_template(template).render(request=request, csrf=request.state.csrf,
                                                       auth=bool(token), **context)
        return HTMLResponse(body, status_code=status_code)

    @web.middleware("http")
    async def guard(request: Request, call_next):  # type: ignore[no-untyped-def]
        cookie = request.cookies.get(security.CSRF_COOKIE)
        request.state.csrf = cookie or security.new_csrf_token()
        # a script holding the token sends it in a header a browser never adds by itself: no CSRF risk
        request.state.bearer_client = bool(token) and security.same(
            token, security.bearer(request.headers.get("authorization")))
        open_paths = request.url.path == "/login" or request.url.path.startswith("/static/")
        # feed readers often cannot send a header: the token may ride in a saved query's feed address
        feed_reader = is_feed_path(request.url.path) and security.same(token, request.query_params.get("token"))
        if token and not open_paths and not feed_reader and not _authorized(request, token):
            if is_feed_path(request.url.path):
                response: Response = Response("a token is required (Authorization: Bearer …, or ?token=…)\n",
                                              401, media_type="text/plain")
            elif request.method == "GET" and not _wants_json(request):
                response = RedirectResponse("/login?" + urlencode({"next": _here(request)}), 303)
            else:
                response = JSONResponse({"error": "a token is required (Authorization: Bearer …)"}, 401)
        else:
            response = await call_next(request)
        if not cookie:
            response.set_cookie(security.CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")
        response.headers.update({
            "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                       "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"})
        return response

    hosts = security.allowed_hosts(host, settings.web.base_url)
    if hosts is not None:
        web.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)

    @web.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": exc.detail}, exc.status_code)
        return page(request, "error.html", exc.status_code, status=exc.status_code, message=exc.detail)

    @web.get("/", response_class=HTMLResponse)
    def inbox(request: Request) -> HTMLResponse:
        params = request.query_params
        where = _item_filter(settings, params)
        page_number = _positive_int(params, "page", 1)
        found = store.scored_stories(where, limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE)
        stories = [StoryBlock.of(story, where.topic) for story in found[:PAGE_SIZE]]
        named = [term for term in search_terms(where.search) if term.also] if where.search else []
        return page(request, "inbox.html", stories=stories, feeds=store.feed_names(), languages=store.languages(),
                    params=params, where=where, named=named,
                    page=page_number, more=len(found) > PAGE_SIZE, link=lambda **changes: _link(params, changes),
                    thresholds=loop.thresholds(settings))

    @web.get("/items/{item_id}", response_class=HTMLResponse)
    def item_page(request: Request, item_id: str) -> HTMLResponse:
        row = _scored_or_404(store, item_id)
        story = store.scored_items(ItemFilter(story_id=row.story_id), limit=MAX_COPIES_SHOWN + 1)
        return page(request, "item.html", row=row, thresholds=loop.thresholds(settings),
                    copies=[copy for copy in story if copy.item.id != row.item.id][:MAX_COPIES_SHOWN])

    def label_item(store: Store, item_id: str, topic: str, value: bool) -> tuple[ScoredItem, Any]:
        """What a label button and ``POST /api/items/{id}/labels`` do: one judgement on a stored item, through
        the labeling path the CLI uses (``analyst_labels.label_stored_item``, with its checks)."""
        row = _scored_or_404(store, item_id)
        try:
            label_stored_item(store, row.item.id, topic, value, LABEL_AUTHOR, clock(), settings.topic_names,
                              source="web")  # type: ignore[arg-type]
        except LabelError as exc:
            raise BadRequest(str(exc)) from None
        return row, next(one for one in store.labels_for([row.item.key]) if one.topic == topic)

    @web.post("/items/{item_id}/labels")
    async def add_label(request: Request, item_id: str) -> Response:
        fields = await _fields(request)
        _check_csrf(request, fields)
        topic = fields.get("topic", "")
        _check_topic(settings, topic)
        value = {"yes": True, "true": True, "no": False, "false": False}.get(fields.get("value", "").lower())
        if value is None:
            raise BadRequest(f"value must be yes or no, got {fields.get('value', '')!r}")
        row, label = label_item(store, item_id, topic, value)
        if _wants_json(request):
            return JSONResponse({"item_id": row.item.id, "topic": topic, "value": value, "author": label.author,
                                 "created_at": label.created_at.isoformat(), "text": _label_text(label)})
        return RedirectResponse(security.safe_next(fields.get("next"), f"/items/{row.item.id}"), 303)

    def separate_item(store: Store, item_id: str) -> tuple[ScoredItem, int | None]:
        """What the page's "another event" button and ``POST /api/items/{id}/separate`` do (``Store.separate``,
        as ``newswatch separate``): the item leaves its story; returns it and the story it was in."""
        row = _scored_or_404(store, item_id)
        return row, store.separate(row.item.id)  # type: ignore[arg-type]

    @web.post("/items/{item_id}/separate")
    async def separate(request: Request, item_id: str) -> Response:
        fields = await _fields(request)
        _check_csrf(request, fields)
        row, _ = separate_item(store, item_id)
        return RedirectResponse(security.safe_next(fields.get("next"), f"/#item-{row.item.id}"), 303)

    api = api_router(settings, store, label_item, _label_text, separate_item)
    web.include_router(api)
    serve_openapi(web, api)
    feed_routes(web, settings, store)

    @web.get("/review", response_class=HTMLResponse)
    def review(request: Request) -> HTMLResponse:
        limit = _positive_int(request.query_params, "limit", 30, most=500)
        entries = loop.review_queue(settings, store, loop.in_service(settings), limit)
        rows = [(store.scored_item(entry.item.id), entry.topic, entry.sure) for entry in entries]  # type: ignore[arg-type]
        found = [(row, topic, sure) for row, topic, sure in rows if row is not None]
        return page(request, "review.html", pairs=[(row, topic) for row, topic, sure in found if not sure],
                    sure_pairs=[(row, topic) for row, topic, sure in found if sure], sure_share=loop.SURE,
                    thresholds=loop.thresholds(settings))

    @web.get("/model", response_class=HTMLResponse)
    def model(request: Request) -> HTMLResponse:
        versions = loop.model_versions(settings)
        current = loop.current_version(settings)
        today = clock().date()
        days = [today - timedelta(days=n) for n in range(TAGGED_DAYS - 1, -1, -1)]
        since = datetime.combine(days[0], time(), timezone.utc)
        per_day = store.tagged_per_day(settings.topic_names, since)
        current_meta = next((v for v in versions if v["version"] == current), None)
        thresholds = loop.thresholds(settings)
        return page(request, "model.html", versions=versions, current=current, current_meta=current_meta,
                    thresholds=thresholds, pinned=loop.pinned_thresholds(settings),
                    threshold_message=request.query_params.get("threshold_set", ""),
                    curves=_threshold_choices(current_meta or {}, thresholds),
                    quality_chart=_quality_chart(versions, settings.titles()),
                    tagged_chart=_tagged_chart(days, per_day, settings.titles()), retrain=job.status)

    @web.post("/model/retrain")
    async def start_retrain(request: Request) -> Response:
        _check_csrf(request, await _fields(request))
        started = job.start()
        if _wants_json(request):
            return JSONResponse(_retrain_json(job.status), 202 if started else 409)
        return RedirectResponse("/model", 303)

    @web.post("/model/thresholds")
    async def set_threshold(request: Request) -> Response:
        """Pin a topic's tagging threshold in the config file (the point an analyst chose on its curve),
        or with ``threshold=model`` unpin it; it applies to every item scored from now on."""
        nonlocal settings
        fields = await _fields(request)
        _check_csrf(request, fields)
        topic = fields.get("topic", "")
        _check_topic(settings, topic)
        raw = fields.get("threshold", "").strip()
        try:
            threshold = None if raw == "model" else float(raw)
        except ValueError:
            raise BadRequest(f"threshold must be a number between 0 and 1 or 'model', got {raw!r}") from None
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise BadRequest(f"threshold must be between 0 and 1, got {raw!r}")
        try:
            settings = set_topic_threshold(settings, topic, threshold)
        except ConfigError as exc:
            raise BadRequest(str(exc), 409) from None
        job.settings = settings
        said = f"{topic} tagged at ≥ {threshold:.2f}" if threshold is not None else f"{topic} back to the model's threshold"
        if _wants_json(request):
            return JSONResponse({"topic": topic, "threshold": threshold, "thresholds": loop.thresholds(settings)})
        return RedirectResponse("/model?" + urlencode({"threshold_set": said}), 303)

    @web.get("/api/retrain")
    def retrain_status() -> JSONResponse:
        return JSONResponse(_retrain_json(job.status))

    @web.get("/feeds", response_class=HTMLResponse)
    def feeds(request: Request) -> HTMLResponse:
        return page(request, "feeds.html", feeds=feed_statuses(settings, store),
                    saved=[saved_query_json(query, settings) for query in store.saved_queries()])

    @web.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", next=security.safe_next(request.query_params.get("next")), failed=False)

    @web.post("/login")
    async def login(request: Request) -> Response:
        fields = await _fields(request)
        _check_csrf(request, fields)
        target = security.safe_next(fields.get("next"))
        if not token:
            return RedirectResponse(target, 303)
        if not security.same(token, fields.get("token")):
            return page(request, "login.html", 401, next=target, failed=True)
        response = RedirectResponse(target, 303)
        # Lax, not Strict: a link in a digest email is a cross-site navigation and must arrive logged in
        response.set_cookie(security.TOKEN_COOKIE, token, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", max_age=30 * 24 * 3600)
        return response

    return web


# -- request helpers ---------------------------------------------------------------------------------

def _authorized(request: Request, token: str) -> bool:
    return request.state.bearer_client or security.same(token, request.cookies.get(security.TOKEN_COOKIE))


def _wants_json(request: Request) -> bool:
    return (request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")
            or request.headers.get("content-type", "").startswith("application/json"))


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def _fields(request: Request) -> dict[str, str]:
    """A POST body as flat fields: JSON object or urlencoded form (no multipart needed)."""
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in data.items()}
    try:
        return {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        raise BadRequest("the form is not UTF-8") from None


def _check_csrf(request: Request, fields: Mapping[str, str]) -> None:
    if request.state.bearer_client:
        return
    given = request.headers.get(security.CSRF_HEADER) or fields.get(security.CSRF_FIELD)
    if not security.same(request.cookies.get(security.CSRF_COOKIE), given):
        raise BadRequest("missing or wrong CSRF token: reload the page and try again", 403)


def _scored_or_404(store: Store, item_id: str) -> ScoredItem:
    try:
        number = parse_item_id(item_id)
    except NumberError as exc:
        raise BadRequest(str(exc)) from None
    row = store.scored_item(number)
    if row is None:
        raise BadRequest(f"no item with id {number}", 404)
    return row


def _positive_int(params: Mapping[str, str], name: str, default: int, most: int = 100_000) -> int:
    raw = params.get(name) or ""
    if not raw:
        return default
    try:
        return whole_number(raw, name, least=1, most=most)
    except NumberError as exc:
        raise BadRequest(str(exc)) from None


def _choice(params: Mapping[str, str], name: str) -> bool | None:
    raw = params.get(name) or "any"
    if raw not in ("yes", "no", "any"):
        raise BadRequest(f"{name} must be yes, no or any, got {raw!r}")
    return None if raw == "any" else raw == "yes"


def _day(params: Mapping[str, str], name: str, through: bool = False) -> datetime | None:
    """The start of the day named, or with ``through`` the end of it (the next day's start)."""
    raw = params.get(name) or ""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a date like 2026-11-23, got {raw!r}") from None
    if through and day == date.max:
        raise BadRequest(f"{name} must be a date before {date.max}, got {raw!r}")
    return datetime.combine(day + timedelta(days=1) if through else day, time(), timezone.utc)


def _check_topic(settings: Settings, topic: str) -> None:
    if topic not in settings.topics:
        raise BadRequest(f"topic must be one of {', '.join(settings.topics)}, got {topic!r}")


def _item_filter(settings: Settings, params: Mapping[str, str]) -> ItemFilter:
    topic = params.get("topic") or None
    if topic is not None:
        _check_topic(settings, topic)
    search = search_param(params.get("q"))
    lang = lang_param(params.get("lang"))
    return ItemFilter(topic=topic, feed_id=_positive_int(params, "feed", 0, most=MAX_ITEM_ID) or None,
                      since=_day(params, "since"), until=_day(params, "until", through=True),
                      tagged=_choice({"tagged": params.get("tagged") or "yes"}, "tagged"),
                      labeled=_choice(params, "labeled"), search=search,
                      languages=(lang,) if lang else ())


def _link(params: Mapping[str, str], changes: Mapping[str, Any]) -> str:
    merged = {**dict(params), **{k: str(v) for k, v in changes.items()}}
    return "/?" + urlencode({k: v for k, v in merged.items() if v})


# -- what the templates show -------------------------------------------------------------------------

def _when(moment: datetime | str | None) -> str:
    """A moment as the pages show it; a model's metadata keeps its moments as ISO 8601 text."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if moment else "undated"


def _label_text(label: Any) -> str:
    verdict = "about it" if label.value else "not about it"
    return f"labeled {verdict} by {label.author}, {_when(label.created_at)}"


def _threshold_choices(metadata: Mapping[str, Any], thresholds: Mapping[str, float]) -> dict[str, list[dict[str, Any]]]:
    """Per topic, the stored precision/recall points every 0.05 (few enough to choose from in a list) and the
    point nearest the threshold in use, marked ``now``: the list opens on it, so that "Set" without a choice
    changes nothing."""
    choices = {}
    for topic, points in metadata.get("pr_curve", {}).items():
        if topic not in thresholds:  # a topic the config no longer has
            continue
        now = min(points, key=lambda p: abs(p["threshold"] - thresholds[topic]), default=None)
        choices[topic] = [{**p, "now": p is now} for p in points if p is now or round(p["threshold"] * 100) % 5 == 0]
    return choices


def _retrain_json(status: RetrainStatus) -> dict[str, Any]:
    return {"state": status.state, "message": status.message, "promoted": status.promoted,
            "started_at": status.started_at.isoformat() if status.started_at else None}


def _quality_chart(versions: list[dict[str, Any]], titles: Mapping[str, str]) -> Any:
    """Cross-validated precision (solid) and recall (dashed) per topic, one point per model version."""
    def metric(version: dict[str, Any], topic: str, name: str) -> float | None:
        value = version.get("metrics", {}).get("cross_validation", {}).get("topics", {}).get(topic, {}).get(name)
        return float(value) if value is not None else None

    series = [Series(f"{title} {name}", [metric(v, topic, name) for v in versions],
                     PALETTE[i % len(PALETTE)], dashed=name == "recall")
              for i, (topic, title) in enumerate(titles.items()) for name in ("precision", "recall")]
    return line_chart("Precision and recall by model version (cross-validated on its training data)",
                      [v["version"] for v in versions], series, y_max=1.0, percent=True)


def _tagged_chart(days: list[date], per_day: Mapping[str, Mapping[str, int]], titles: Mapping[str, str]) -> Any:
    series = [Series(title, [per_day.get(topic, {}).get(d.isoformat(), 0) for d in days], PALETTE[i % len(PALETTE)])
              for i, (topic, title) in enumerate(titles.items())]
    return line_chart(f"Items tagged per day, last {len(days)} days", [d.strftime("%m-%d") for d in days], series,
                      y_label="items")
