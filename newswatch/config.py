"""One TOML file plus the environment → validated Settings.

Where the file comes from: ``--config FILE``, else ``$NEWSWATCH_CONFIG``, else ``./newswatch.toml``,
else the defaults shipped in ``seeds/newswatch.toml``. The data dir is ``$NEWSWATCH_HOME``, else
``data_dir`` in the file, else ``./.newswatch``. Any string value may name environment variables as
``${NAME}`` so that secrets (SMTP passwords, webhook tokens) stay out of the file.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .models import FEED_KINDS, Feed
from .untrusted import printable

DEFAULT_DATA_DIR = ".newswatch"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def _one_per_core(at_most: int) -> int:
    """One worker process per core, up to ``at_most``; none on a single core, where a worker only adds cost."""
    cores = os.cpu_count() or 1
    return min(at_most, cores) if cores > 1 else 0


@dataclass(frozen=True)
class FetchSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"
    max_redirects: int = 5
    max_workers: int = 8
    """Requests in flight at once, over all hosts."""
    per_host: int = 2
    """Requests in flight at once to one host."""
    backoff_base: float = 300.0
    """Wait after the second consecutive failure (the next scheduled cycle is the first retry); doubles each time."""
    backoff_max: float = 24 * 3600.0
    unhealthy_after: int = 5
    """Consecutive failures after which a feed is reported as unhealthy (it is still tried)."""
    min_poll: float = 60.0
    """Shortest wait between two scheduled polls of a feed (a busy one)."""
    max_poll: float = 900.0
    """Longest wait between two scheduled polls of a feed (a quiet one)."""
    per_host_per_hour: int = 120
    """Scheduled polls one host gets per hour at most, shared by its feeds."""
    parse_processes: int = field(default_factory=lambda: _one_per_core(at_most=4))
    """Worker processes that parse the fetched feeds (feedparser is pure Python, so the fetching threads alone
    use one core), and that score a large backlog; 0 parses in the fetching threads and scores in the cycle's
    process. One per core by default, at most four; none on one core."""


@dataclass(frozen=True)
class TopicSettings:
    """One topic the model tags, from a ``[topics.<name>]`` table."""

    name: str
    title: str
    """How digests, the page and the run summary name it ("Russia–DPRK ties")."""
    threshold: float | None = None
    """Pinned alert threshold; None uses the threshold the model chose on validation data."""
    seeds: Path | None = None
    """A labeled-item JSON Lines file whose records train the model alongside the shipped seeds: where a
    topic the shipped seeds do not know gets its first positives (analyst labels are the other way)."""


DEFAULT_TOPICS = (TopicSettings("russia_dprk", "Russia–DPRK ties"), TopicSettings("alliance_drills", "alliance drills"))
"""The topics every config has (the two the shipped seeds are labeled for); ``[topics.<name>]`` tables add more."""


DELIVERY_MODES = ("immediate", "digest", "surge")
SCHEDULES = ("cycle", "hourly", "daily", "weekly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class DigestSchedule:
    """When a channel's digest is due: every cycle, or once an hour/day/week at a wall-clock time."""

    every: str = "cycle"
    at: time = time(7, 0)
    """For hourly only the minute counts."""
    weekday: int = 0
    """Monday is 0; weekly digests only."""


@dataclass(frozen=True)
class SurgeSettings:
    """Mode "surge": one alert when a story reaches ``sources`` outlets within ``window_minutes``, and one
    when a topic's hourly count reaches ``sigmas`` standard deviations over its last 14 days (and at least
    ``min_items``)."""

    sources: int = 3
    window_minutes: float = 120.0
    sigmas: float = 3.0
    min_items: int = 5


@dataclass(frozen=True)
class Channel:
    name: str
    url: str
    topics: tuple[str, ...] = ()
    """The topics it carries; the config reader fills in every configured topic when the table names none."""
    modes: tuple[str, ...] = ("digest",)
    threshold: float | None = None
    """A topic score at or above this puts an item in this channel's digest; None follows the model's tags."""
    immediate_threshold: float = 0.9
    """A topic score at or above this sends the item at once (mode "immediate")."""
    schedule: DigestSchedule = DigestSchedule()
    quiet_hours: tuple[time, time] | None = None
    """Immediate alerts inside [start, end) are held until the end; the range may wrap midnight."""
    timezone: str = "UTC"
    retry_seconds: float = 60.0
    """First retry delay after a failed send; it doubles with every further failure."""
    max_attempts: int = 8
    """Failed sends after which a message is dead (kept, shown by ``newswatch outbox``, no longer tried)."""
    surge: "SurgeSettings" = field(default_factory=lambda: SurgeSettings())
    """When a story or a topic surges (mode "surge")."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """The values ``${NAME}`` put into the URL, as written and as encoded: masked wherever the channel is shown."""
    query: str | None = None
    """A saved query's name (``newswatch queries add``): the channel takes only the items it matches."""

    def __repr__(self) -> str:  # the URL may carry a password or token
        return f"Channel(name={self.name!r}, topics={self.topics!r}, modes={self.modes!r})"


