"""One TOML file plus the environment → validated Settings.

Where the file comes from: ``--config FILE``, else ``$NEWSWATCH_CONFIG``, else ``./newswatch.toml``,
else the defaults shipped in ``seeds/newswatch.toml``. The data dir is ``$NEWSWATCH_HOME``, else
``data_dir`` in the file, else ``./.newswatch``. Any string value may name environment variables as
``${NAME}`` so that secrets (SMTP passwords, webhook tokens) stay out of the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .models import TOPICS, Feed

DEFAULT_DATA_DIR = ".newswatch"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class FetchSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"


@dataclass(frozen=True)
class TopicSettings:
    name: str
    threshold: float | None = None
    """Pinned alert threshold; None uses the threshold the model chose on validation data."""


@dataclass(frozen=True)
class Channel:
    name: str
    url: str
    topics: tuple[str, ...] = TOPICS

    def __repr__(self) -> str:  # the URL may carry a password or token
        return f"Channel(name={self.name!r}, topics={self.topics!r})"


@dataclass(frozen=True)
class DigestSettings:
    cron: str = "0 7 * * *"
    timezone: str = "UTC"


@dataclass(frozen=True)
class WebSettings:
    base_url: str | None = None
    """Where analysts reach ``newswatch web`` (digests link each item there); None leaves links out."""
    token: str | None = field(default=None, repr=False)
    """Required to serve on a non-loopback address; from ``[web] token`` or $NEWSWATCH_WEB_TOKEN."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    feeds: tuple[Feed, ...] = ()
    topics: Mapping[str, TopicSettings] = field(default_factory=dict)
    channels: tuple[Channel, ...] = ()
    fetch: FetchSettings = FetchSettings()
    digest: DigestSettings = DigestSettings()
    web: WebSettings = WebSettings()
    source: Path | None = None

    @property
    def digests_dir(self) -> Path:
        return self.data_dir / "digests"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"


def default_config_path() -> Path:
    return Path(str(resources.files("seeds") / "newswatch.toml"))


def resolve_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get("NEWSWATCH_CONFIG"):
        return Path(os.environ["NEWSWATCH_CONFIG"])
    local = Path("newswatch.toml")
    return local if local.exists() else default_config_path()


