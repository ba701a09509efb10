"""The seed corpus, its labels, the labeled training examples, the default configuration and the beat's people
(data)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def _people_table() -> dict[str, Any]:
    with resources.files(__name__).joinpath("people.toml").open("rb") as stream:
        return tomllib.load(stream)


def _by_country(table: dict[str, Any]) -> dict[str, dict[str, tuple[str, ...]]]:
    return {country: {person: tuple(spellings) for person, spellings in people.items()}
            for country, people in table.items()}


def people_by_country() -> dict[str, dict[str, tuple[str, ...]]]:
    """``people.toml``: country → person → how English, Korean and Russian copy writes them (the people a report
    has act, send, receive or meet). A data package that imports nothing of the project's, so that both
    ``newswatch.actors`` and ``classifiers.concepts`` read one table."""
    return _by_country({country: people for country, people in _people_table().items() if country != "voices"})


def voices_by_country() -> dict[str, dict[str, tuple[str, ...]]]:
    """``people.toml``'s spokespeople, as ``people_by_country``: they name their country, but are no actor."""
    return _by_country(_people_table().get("voices", {}))