@dataclass(frozen=True)
class DigestSettings:
    cron: str = "0 7 * * *"
    timezone: str = "UTC"


@dataclass(frozen=True)
class TrainingSettings:
    gate_margin: float = 0.01
    """A candidate whose held-out macro-F1 is more than this below the current model's is not promoted."""
    folds: int = 5
    min_held_out: int = 20
    """Labeled items needed before a fixed slice of them is held out from threshold choice for the gate."""
    backtest_items: int = 5000
    review_pool: int = 2000
    label_weight: float = 10.0
    """How much one analyst label counts in training against one seed example (a real item from the
    analyst's feeds, outnumbered by the seeds until many are labeled)."""


@dataclass(frozen=True)
class Schedule:
    """When a flow runs under `newswatch serve`: every N seconds, or by a cron line in the digest timezone."""

    every: float | None = None
    cron: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleSettings:
    monitor: Schedule = Schedule(every=60)  # each feed is polled on its own schedule (fetch.min_poll … max_poll)
    digest: Schedule = Schedule(cron=DigestSettings.cron)
    retrain: Schedule = Schedule(cron="0 3 * * 1")  # weekly, Monday 03:00


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
    """The topics the model tags, in the order of its score columns: the one list every part reads."""
    channels: tuple[Channel, ...] = ()
    fetch: FetchSettings = FetchSettings()
    digest: DigestSettings = DigestSettings()
    training: TrainingSettings = TrainingSettings()
    schedules: ScheduleSettings = ScheduleSettings()

    web: WebSettings = WebSettings()
    source: Path | None = None
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    """Every value ``${NAME}`` substituted (as written and as URL-encoded), for masking in error messages."""

    @property
    def topic_names(self) -> tuple[str, ...]:
        return tuple(self.topics)

    def titles(self, topics: Iterable[str] | None = None) -> dict[str, str]:
        """Name → title of ``topics`` (default: every topic), in that order: what digests head their sections with."""
        return {name: self.topics[name].title for name in (self.topics if topics is None else topics)}

    @property
    def digests_dir(self) -> Path:
        return self.data_dir / "digests"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"


TOP_LEVEL_KEYS = frozenset({"data_dir", "database_url", "allow_private_addresses", "feeds", "topics", "channels",
                            "fetch", "digest", "web", "training", "schedules"})
FEED_KEYS = frozenset({"url", "name", "tags", "allow_private_addresses", "fulltext", "kind"})
TOPIC_KEYS = frozenset({"title", "threshold", "seeds"})
_TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CHANNEL_KEYS = frozenset({"name", "url", "topics", "mode", "threshold", "immediate_threshold", "schedule", "at",
                          "weekday", "quiet_hours", "timezone", "retry_seconds", "max_attempts", "query", "surge_sources",
                          "surge_window_minutes", "surge_sigmas", "surge_min_items"})


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
        raw = tomllib.loads(decode_utf8(config_path.read_bytes(), config_path))
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{config_path}: is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    return _Reader(config_path, env).settings(raw)


def feed_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be watched as a feed, or None: the config and an OPML import refuse the same URLs."""
    if not url.lower().startswith(("http://", "https://")):
        return "only http(s) feed URLs can be watched"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it checks it)
    except ValueError as exc:  # an unclosed "[" of an IPv6 address, a port that is not a number
        return f"not a valid address ({exc})"
    return None if parts.hostname else "a feed URL needs a host name or address"


def decode_utf8(data: bytes, name: object, offset: int = 0) -> str:
    """``data`` as text, or a ConfigError naming the file and the byte offset of the first byte that is not
    UTF-8 (``offset``: where ``data`` starts in the file)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not UTF-8 text (byte {offset + exc.start}: "
                          f"0x{data[exc.start]:02x}); save the file as UTF-8") from None


