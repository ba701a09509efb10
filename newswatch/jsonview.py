"""The JSON shapes of stored things, one per kind, shared by the CLI's --json output and the API
(whose OpenAPI description, web/api.py, declares the same fields); an item's is ``ScoredItem.as_json``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .config import Settings
from .models import Label
from .saved_queries import describe
from .store import FeedRow, SavedQuery, ScoredStory


def story_json(story: ScoredStory) -> dict[str, Any]:
    return {"id": story.story_id, "copies": [copy.as_json() for copy in story.copies],
            "matched_ids": sorted(story.matched_ids)}


def feed_json(row: FeedRow) -> dict[str, Any]:
    return {"id": row.id, "url": row.url, "name": row.name, "items_stored": row.items_stored,
            "last_checked_at": iso(row.last_checked_at), "last_success_at": iso(row.last_success_at),
            "last_new_item_at": iso(row.last_new_item_at), "last_error": row.last_error,
            "consecutive_failures": row.consecutive_failures, "next_attempt_at": iso(row.next_attempt_at)}


def label_json(label: Label) -> dict[str, Any]:
    return {"item_key": label.item_key, "topic": label.topic, "value": label.value, "author": label.author,
            "source": label.source, "title": label.title, "url": label.url, "created_at": iso(label.created_at)}


def saved_query_json(query: SavedQuery, settings: Settings) -> dict[str, Any]:
    return {"name": query.name, "text": query.text, "topics": list(query.topics), "feeds": list(query.feeds),
            "languages": list(query.languages), "min_score": query.min_score, "description": describe(query),
            "channels": [channel.name for channel in settings.channels if channel.query == query.name],
            "created_at": iso(query.created_at)}


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
