"""The JSON shapes of stored things, one per kind, shared by the CLI's --json output and the API
(whose OpenAPI description, web/api.py, declares the same fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .config import Settings
from .models import Label
from .saved_queries import describe
from .store import FeedRow, SavedQuery, ScoredItem, ScoredStory


def item_json(row: ScoredItem) -> dict[str, Any]:
    prediction = row.prediction
    return {"id": row.item.id, "key": row.item.key, "title": row.item.title, "summary": row.item.summary,
            "url": row.item.url, "feed": row.feed_name, "feed_url": row.item.feed_url,
            "published_at": iso(row.item.published), "fetched_at": iso(row.fetched_at), "story_id": row.story_id,
            "model_version": row.model_version, "scores": dict(prediction.scores) if prediction else None,
            "tags": list(prediction.tags) if prediction else [],
            "labels": {topic: label.value for topic, label in row.labels.items()}}


def story_json(story: ScoredStory) -> dict[str, Any]:
    return {"id": story.story_id, "copies": [item_json(copy) for copy in story.copies],
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
