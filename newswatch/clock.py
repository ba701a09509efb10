"""The one clock: aware UTC datetimes. Functions that need the time take a ``clock`` so tests can pass their own."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