def unknown_key(key: str, known: Any, where: str = "", noun: str = "key") -> str:
    """The message for a key that is not one of ``known``: the nearest known key when there is one."""
    nearest = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean `{nearest[0]}`?" if nearest else ""
    return f"unknown {noun} {printable(key)!r}{f' in {where}' if where else ''}{hint} (known: {', '.join(sorted(known))})"


class _Reader:
    """Validates the parsed TOML, naming the file and the dotted key in every error."""

    def __init__(self, path: Path, env: Mapping[str, str]):
        self.path = path
        self.env = env
        self.secrets: list[str] = []

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {printable(key)}: {message}")

    def known_keys(self, table: Mapping[str, Any], known: Any, prefix: str, where: str) -> None:
        """Every table goes through here: a key that is not one of ``known`` (a typo, a key of another
        table) is an error naming the table and the nearest valid key, never silently ignored."""
        for key in table:
            if key not in known:
                raise self.fail(f"{prefix}{key}", unknown_key(key, known, where))

    def expand(self, key: str, value: str, in_url: bool = False) -> str:
        """``value`` with each ``${NAME}`` replaced by the environment's value. Inside a URL the value is
        percent-encoded, so a password holding ``@ : / %`` stays the password instead of moving the host,
        port or path; a value that is the whole URL (``url = "${HOOK_URL}"``) is taken as written."""
        whole_url = in_url and _ENV_REF.fullmatch(value) is not None

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.env:
                raise self.fail(key, f"environment variable {name} is not set")
            raw = self.env[name]
            written = quote(raw, safe="") if in_url and not whole_url else raw
            self.secrets += [raw, written]
            return written

        return _ENV_REF.sub(substitute, value)

    def url(self, table: Mapping[str, Any], key: str, prefix: str, default: str | None = None,
            required: bool = False) -> str | None:
        """A string holding a URL: ``${NAME}`` references in it are percent-encoded (see ``expand``)."""
        value = self.get(table, key, prefix, str, default, required, expand=False)
        return None if value is None else self.expand(f"{prefix}{key}", value, in_url=True)

    def get(self, table: Mapping[str, Any], key: str, prefix: str, kind: type | tuple[type, ...], default: Any = None,
            required: bool = False, expand: bool = True) -> Any:
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
        if isinstance(value, str) and expand:
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
        self.known_keys(raw, TOP_LEVEL_KEYS, "", "the top level")

        data_dir = Path(self.env.get("NEWSWATCH_HOME") or self.get(raw, "data_dir", "", str, DEFAULT_DATA_DIR))
        database_url = self.env.get("NEWSWATCH_DATABASE_URL") or self.url(
            raw, "database_url", "", f"sqlite:///{data_dir / 'newswatch.db'}")
        allow_private = self.get(raw, "allow_private_addresses", "", bool, False)
        digest = self.digest(raw)
        topics = self.topics(raw)
        return Settings(
            data_dir=data_dir,
            database_url=database_url,
            feeds=self.feeds(raw, allow_private),
            topics=topics,
            channels=self.channels(raw, digest.timezone, tuple(topics)),
            fetch=self.fetch(raw),
            digest=digest,
            training=self.training(raw),
            schedules=self.schedules(raw, digest),
            web=self.web(raw),
            source=self.path,
            secrets=frozenset(self.secrets),
        )

    def feeds(self, raw: Mapping[str, Any], allow_private: bool) -> tuple[Feed, ...]:
        feeds: list[Feed] = []
        seen: set[str] = set()
        for i, table in enumerate(self.tables(raw, "feeds")):
            prefix = f"feeds[{i}]."
            self.known_keys(table, FEED_KEYS, prefix, "[[feeds]]")
            # kept as written: a ${NAME} in it (a private feed's token) is read only when the feed is fetched
            url = self.get(table, "url", prefix, str, required=True, expand=False)
            problem = feed_url_problem(self.expand(f"{prefix}url", url))
            if problem:
                raise self.fail(f"{prefix}url", f"{problem}, got {url!r}")
            if url in seen:
                raise self.fail(f"{prefix}url", f"feed {url!r} is listed twice")
            seen.add(url)
            feeds.append(Feed(
                url=url,
                name=self.get(table, "name", prefix, str, default=url),
                tags=self.string_list(table, "tags", prefix, ()),
                allow_private_addresses=self.get(table, "allow_private_addresses", prefix, bool, allow_private),
                fulltext=self.get(table, "fulltext", prefix, bool, False),
                kind=self.feed_kind(table, prefix),
                secrets=tuple((match.group(0), self.env[match.group(1)]) for match in _ENV_REF.finditer(url)),
            ))
        return tuple(feeds)

    def feed_kind(self, table: Mapping[str, Any], prefix: str) -> str:
        kind = self.get(table, "kind", prefix, str, "auto")
        if kind not in FEED_KINDS:
            raise self.fail(f"{prefix}kind", f"unknown feed kind {kind!r} (known: {', '.join(FEED_KINDS)})")
        return kind

    def topics(self, raw: Mapping[str, Any]) -> dict[str, TopicSettings]:
        """``DEFAULT_TOPICS``, then each further topic a ``[topics.<name>]`` table adds, in file order (the
        model's score columns follow it). A table of a default topic sets its options; a table adding a
        topic must give its ``title``, so that a misspelt default (``[topics.russia]``) is an error, not a
        new topic with no labels."""
        table = self.get(raw, "topics", "", dict, {})
        topics = {topic.name: topic for topic in DEFAULT_TOPICS}
        for name, options in table.items():
            prefix = f"topics.{name}."
            if not isinstance(options, dict):
                raise self.fail(f"topics.{name}", "expected a table")
            self.known_keys(options, TOPIC_KEYS, prefix, f"[topics.{name}]")
            if name not in topics and "title" not in options:
                raise self.fail(f"topics.{name}", unknown_key(name, topics, "[topics]", noun="topic")
                                + "; to add a topic, give its table a title")
            if not _TOPIC_NAME.match(name):
                raise self.fail(f"topics.{name}", "a topic name is lowercase letters, digits and _, starting "
                                                  "with a letter (it names a score column, a URL part, a CLI word)")
            threshold = self.get(options, "threshold", prefix, float)
            if threshold is not None and not 0.0 < threshold < 1.0:
                raise self.fail(f"{prefix}threshold", f"must be between 0 and 1, got {threshold}")
            seeds = self.get(options, "seeds", prefix, str)
            seeds_path = None if seeds is None else self.path.parent / seeds  # relative to the config file
            if seeds_path is not None and not seeds_path.is_file():
                raise self.fail(f"{prefix}seeds", f"no such labeled-item file: {seeds_path}")
            title = self.get(options, "title", prefix, str, topics[name].title if name in topics else "").strip()
            if not title:
                raise self.fail(f"{prefix}title", "must not be empty")
            topics[name] = TopicSettings(name, title, threshold, seeds_path)
        return topics

    def channels(self, raw: Mapping[str, Any], default_timezone: str, known_topics: tuple[str, ...]
                 ) -> tuple[Channel, ...]:
        channels: list[Channel] = []
        for i, table in enumerate(self.tables(raw, "channels")):
            prefix = f"channels[{i}]."
            self.known_keys(table, CHANNEL_KEYS, prefix, "[[channels]]")
            secrets_before = len(self.secrets)
            url = self.url(table, "url", prefix, required=True)
            if "://" not in url:
                raise self.fail(f"{prefix}url", "expected an apprise URL such as mailto://… or json://…")
            topics = self.string_list(table, "topics", prefix, known_topics)
            for topic in topics:
                if topic not in known_topics:
                    raise self.fail(f"{prefix}topics", unknown_key(topic, known_topics, noun="topic"))
            modes = self.choices(table, "mode", prefix, DELIVERY_MODES, ("digest",))
            retry_seconds = self.get(table, "retry_seconds", prefix, float, 60.0)
            if retry_seconds < 0:
                raise self.fail(f"{prefix}retry_seconds", f"must not be negative, got {retry_seconds}")
            max_attempts = self.get(table, "max_attempts", prefix, int, 8)
            if max_attempts < 1:
                raise self.fail(f"{prefix}max_attempts", f"must be at least 1, got {max_attempts}")
            channels.append(Channel(
                name=self.get(table, "name", prefix, str, default=f"channel-{i + 1}"), url=url, topics=topics,
                modes=modes, threshold=self.probability(table, "threshold", prefix, None),
                immediate_threshold=self.probability(table, "immediate_threshold", prefix, 0.9),
                schedule=self.schedule(table, prefix), quiet_hours=self.quiet_hours(table, prefix),
                timezone=self.timezone(table, "timezone", prefix, default_timezone), retry_seconds=retry_seconds,
                max_attempts=max_attempts, surge=self.surge(table, prefix),
                secrets=tuple(dict.fromkeys(self.secrets[secrets_before:])), query=self.get(table, "query", prefix, str)))
        names = [c.name for c in channels]
        for name in names:
            if names.count(name) > 1:
                raise self.fail("channels", f"channel name {name!r} is used twice")
        return tuple(channels)

    def surge(self, table: Mapping[str, Any], prefix: str) -> SurgeSettings:
        defaults = SurgeSettings()
        values = {}
        for name, kind, least in (("sources", int, 2), ("window_minutes", float, 1), ("sigmas", float, 0),
                                  ("min_items", int, 1)):
            value = self.get(table, f"surge_{name}", prefix, kind, getattr(defaults, name))
            if value < least:
                raise self.fail(f"{prefix}surge_{name}", f"must be at least {least}, got {value}")
            values[name] = value
        return SurgeSettings(**values)

    def choices(self, table: Mapping[str, Any], key: str, prefix: str, allowed: tuple[str, ...],
                default: tuple[str, ...]) -> tuple[str, ...]:
        """A string or a list of strings, each one of ``allowed``."""
        value = table.get(key, list(default))
        values = self.string_list({key: [value] if isinstance(value, str) else value}, key, prefix, default)
        for v in values:
            if v not in allowed:
                raise self.fail(f"{prefix}{key}", f"unknown value {v!r} (known: {', '.join(allowed)})")
        if not values:
            raise self.fail(f"{prefix}{key}", f"expected at least one of {', '.join(allowed)}")
        return tuple(dict.fromkeys(values))

    def probability(self, table: Mapping[str, Any], key: str, prefix: str, default: float | None) -> float | None:
        value = self.get(table, key, prefix, float, default)
        if value is not None and not 0.0 < value <= 1.0:
            raise self.fail(f"{prefix}{key}", f"must be above 0 and at most 1, got {value}")
        return value

    def clock_time(self, key: str, value: str) -> time:
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise self.fail(key, f"expected a time of day like \"07:30\", got {value!r}") from None

    def timezone(self, table: Mapping[str, Any], key: str, prefix: str, default: str) -> str:
        name = self.get(table, key, prefix, str, default)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(f"{prefix}{key}", f"unknown time zone {name!r}") from None
        return name

    def schedule(self, table: Mapping[str, Any], prefix: str) -> DigestSchedule:
        every = self.get(table, "schedule", prefix, str, "cycle")
        if every not in SCHEDULES:
            raise self.fail(f"{prefix}schedule", f"unknown schedule {every!r} (known: {', '.join(SCHEDULES)})")
        at = self.clock_time(f"{prefix}at", self.get(table, "at", prefix, str, "07:00"))
        weekday = self.get(table, "weekday", prefix, str, "mon").lower()[:3]
        if weekday not in WEEKDAYS:
            raise self.fail(f"{prefix}weekday", f"unknown weekday {table.get('weekday')!r} (known: {', '.join(WEEKDAYS)})")
        return DigestSchedule(every=every, at=at, weekday=WEEKDAYS.index(weekday))

    def quiet_hours(self, table: Mapping[str, Any], prefix: str) -> tuple[time, time] | None:
        value = self.get(table, "quiet_hours", prefix, str)
        if value is None:
            return None
        start, sep, end = value.partition("-")
        if not sep:
            raise self.fail(f"{prefix}quiet_hours", f"expected \"HH:MM-HH:MM\", got {value!r}")
        quiet = (self.clock_time(f"{prefix}quiet_hours", start.strip()),
                 self.clock_time(f"{prefix}quiet_hours", end.strip()))
        if quiet[0] == quiet[1]:
            raise self.fail(f"{prefix}quiet_hours", "start and end are the same time")
        return quiet

    def fetch(self, raw: Mapping[str, Any]) -> FetchSettings:
        table = self.get(raw, "fetch", "", dict, {})
        self.known_keys(table, FetchSettings.__dataclass_fields__, "fetch.", "[fetch]")
        defaults = FetchSettings()
        values = {}
        for key, kind in (("connect_timeout", float), ("read_timeout", float), ("deadline", float),
                          ("max_bytes", int), ("user_agent", str), ("max_redirects", int), ("max_workers", int),
                          ("per_host", int), ("backoff_base", float), ("backoff_max", float),
                          ("unhealthy_after", int), ("min_poll", float), ("max_poll", float),
                          ("per_host_per_hour", int)):
            value = self.get(table, key, "fetch.", kind, getattr(defaults, key))
            if kind is not str and value <= 0:
                raise self.fail(f"fetch.{key}", f"must be positive, got {value}")
            values[key] = value
        values["parse_processes"] = self.get(table, "parse_processes", "fetch.", int, defaults.parse_processes)
        if values["parse_processes"] < 0:
            raise self.fail("fetch.parse_processes", f"must be 0 or more, got {values['parse_processes']}")
        if values["min_poll"] > values["max_poll"]:
            raise self.fail("fetch.min_poll", f"must not exceed fetch.max_poll ({values['max_poll']})")
        return FetchSettings(**values)

    def digest(self, raw: Mapping[str, Any]) -> DigestSettings:
        table = self.get(raw, "digest", "", dict, {})
        self.known_keys(table, DigestSettings.__dataclass_fields__, "digest.", "[digest]")
        defaults = DigestSettings()
        timezone = self.timezone(table, "timezone", "digest.", defaults.timezone)
        return DigestSettings(cron=self.get(table, "cron", "digest.", str, defaults.cron), timezone=timezone)

    def training(self, raw: Mapping[str, Any]) -> TrainingSettings:
        table = self.get(raw, "training", "", dict, {})
        defaults = TrainingSettings()
        known = TrainingSettings.__dataclass_fields__
        self.known_keys(table, known, "training.", "[training]")
        values = {key: self.get(table, key, "training.", type(getattr(defaults, key)), getattr(defaults, key))
                  for key in known}
        if not 0.0 <= values["gate_margin"] < 1.0:
            raise self.fail("training.gate_margin", f"must be between 0 and 1, got {values['gate_margin']}")
        if values["label_weight"] <= 0:
            raise self.fail("training.label_weight", f"must be above 0, got {values['label_weight']}")
        for key in ("folds", "min_held_out", "backtest_items", "review_pool"):
            if values[key] < (2 if key == "folds" else 1):
                raise self.fail(f"training.{key}", f"too small: {values[key]}")
        return TrainingSettings(**values)

    def schedules(self, raw: Mapping[str, Any], digest: DigestSettings) -> ScheduleSettings:
        table = self.get(raw, "schedules", "", dict, {})
        defaults = ScheduleSettings(digest=Schedule(cron=digest.cron))
        self.known_keys(table, ScheduleSettings.__dataclass_fields__, "schedules.", "[schedules]")
        return ScheduleSettings(**{name: self.flow_schedule(table, name, getattr(defaults, name))
                                   for name in ("monitor", "digest", "retrain")})

    def flow_schedule(self, schedules: Mapping[str, Any], name: str, default: Schedule) -> Schedule:
        table = self.get(schedules, name, "schedules.", dict, {})
        prefix = f"schedules.{name}."
        self.known_keys(table, Schedule.__dataclass_fields__, prefix, f"[schedules.{name}]")
        every = self.get(table, "every", prefix, float)
        cron = self.get(table, "cron", prefix, str)
        enabled = self.get(table, "enabled", prefix, bool, True)
        if every is not None and cron is not None:
            raise self.fail(f"schedules.{name}", "give either every (seconds) or cron, not both")
        if every is not None and every <= 0:
            raise self.fail(f"{prefix}every", f"must be positive, got {every}")
        if cron is not None and len(cron.split()) != 5:
            raise self.fail(f"{prefix}cron", f"expected five cron fields, got {cron!r}")
        if every is None and cron is None:
            return Schedule(default.every, default.cron, enabled)
        return Schedule(every, cron, enabled)

    def web(self, raw: Mapping[str, Any]) -> WebSettings:
        table = self.get(raw, "web", "", dict, {})
        self.known_keys(table, WebSettings.__dataclass_fields__, "web.", "[web]")
        base_url = self.get(table, "base_url", "web.", str)
        if base_url is not None and not base_url.lower().startswith(("http://", "https://")):
            raise self.fail("web.base_url", f"expected an http(s) URL, got {base_url!r}")
        token = self.get(table, "token", "web.", str) or self.env.get("NEWSWATCH_WEB_TOKEN") or None
        return WebSettings(base_url=base_url.rstrip("/") if base_url else None, token=token)
