"""A data dir for the review-page tests: a few stored items from three feeds, grouped into stories and scored
by the seed model, as a monitoring cycle would."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from newswatch import app
from newswatch.config import Settings, load_settings
from newswatch.models import Feed, Item
from newswatch.store import ScoredItem
from newswatch.stories import assign_stories

NOW = datetime.now(timezone.utc).replace(microsecond=0)
RUSSIA_DPRK = "Putin and Kim sign comprehensive strategic partnership treaty in Pyongyang"
DRILLS = "Ulchi Freedom Shield begins; Pyongyang calls allied drill a rehearsal for invasion"
NEITHER = "K-pop group announces world tour with stadium shows in Seoul and Los Angeles"
HOSTILE = "<script>alert('pwned')</script> Kim Jong Un and Putin meet at Vostochny as Russia–DPRK arms talks go on"
FEEDS = (Feed("https://peninsula.example.com/rss", "Peninsula <Desk>"), Feed("https://world.example.net/atom", "World"),
         Feed("https://kcnawatch.example.org/feed", "KCNA Watch"))
# one story carried by all three feeds: wire copy, lightly retitled
STORY_WORLD = "Russian defence minister Belousov arrives in Pyongyang for talks with Kim Jong Un"
STORY_KCNA = "Defence Minister Belousov of Russia arrives in Pyongyang for talks with Kim, KCNA says"
STORY_PENINSULA = "Belousov in Pyongyang for talks with Kim Jong Un"
STORY_LEAD = ("Andrei Belousov was greeted at Sunan airport by his North Korean counterpart No Kwang Chol; "
              "the talks are to cover military cooperation between Moscow and Pyongyang.")
ITEMS = (
    (0, Item(key="kr-1", title=RUSSIA_DPRK, summary="The treaty pledges mutual military assistance.",
             url="https://peninsula.example.com/treaty", published=NOW - timedelta(hours=3))),
    (0, Item(key="kr-2", title=DRILLS, summary="South Korea and the US began their annual summer exercise.",
             url="https://peninsula.example.com/ufs", published=NOW - timedelta(days=1, hours=2))),
    (0, Item(key="kr-3", title=NEITHER, summary="The band will play twelve cities.",
             url="javascript:alert('link')", published=NOW - timedelta(days=2))),
    (1, Item(key="w-1", title=HOSTILE, summary="<img src=x onerror=alert(1)> Arms talks continued.",
             url="https://world.example.net/vostochny", published=NOW - timedelta(hours=1))),
    (1, Item(key="w-2", title="Russia and North Korea sign deal on Tumen river road bridge",
             summary="A road bridge across the Tumen will link Khasan and Rajin.",
             url="https://world.example.net/bridge", published=NOW - timedelta(days=3))),
    (1, Item(key="w-3", title="US, South Korean and Japanese jets fly combined air drill with B-52",
             summary="The allied fighters escorted a bomber east of the peninsula.",
             url="https://world.example.net/b52", published=NOW - timedelta(days=4))),
    (1, Item(key="w-4", title=STORY_WORLD, summary=STORY_LEAD, url="https://world.example.net/belousov",
             published=NOW - timedelta(hours=2))),
    (2, Item(key="kcna-1", title=STORY_KCNA, summary=STORY_LEAD, url="https://kcnawatch.example.org/belousov",
             published=NOW - timedelta(hours=2, minutes=20))),
    (0, Item(key="kr-4", title=STORY_PENINSULA, summary=STORY_LEAD, url="https://peninsula.example.com/belousov",
             published=NOW - timedelta(hours=2, minutes=40))),
)


def build_home(home: Path, seed_models: Path) -> Settings:
    """Store the items and score them with the seed model, as a monitoring cycle would."""
    shutil.copytree(seed_models, home / "models")
    settings = load_settings(env={"NEWSWATCH_HOME": str(home)})
    store = app.open_store(settings)
    try:
        ids = store.sync_feeds(FEEDS)
        stored = [store.insert_new(ids[FEEDS[f].url], [item], NOW)[0] for f, item in ITEMS]
        assign_stories(store, stored, NOW)
        model = app.current_model(settings)
        store.save_predictions(model.version, list(zip(stored, model.predict_items(stored))), NOW)
        store.record_failure(ids[FEEDS[1].url], "HTTP 503 <b>Service Unavailable</b>", NOW)
    finally:
        store.close()
    return settings


def copy_home(template: Path, home: Path) -> Settings:
    shutil.copytree(template, home)
    return load_settings(env={"NEWSWATCH_HOME": str(home)})


def stored_rows(settings: Settings) -> list[ScoredItem]:
    """Every stored item with its latest prediction and labels, story by story."""
    store = app.open_store(settings)
    try:
        return [copy for story in store.scored_stories(limit=None) for copy in story.copies]
    finally:
        store.close()