def load_settings(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    config_path = resolve_config_path(path)
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    return _Reader(config_path, env).settings(raw)


class _Reader:
    """Validates the parsed TOML, naming the file and the dotted key in every error."""

    def __init__(self, path: Path, env: Mapping[str, str]):
        self.path = path
        self.env = env

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {message}")

    def expand(self, key: str, value: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.env:
                raise self.fail(key, f"environment variable {name} is not set")
            return self.env[name]

        return _ENV_REF.sub(substitute, value)

    def get(self, table: Mapping[str, Any], key: str, prefix: str, kind: type | tuple[type, ...], default: Any = None,
            required: bool = False) -> Any:
        dotted = f"{prefix}{key}"
        if key not in table:
            if required:
                raise self.fail(dotted, "is required")
            return default
        value = table[key]
        # TOML integers are fine where a float is asked for; booleans are not numbers here
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(dotted, f"expected {expected}, got {type(value).__name__} {value!r}")
        if isinstance(value, str):
            value = self.expand(dotted, value)
        return value

    def string_list(self, table: Mapping[str, Any], key: str, prefix: str, default: tuple[str, ...]) -> tuple[str, ...]:
        values = self.get(table, key, prefix, list, default=list(default))
        if not all(isinstance(v, str) for v in values):
            raise self.fail(f"{prefix}{key}", "expected a list of strings")
        return tuple(values)

    def tables(self, raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        tables = raw.get(key, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise self.fail(key, f"expected [[{key}]] tables")
        return tables

    def settings(self, raw: Mapping[str, Any]) -> Settings:
        known = {"data_dir", "database_url", "allow_private_addresses", "feeds", "topics", "channels", "fetch", "digest", "web"}
        for key in raw:
            if key not in known:
                raise self.fail(key, f"unknown key (known: {', '.join(sorted(known))})")

        data_dir = Path(self.env.get("NEWSWATCH_HOME") or self.get(raw, "data_dir", "", str, DEFAULT_DATA_DIR))
        database_url = self.env.get("NEWSWATCH_DATABASE_URL") or self.get(
            raw, "database_url", "", str, f"sqlite:///{data_dir / 'newswatch.db'}")
        allow_private = self.get(raw, "allow_private_addresses", "", bool, False)
        return Settings(
            data_dir=data_dir,
            database_url=database_url,
            feeds=self.feeds(raw, allow_private),
            topics=self.topics(raw),
            channels=self.channels(raw),
            fetch=self.fetch(raw),
            digest=self.digest(raw),
            web=self.web(raw),
            source=self.path,
        )

    def feeds(self, raw: Mapping[str, Any], allow_private: bool) -> tuple[Feed, ...]:
        feeds: list[Feed] = []
        seen: set[str] = set()
        for i, table in enumerate(self.tables(raw, "feeds")):
            prefix = f"feeds[{i}]."
            url = self.get(table, "url", prefix, str, required=True)
            if not url.lower().startswith(("http://", "https://")):
                raise self.fail(f"{prefix}url", f"only http(s) feed URLs are allowed, got {url!r}")
            if url in seen:
                raise self.fail(f"{prefix}url", f"feed {url!r} is listed twice")
            seen.add(url)
            feeds.append(Feed(
                url=url,
                name=self.get(table, "name", prefix, str, default=url),
                tags=self.string_list(table, "tags", prefix, ()),
                allow_private_addresses=self.get(table, "allow_private_addresses", prefix, bool, allow_private),
            ))
        return tuple(feeds)

    def topics(self, raw: Mapping[str, Any]) -> dict[str, TopicSettings]:
        table = self.get(raw, "topics", "", dict, {})
        topics = {name: TopicSettings(name) for name in TOPICS}
        for name, options in table.items():
            if name not in TOPICS:
                raise self.fail(f"topics.{name}", f"unknown topic (known: {', '.join(TOPICS)})")
            if not isinstance(options, dict):
                raise self.fail(f"topics.{name}", "expected a table")
            threshold = self.get(options, "threshold", f"topics.{name}.", float)
            if threshold is not None and not 0.0 < threshold < 1.0:
                raise self.fail(f"topics.{name}.threshold", f"must be between 0 and 1, got {threshold}")
            topics[name] = TopicSettings(name, threshold)
        return topics

    def channels(self, raw: Mapping[str, Any]) -> tuple[Channel, ...]:
        channels: list[Channel] = []
        for i, table in enumerate(self.tables(raw, "channels")):
            prefix = f"channels[{i}]."
            url = self.get(table, "url", prefix, str, required=True)
            if "://" not in url:
                raise self.fail(f"{prefix}url", "expected an apprise URL such as mailto://… or json://…")
            topics = self.string_list(table, "topics", prefix, TOPICS)
            for topic in topics:
                if topic not in TOPICS:
                    raise self.fail(f"{prefix}topics", f"unknown topic {topic!r} (known: {', '.join(TOPICS)})")
            channels.append(Channel(name=self.get(table, "name", prefix, str, default=f"channel-{i + 1}"),
                                    url=url, topics=topics))
        names = [c.name for c in channels]
        for name in names:
            if names.count(name) > 1:
                raise self.fail("channels", f"channel name {name!r} is used twice")
        return tuple(channels)

    def fetch(self, raw: Mapping[str, Any]) -> FetchSettings:
        table = self.get(raw, "fetch", "", dict, {})
        defaults = FetchSettings()
        values = {}
        for key, kind in (("connect_timeout", float), ("read_timeout", float), ("deadline", float),
                          ("max_bytes", int), ("user_agent", str)):
            value = self.get(table, key, "fetch.", kind, getattr(defaults, key))
            if kind is not str and value <= 0:
                raise self.fail(f"fetch.{key}", f"must be positive, got {value}")
            values[key] = value
        return FetchSettings(**values)

    def digest(self, raw: Mapping[str, Any]) -> DigestSettings:
        table = self.get(raw, "digest", "", dict, {})
        defaults = DigestSettings()
        timezone = self.get(table, "timezone", "digest.", str, defaults.timezone)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("digest.timezone", f"unknown time zone {timezone!r}") from None
        return DigestSettings(cron=self.get(table, "cron", "digest.", str, defaults.cron), timezone=timezone)

    def web(self, raw: Mapping[str, Any]) -> WebSettings:
        table = self.get(raw, "web", "", dict, {})
        for key in table:
            if key not in {"base_url", "token"}:
                raise self.fail(f"web.{key}", "unknown key (known: base_url, token)")
        base_url = self.get(table, "base_url", "web.", str)
        if base_url is not None and not base_url.lower().startswith(("http://", "https://")):
            raise self.fail("web.base_url", f"expected an http(s) URL, got {base_url!r}")
        token = self.get(table, "token", "web.", str) or self.env.get("NEWSWATCH_WEB_TOKEN") or None
        return WebSettings(base_url=base_url.rstrip("/") if base_url else None, token=token)
