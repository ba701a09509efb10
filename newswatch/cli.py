"""The `newswatch` command: parses options, calls the core, turns errors into messages.

Start-up is kept short (``--help`` answers in well under a second): this module imports only click and the
light core modules; each command imports what it needs (the store and SQLAlchemy, the classifiers and
scikit-learn, apprise, Prefect for ``serve``) when it runs.
"""

from __future__ import annotations

import ast
import errno
import functools
import getpass
import importlib.util
import itertools
import json
import logging
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click
from click.core import ParameterSource

from .clock import utcnow
from .config import Settings, load_settings
from .untrusted import language_code, mask, parse_item_id, printable

if TYPE_CHECKING:
    from classifiers.registry import LoadedModel
    from .store import Store

PLUGIN_GROUP = "newswatch.commands"
CLASSIFY_BATCH = 2000
"""Items `newswatch classify` scores at once: large enough for vectorized work, small enough for memory."""
USAGE_ERROR = 2
"""The exit code of every expected failure (bad file, bad value, database unreachable, disk full…)."""

# Failures that are the user's or the environment's, not newswatch's: shown as one line. Named, not imported:
# an exception can only be one of these if its module was imported, and importing them all would cost the
# start-up time (SQLAlchemy, scikit-learn) that most commands do not need.
EXPECTED_ERRORS = (
    ("newswatch.config", "ConfigError"), ("newswatch.labeled_items", "LabeledFileError"),
    ("newswatch.analyst_labels", "LabelError"), ("newswatch.retrain", "TrainingDataError"), ("newswatch.untrusted", "NumberError"),
    ("newswatch.untrusted", "LanguageCodeError"), ("newswatch.feedlist", "OpmlError"),
    ("classifiers.registry", "ModelFileError"), ("sqlalchemy.exc", "OperationalError"),
    ("sqlalchemy.exc", "ArgumentError"), ("sqlalchemy.exc", "NoSuchModuleError"),
    ("newswatch.store.search", "SearchError"), ("newswatch.store.saved_queries", "SavedQueryExists"),
    ("newswatch.saved_queries", "SavedQueryError"), ("newswatch.alerts", "SavedQueryMissing"),
)


class Failure(click.ClickException):
    """An expected failure, shown as ``Error: …`` with USAGE_ERROR (a failed `run` uses 1)."""

    def __init__(self, message: str, exit_code: int = USAGE_ERROR):
        super().__init__(printable(message))
        self.exit_code = exit_code


def is_expected(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, UnicodeError)):
        return True
    return any(isinstance(exc, cls) for module, name in EXPECTED_ERRORS
               if (cls := getattr(sys.modules.get(module), name, None)) is not None)


def describe(exc: BaseException, settings: Settings | None) -> str:
    """One line naming what failed and where, with every secret of the config masked."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        message = (f"{exc.filename or 'the data directory'}: no space left on the device "
                   "(nothing was lost: free some and run again)")
    elif isinstance(exc, OSError) and exc.filename and exc.strerror:
        message = f"{exc.filename}: {exc.strerror}"
    elif type(exc).__module__.startswith("sqlalchemy"):
        # SQLAlchemy appends the statement and its parameters; the first line is the driver's reason
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        message = f"database {_masked_database(settings)}: {reason}"
        if "disk is full" in reason or "No space left" in reason:
            message += " (nothing was lost: free some space and run again)"
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(printable(mask(message, settings.secrets if settings else ())).split())


def _masked_database(settings: Settings | None) -> str:
    if settings is None:
        return "(not configured)"
    url = settings.database_url
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        url = f"{scheme}://****@{rest.split('@', 1)[1]}"
    return url


def debugging() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("debug"))


def command(group: click.Group | None, name: str) -> Callable[[Callable[..., Any]], click.Command]:
    """A subcommand with the shared --config option, inside the one error boundary: an expected failure
    (bad file, bad value, database unreachable, disk full, corrupt model file) is one line ``Error: …`` and
    exit code 2; anything else one line too, asking for ``--debug``, which shows the traceback instead.

    With no group, a standalone command for the ``newswatch.commands`` entry point group.
    """

    def decorate(function: Callable[..., Any]) -> click.Command:
        @functools.wraps(function)
        def wrapper(config: str | None, **kwargs: Any) -> Any:
            settings = None
            try:
                settings = load_settings(_config_path(config))
                return function(settings, **kwargs)
            except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
                raise
            except BrokenPipeError:  # `newswatch labels export | head`: the reader has all it wants
                _silence_stdout()
                raise click.exceptions.Exit(0) from None
            except Exception as exc:
                if debugging():
                    raise
                if is_expected(exc):
                    raise Failure(describe(exc, settings)) from None
                raise Failure(f"unexpected {type(exc).__name__}: {describe(exc, settings)} "
                              "(run `newswatch --debug …` for the traceback)", exit_code=1) from None

        option = click.option("--config", "-c", type=click.Path(dir_okay=False), envvar="NEWSWATCH_CONFIG",
                              help="Config file (default: ./newswatch.toml, else the defaults in seeds/).")
        return (group.command(name) if group else click.command(name))(option(wrapper))

    return decorate


def _config_path(own: str | None) -> str | None:
    """The config file a command reads: its own ``--config``, else the one given before the command name
    (``newswatch --config FILE run``), else ``$NEWSWATCH_CONFIG``."""
    context = click.get_current_context()
    given_before = context.find_root().params.get("config")
    set_here = context.get_parameter_source("config") not in (ParameterSource.DEFAULT, ParameterSource.ENVIRONMENT)
    return own if own is not None and set_here else given_before or own


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not raise "Broken pipe" once more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner's buffer)
        pass


@functools.cache
def _plugins() -> dict[str, EntryPoint]:
    """Read once per process: it scans every installed distribution's metadata (a large part of --help's time)."""
    return {entry.name: entry for entry in entry_points(group=PLUGIN_GROUP)}


def _plugin_summary(entry: EntryPoint) -> str:
    """The first line of a plugin command's docstring, read from its source: listing commands must not
    import them (``serve`` would import Prefect, seconds of start-up)."""
    try:
        spec = importlib.util.find_spec(entry.module)
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))  # type: ignore[union-attr, arg-type]
    except (ImportError, AttributeError, TypeError, OSError, SyntaxError, ValueError):
        return ""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry.attr:
            return (ast.get_docstring(node) or "").split("\n", 1)[0]
    return ""


class PluginGroup(click.Group):
    """Also offers the commands other installed modules register under ``newswatch.commands``
    (``serve`` lives with the Prefect flows, which the core must not import); loaded only when run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugins()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is None and name in (plugins := _plugins()):
            if getattr(ctx, "listing_commands", False):
                return click.Command(name, help=_plugin_summary(plugins[name]))
            found = plugins[name].load()
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx.listing_commands = True  # type: ignore[attr-defined]
        try:
            super().format_commands(ctx, formatter)
        finally:
            ctx.listing_commands = False  # type: ignore[attr-defined]


class _PrintableFormatter(logging.Formatter):
    """Log lines carry feed titles, server reasons and error messages: no escape sequence reaches the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), keep_layout=True)


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Log progress to stderr.")
@click.option("--debug", is_flag=True, help="Show the traceback of a failure instead of a one-line message.")
@click.option("--config", "-c", type=click.Path(dir_okay=False),
              help="Config file for the command (as the command's own --config; default: $NEWSWATCH_CONFIG, "
                   "./newswatch.toml, else the defaults in seeds/).")
def main(verbose: bool, debug: bool, config: str | None) -> None:
    """Monitor news feeds for Russia–DPRK ties and alliance drills, alert on matches, learn from labels."""
    handler = logging.StreamHandler()
    handler.setFormatter(_PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING,
                        handlers=[handler])


def open_store(settings: Settings) -> "Store":
    """The store, imported here: SQLAlchemy only for the commands that use it (``app.open_store`` would
    bring scikit-learn along, seconds that `newswatch label` does not need)."""
    from .store import Store

    return Store.open(settings.database_url)


@main.group("config")
def config_group() -> None:
    """Check the config file."""


@command(config_group, "check")
def config_check(settings: Settings) -> None:
    """Validate the config file (every table, key and ${NAME}, and that apprise can use each channel's URL)
    without fetching, storing or sending anything."""
    from .notify import usable

    for i, channel in enumerate(settings.channels):
        if not usable(channel):  # each digest would fail, and be retried until it is dead
            scheme = channel.url.partition("://")[0]
            raise Failure(f"{settings.source}: channels[{i}].url: apprise cannot send to this {scheme}:// URL (a "
                          "webhook is json://host/path, mail mailtos://user:password@host?to=address; every "
                          "service's form: https://github.com/caronc/apprise/wiki)")
    click.echo(f"{settings.source}: ok ({_counted(len(settings.feeds), 'feed')}, "
               f"{_counted(len(settings.channels), 'channel')}, "
               f"data in {settings.data_dir})")


@command(main, "run")
@click.option("--due-only", is_flag=True,
              help="Fetch only the feeds whose poll time has come, as the scheduled monitor does.")
def run(settings: Settings, due_only: bool) -> None:
    """Run one monitoring cycle now: fetch every feed, store new items, classify, send the digest.

    The first run trains a model on the shipped seed examples (about 8 s) before classifying."""
    from . import app
    from .cycle import run_cycle

    with open_store(settings) as store:
        report = run_cycle(settings, store, app.current_model(settings), due_only=due_only)
    click.echo(printable(report.summary(), keep_layout=True))
    if report.nothing_ran:
        raise Failure("no feed could be fetched", exit_code=1)


@command(main, "classify")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=lambda: min(4, os.cpu_count() or 1),
              show_default="the CPUs, at most 4", help="Processes scoring batches at once.")
def classify(settings: Settings, source: Any, jobs: int) -> None:
    """Score labeled-item JSON Lines (FILE or - for stdin) and print each with "scores", "tags", "why".

    Streams: items are scored in batches as they are read, so a bad line stops the command (naming
    the line) after the lines before it were printed."""
    from . import app
    from .labeled_items import iter_records
    from .parallel import forked_map

    model = app.current_model(settings)
    records = iter_records(source, _name(source), require_topics=False, topics=settings.topic_names)
    batches = iter(lambda: list(itertools.islice(records, CLASSIFY_BATCH)), [])
    for lines in forked_map(_classified_lines, model, batches, jobs):
        sys.stdout.writelines(lines)


def _classified_lines(model: "LoadedModel", records: list[dict[str, Any]]) -> list[str]:
    from .labeled_items import item_from_record

    items = [item_from_record(r) for r in records]
    predictions = model.predict_items(items)
    return [json.dumps({**record, "lang": item.lang, "scores": dict(p.scores), "tags": list(p.tags),
                        "why": {t: list(w) for t, w in p.why.items()}}, ensure_ascii=False) + "\n"
            for record, item, p in zip(records, items, predictions)]


@command(main, "evaluate")
@click.argument("source", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def evaluate(settings: Settings, source: Any, as_json: bool) -> None:
    """Precision, recall, F1 (with its 90 % interval) and support per topic, and macro-F1, of the current
    model on a labeled FILE."""
    from classifiers.evaluate import evaluate_model

    from . import app
    from .labeled_items import LabeledFileError, read_labeled_file

    labeled = read_labeled_file(source, _name(source), settings.topic_names)
    if not labeled:
        raise LabeledFileError(f"{_name(source)}: no labeled items")
    model = app.current_model(settings)
    result = {**evaluate_model(model.estimator, labeled, model.topics), "model_version": model.version}
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{'topic':<18}{'precision':>10}{'recall':>10}{'f1':>10}{'90 % interval':>16}{'support':>9}")
    for topic in model.topics:
        m = result["topics"][topic]
        low, high = m["f1_interval"]
        click.echo(f"{topic:<18}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}"
                   f"{f'{low:.3f}–{high:.3f}':>16}{m['support']:>9}")
    low, high = result["macro_f1_interval"]
    click.echo(f"macro-F1 {result['macro_f1']:.3f} (90 % interval {low:.3f}–{high:.3f}; model {model.version})")


def _check_topic(settings: Settings, topic: str) -> None:
    if topic not in settings.topics:
        raise click.BadParameter(f"unknown topic {topic!r} (known: {', '.join(settings.topics)})", param_hint="'--topic'")


def _name(stream: Any) -> str:
    name = getattr(stream, "name", "<stdin>")  # a binary stdin may have no name, or the number 0
    return "<stdin>" if name in ("<stdin>", 0) else str(name)


@command(main, "digest")
@click.option("--dry-run", is_flag=True, help="Print each channel's digest instead of sending it; change nothing.")
@click.option("--since", "since_text", metavar="WHEN",
              help="Start of the window: an ISO time (2026-05-01T07:00+09:00) or an age (90m, 24h, 7d). "
                   "Default: each channel's last digest.")
@click.option("--channel", "channel_names", multiple=True, metavar="NAME", help="Only this channel (repeatable).")
def digest(settings: Settings, dry_run: bool, since_text: str | None, channel_names: tuple[str, ...]) -> None:
    """Build the digest of every digest-mode channel now, whatever its schedule, and send it (or print it)."""
    from .alerts import digest_now
    from .notify import deliver_owed
    from .retrain import thresholds

    now = utcnow()
    since = parse_since(since_text, now) if since_text else None
    unknown = set(channel_names) - {c.name for c in settings.channels}
    if unknown:
        raise Failure(f"no channel named {', '.join(sorted(unknown))} in {settings.source}")
    with open_store(settings) as store:
        planned = digest_now(store, settings, now, since, channel_names, dry_run, tagged_at=thresholds(settings))
        delivery = None if dry_run else deliver_owed(store, settings.channels)
        digested_before = {one.channel.name: _already_digested(store, one) for one in planned if one.digest is None}
    for one in planned:
        window = f"{one.since:%Y-%m-%d %H:%M} UTC" if one.since else "the beginning"
        if one.digest is None and digested_before.get(one.channel.name):
            click.echo(f"== {one.channel.name}: nothing new since {window}: the {digested_before[one.channel.name]} "
                       "tagged item(s) of that time were in an earlier digest (--since 24h sends them again)")
        elif one.digest is None:
            click.echo(f"== {one.channel.name}: nothing tagged since {window}")
        elif dry_run:
            click.echo(f"== {one.channel.name} (since {window}): {one.digest.subject}\n\n"
                       f"{printable(one.digest.text, keep_layout=True)}")
        else:
            click.echo(f"== {one.channel.name}: owed {one.digest.subject!r} (since {window})")
    if delivery is not None:
        click.echo(f"alerts: {delivery.sent} sent, {delivery.failed} failed, {delivery.held} held"
                   + (f", {delivery.dead} dead" if delivery.dead else ""))
        for error in delivery.errors:
            click.echo(f"  alert failure: {printable(error)}")
        for note in delivery.notes:
            click.echo(f"  partly refused: {printable(note)}")


def _already_digested(store: "Store", planned: Any) -> int:
    """How many items of the channel's window would count for it but were taken by an earlier digest."""
    from .digest import stories_by_topic

    if planned.explicit:
        return 0  # an explicit --since already includes them
    tagged = store.tagged_between(planned.since, planned.until, not_taken_by=None)
    grouped = stories_by_topic(tagged, planned.channel.topics, planned.channel.threshold)
    return len({m.item.id for stories in grouped.values() for story in stories for m in story.copies})


def parse_since(text: str, now: datetime) -> datetime:
    age = re.fullmatch(r"([0-9]+)\s*([mhd])", text.strip())
    if age:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
        try:
            return now - timedelta(**{unit: int(age.group(1))})
        except OverflowError:  # also past datetime.min: 99999999d
            raise click.BadParameter(f"{text!r} reaches back before year 1", param_hint="--since") from None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"expected an ISO time or an age like 24h, got {printable(text)!r}",
                                 param_hint="--since") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@command(main, "items")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines (one object per item) instead of a table.")
@click.option("--since", "since_text", metavar="WHEN",
              help="Only items published (else fetched) since WHEN: an ISO time or an age (90m, 24h, 7d).")
@click.option("--lang", metavar="L", help="Only items in language L (an ISO 639-1 code: ko, ru, en, ja, zh, …).")
@click.option("--topic", help="Only items whose latest prediction tags them with TOPIC (one of the config's).")
@click.option("--story", "story_id", type=int, metavar="ID", help="Only the copies of story ID.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=50, show_default=True,
              help="At most this many items, newest stored first.")
def items_command(settings: Settings, as_json: bool, since_text: str | None, lang: str | None, topic: str | None,
                  story_id: int | None, limit: int) -> None:
    """Stored items, newest stored first: id, feed, language, title, URL, published, story, latest scores and tags."""
    from .store import ItemFilter

    if topic is not None:
        _check_topic(settings, topic)
    lang = language_code(lang) if lang is not None else None
    where = ItemFilter(since=parse_since(since_text, utcnow()) if since_text else None, languages=(lang,) if lang else (),
                       topic=topic, tagged=True if topic else None, story_id=story_id)
    with open_store(settings) as store:
        found = store.scored_items(where, limit)
        # said on stderr: a script reading the JSON Lines still gets none, and a person learns why
        if lang and not found and lang not in (stored := store.languages()):
            click.echo(f"no stored item is in language {lang!r} (stored: {', '.join(stored) or 'none'})", err=True)
        elif not found:
            filtered = since_text or lang or topic or story_id is not None
            click.echo("no stored item matches these filters" if filtered
                       else "nothing stored yet: `newswatch run` fetches the feeds", err=True)
    for row in found:
        if as_json:
            click.echo(json.dumps(row.as_json(), ensure_ascii=False))
            continue
        item, prediction = row.item, row.prediction
        scores = " ".join(f"{t} {s:.2f}" for t, s in prediction.scores.items()) if prediction else "not scored"
        tags = ",".join(prediction.tags) if prediction and prediction.tags else "-"
        published = f"{item.published:%Y-%m-%d %H:%M}Z" if item.published else "undated"
        click.echo(f"{item.id}\t{item.lang}\t{published}\tstory {row.story_id}\t{tags}\t{scores}\t"
                   f"{printable(row.feed_name)}\t{printable(item.title)}\t{printable(item.url or '')}")


@main.group("outbox", invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Include messages already sent or dropped.")
@click.option("--config", "-c", type=click.Path(dir_okay=False), envvar="NEWSWATCH_CONFIG",
              help="Config file (default: ./newswatch.toml, else the defaults in seeds/).")
@click.pass_context
def outbox(ctx: click.Context, show_all: bool, config: str | None) -> None:
    """List owed deliveries (pending, sending, failed) and dead letters per channel, secrets masked;
    `outbox retry ID` owes a dead letter again, `outbox drop ID` gives a message up."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(outbox_list, config=config, show_all=show_all)


@command(None, "list")
@click.option("--all", "show_all", is_flag=True, help="Include messages already sent or dropped.")
def outbox_list(settings: Settings, show_all: bool) -> None:
    """List owed deliveries and dead letters (--all adds sent and dropped ones)."""
    from .notify import masked_url

    with open_store(settings) as store:
        entries = store.outbox_entries(None if show_all else ("pending", "sending", "failed", "dead"))
    channels = {c.name: c for c in settings.channels}
    if not entries:
        click.echo("outbox: nothing owed" if not show_all else "outbox: empty")
    for entry in entries:
        channel = channels.get(entry.channel)
        where = masked_url(channel) if channel else "(no longer configured)"
        timing = (f"sent {entry.sent_at:%Y-%m-%d %H:%M}Z" if entry.sent_at else
                  "not tried again (outbox retry / outbox drop)" if entry.status == "dead" else
                  "" if entry.status == "dropped" else
                  f"next try {entry.next_attempt_at:%Y-%m-%d %H:%M}Z" if entry.next_attempt_at else "next run")
        click.echo(f"#{entry.id} {entry.status:<8} {entry.kind:<9} {entry.channel} <{where}> "
                   f"attempts {entry.attempts}, {timing}: {printable(entry.subject)}")
        if entry.last_error:
            click.echo(f"    {'refused' if entry.status == 'sent' else 'last error'}: {printable(entry.last_error)}")


outbox.add_command(outbox_list)


@command(outbox, "retry")
@click.argument("entry_id", type=int, metavar="ID")
def outbox_retry(settings: Settings, entry_id: int) -> None:
    """Owe dead letter ID again: the next run or digest sends it, with a fresh count of attempts."""
    with open_store(settings) as store:
        revived = store.revive(entry_id)
    if not revived:
        raise Failure(f"outbox: #{entry_id} is not a dead letter (see `newswatch outbox`)")
    click.echo(f"outbox: #{entry_id} owed again")


@command(outbox, "drop")
@click.argument("entry_id", type=int, metavar="ID")
def outbox_drop(settings: Settings, entry_id: int) -> None:
    """Give up message ID (dead, failed or pending): it is kept as dropped and never sent."""
    with open_store(settings) as store:
        dropped = store.drop(entry_id)
    if not dropped:
        raise Failure(f"outbox: #{entry_id} is not owed nor dead (see `newswatch outbox --all`)")
    click.echo(f"outbox: #{entry_id} dropped")


@main.group()
def feeds() -> None:
    """List, add, remove feeds (edits the config file) and show their health."""


@command(feeds, "list")
def feeds_list(settings: Settings) -> None:
    """Print the configured feeds: name, URL, tags."""
    for feed in settings.feeds:
        extras = [f"tags: {', '.join(feed.tags)}"] if feed.tags else []
        extras += ["fulltext"] if feed.fulltext else []
        extras += [f"kind: {feed.kind}"] if feed.kind != "auto" else []
        click.echo(f"{feed.name}\t{feed.url}" + (f"\t({'; '.join(extras)})" if extras else ""))


@command(feeds, "add")
@click.argument("url")
@click.option("--name", help="Display name (default: the title the feed gives itself, else the URL).")
@click.option("--tag", "tags", multiple=True, help="A tag for the feed; repeat for several.")
@click.option("--fulltext", is_flag=True, help="Fetch each new item's article page for the classifier.")
@click.option("--allow-private-addresses/--no-allow-private-addresses", default=None,
              help="Allow (or forbid) a feed on a loopback/private address, overriding the top-level key.")
def feeds_add(settings: Settings, url: str, name: str | None, tags: tuple[str, ...], fulltext: bool,
              allow_private_addresses: bool | None) -> None:
    """Add the feed at URL to the config file as a new [[feeds]] table."""
    from .feedlist import add_feed, name_and_url

    feed = add_feed(settings, url, name, tags, fulltext, allow_private_addresses)
    click.echo(f"added {printable(name_and_url(feed.name, feed.url))} to {settings.source}")


@command(feeds, "remove")
@click.argument("url_or_name")
def feeds_remove(settings: Settings, url_or_name: str) -> None:
    """Remove the feed with this URL (or name) from the config file; its stored items stay."""
    from .feedlist import name_and_url, remove_feed

    feed = remove_feed(settings, url_or_name)
    click.echo(f"removed {printable(name_and_url(feed.name, feed.url))} from {settings.source}")


@command(feeds, "import")
@click.argument("source", type=click.File("rb"))
def feeds_import(settings: Settings, source: Any) -> None:
    """Add the feeds of an OPML file (FILE or - for stdin) that the config file does not have yet.

    Each feed keeps its name; its folders and OPML categories become its tags."""
    from .feedlist import import_opml

    report = import_opml(settings, source.read(), _name(source))
    click.echo(f"{len(report.added)} feed(s) added to {settings.source}, "
               f"{len(report.skipped)} skipped (already configured)")


@command(feeds, "export")
def feeds_export(settings: Settings) -> None:
    """Print the configured feeds as OPML 2.0 (name, URL, tags as categories) for another reader."""
    from .feedlist import opml

    click.echo(opml(settings.feeds), nl=False)


@command(feeds, "status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects instead of a table.")
def feeds_status(settings: Settings, as_json: bool) -> None:
    """Per feed: health, last success, last error, consecutive failures, items stored, last new item."""
    from .feedlist import failures_in_a_row, feed_statuses, name_and_url

    with open_store(settings) as store:
        statuses = feed_statuses(settings, store)
    if as_json:
        click.echo(json.dumps([status.as_json() for status in statuses], indent=2))
        return
    for s in statuses:
        health = s.health.upper() if s.health == "unhealthy" else s.health
        click.echo(f"{printable(name_and_url(s.name, s.url))}: {health}, "
                   f"{_counted(s.items_stored, 'item')}, last success {_when(s.last_success_at)}, "
                   f"last new item {_when(s.last_new_item_at)}")
        if s.last_error:
            click.echo(f"    last error ({failures_in_a_row(s.consecutive_failures)}): {printable(s.last_error)}")
        if s.next_attempt_at:
            click.echo(f"    next attempt {_when(s.next_attempt_at)}")


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _when(value: Any) -> str:
    return "never" if value is None else f"{value:%Y-%m-%d %H:%M:%S}Z"

def _author_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--author", default=lambda: _default_author(), show_default="$USER",
                        help="Who is labeling (recorded with each label).")(function)


def _default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@command(main, "label")
@click.argument("item_id")
@click.argument("topic")
@click.argument("answer", type=click.Choice(["yes", "no"]), required=False)
@_author_option
def label(settings: Settings, item_id: str, topic: str, answer: str | None, author: str) -> None:
    """Label stored item ITEM_ID (the id digests show): TOPIC (one of the config's) yes|no, or `none` for about
    none of them."""
    from .analyst_labels import label_stored_item

    if (topic == "none") != (answer is None):
        raise click.UsageError("give TOPIC yes|no, or `none` alone (about none of the topics)")
    number = parse_item_id(item_id)
    with open_store(settings) as store:
        added = label_stored_item(store, number, None if topic == "none" else topic, answer == "yes", author, utcnow(),
                                  settings.topic_names)
    click.echo(f"item {number}: {added} label(s) recorded" if added else f"item {number}: already labeled so")


@command(main, "separate")
@click.argument("item_id")
def separate(settings: Settings, item_id: str) -> None:
    """Take stored item ITEM_ID out of its story: it reports another event than the story's other copies
    (stories group reports automatically, and may be wrong). It becomes a story of its own."""
    number = parse_item_id(item_id)
    with open_store(settings) as store:
        try:
            story = store.separate(number)
        except KeyError:
            raise Failure(f"no stored item with id {number}") from None
    click.echo(f"item {number}: a story of its own now (was in story {story})" if story is not None
               else f"item {number}: already a story of its own")


@main.group("labels")
def labels_group() -> None:
    """Import and export analysts' labels (the labeled-item JSON Lines of TOPICS.md)."""


@command(labels_group, "import")
@click.argument("source", type=click.File("rb"))
@_author_option
def labels_import(settings: Settings, source: Any, author: str) -> None:
    """Import every labeled item of FILE; a malformed line imports nothing; a repeat import adds nothing."""
    from .analyst_labels import import_labels

    with open_store(settings) as store:
        report = import_labels(store, source, _name(source), author, utcnow(), settings.topic_names)
    click.echo(f"{_name(source)}: {report.summary()}")


@command(labels_group, "export")
def labels_export(settings: Settings) -> None:
    """Print the labels in force as labeled-item JSON Lines (readable by `labels import`)."""
    from .analyst_labels import export_records

    with open_store(settings) as store:
        records = export_records(store.latest_labels(), settings.topic_names)
    for record in records:
        click.echo(json.dumps(record, ensure_ascii=False))


@command(main, "train")
@click.option("--force", is_flag=True, help="Promote the candidate even if it is worse than the current model.")
@click.option("--dry-run", is_flag=True, help="Promote nothing; list the stored items whose tags would change.")
def train(settings: Settings, force: bool, dry_run: bool) -> None:
    """Train a candidate on seeds + labels, compare it with the current model, promote it unless worse beyond noise."""
    from . import retrain

    in_service = retrain.thresholds(settings)  # read before a promotion replaces them
    with open_store(settings) as store:
        report = retrain.train(settings, store, force=force, dry_run=dry_run)
    candidate = report.candidate

    def threshold(topic: str) -> str:
        """What the topic is tagged at: in service → the candidate's (labels can move it either way), or the pin."""
        if settings.topics[topic].threshold is not None:
            return f"{in_service[topic]:.2f} pinned"
        chosen = f"{candidate.metadata['thresholds'][topic]:.2f}"
        return f"{in_service[topic]:.2f} → {chosen}" if report.current_version else chosen

    click.echo(f"{report.labeled} labeled item(s); judged on {report.evaluated_on}")
    held = candidate.candidate_metrics
    if held:
        click.echo(f"{'topic':<18}{'in service F1':>14}{'candidate P':>12}{'R':>7}{'F1':>7}{'90 % interval':>15}"
                   f"{'threshold':>14}")
        for topic in settings.topic_names:
            new = held["topics"][topic]
            if not new["support"]:  # no positive held out: recall and F1 are not defined, 0.000 would read as a score
                click.echo(f"{topic:<18}{'-':>14}{'-':>12}{'-':>7}{'-':>7}{'no positives':>15}{threshold(topic):>14}")
                continue
            old = f"{candidate.current_metrics['topics'][topic]['f1']:.3f}" if candidate.current_metrics else "-"
            low, high = new["f1_interval"]
            click.echo(f"{topic:<18}{old:>14}{new['precision']:>12.3f}{new['recall']:>7.3f}{new['f1']:>7.3f}"
                       f"{f'{low:.2f}–{high:.2f}':>15}{threshold(topic):>14}")
    click.echo(f"held-out estimate: {report.estimate}")
    click.echo(f"training data: {retrain.cross_validation_in_words({**candidate.metadata, 'labeled_items': report.labeled})}")
    click.echo(f"gate: {candidate.reason}")
    if dry_run:
        click.echo(f"dry run: nothing promoted; {len(report.changes)} stored item(s) would change tags")
        for change in report.changes:
            click.echo(f"  {change.item.id}: {list(change.before)} -> {list(change.after)}  {printable(change.item.title)}")
    elif report.promoted_version:
        forced = " (forced)" if force and not candidate.promote else ""
        click.echo(f"promoted {report.promoted_version}{forced} (was {report.current_version or 'none'})")
    else:
        click.echo(f"kept {report.current_version} (use --force to promote anyway)")


@main.group("models")
def models_group() -> None:
    """Model versions: list them, roll back."""


@command(models_group, "list")
def models_list(settings: Settings) -> None:
    """Every stored model version with its date, training data, held-out estimate; * marks the one in service."""
    from classifiers.evaluate import describe_estimate

    from . import retrain

    models = retrain.registry(settings)
    current = models.current_version()
    for meta in models.versions():
        click.echo(f"{'*' if meta['version'] == current else ' '} {meta['version']:<5} {meta.get('created_at', '?')}"
                   f"  {meta.get('trained_on', '?'):<13} examples {meta.get('training_examples', '?'):<5}"
                   f"  thresholds {meta.get('thresholds')}  data {str(meta.get('training_data_hash', ''))[:12]}"
                   f"  sklearn {meta.get('sklearn_version', '?')}")
        click.echo(f"      held-out estimate: {describe_estimate(meta.get('metrics', {}).get('held_out'))}")
        click.echo(f"      training data: {retrain.cross_validation_in_words(meta)}")


@command(models_group, "rollback")
@click.argument("version", required=False)
def models_rollback(settings: Settings, version: str | None) -> None:
    """Put VERSION (2 or v2; default: the version before the one in service) back in service."""
    from . import retrain

    click.echo(f"{retrain.rollback(settings, version)} is in service")


@command(main, "review")
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 100_000),
              help="How many items to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines instead of prompting.")
@_author_option
def review(settings: Settings, limit: int, as_json: bool, author: str) -> None:
    """Stored items whose label would teach the model most (uncertain and unlike one another, one per
    story, no near-duplicates; any the model is sure of last, marked); on a terminal, label each: y(es) n(o)
    s(kip) q(uit)."""
    from . import app, retrain
    from .analyst_labels import label_stored_item

    with open_store(settings) as store:
        entries = retrain.review_queue(settings, store, app.current_model(settings), limit)
        interactive = not as_json and sys.stdin.isatty()
        for entry in entries:
            item = entry.item
            sure = "; the model is sure of it" if entry.sure else ""
            if not interactive:
                line = {"id": item.id, "lang": item.lang, "title": item.title, "url": item.url, "topic": entry.topic,
                        "score": entry.score, "threshold": entry.threshold, "sure": entry.sure,
                        "label": f"newswatch label {item.id} {entry.topic} yes|no"}
                click.echo(json.dumps(line, ensure_ascii=False) if as_json else
                           f"{item.id}  {entry.topic} {entry.score:.2f} (threshold {entry.threshold:.2f}"
                           f"{sure})  {printable(item.title)}")
                continue
            click.echo(f"\n[{item.id}] {printable(item.title)}\n{printable((item.summary or item.text)[:300])}")
            answer = click.prompt(f"about {entry.topic}? (score {entry.score:.2f}{sure}) y/n/s/q",
                                  type=click.Choice(["y", "n", "s", "q"]), show_choices=False)
            if answer == "q":
                break
            if answer != "s":
                label_stored_item(store, item.id, entry.topic, answer == "y", author, utcnow(),  # type: ignore[arg-type]
                                  settings.topic_names)

@command(main, "search")
@click.argument("query")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(1, 10_000),
              help="How many items to list, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines (one object per item) instead of a list.")
def search(settings: Settings, query: str, limit: int, as_json: bool) -> None:
    """Stored items whose title, summary or text holds every word and "quoted phrase" of QUERY (any language).

    Terms match as case-insensitive substrings ("Путин" finds "Путина", "kim" finds "Kimchi"); a term of one
    or two characters only narrows the others' matches, or is scanned for alone (slower on a big store).
    An unquoted name of one of the beat's people also finds its Korean, Russian and English spellings
    ("Putin" finds "푸틴" and "Путин"), said on stderr; quote it to match only as written."""
    from .store import ItemFilter
    from .store.search import search_terms

    for term in search_terms(query):  # a blank search is refused here, not read as no filter (every item)
        if term.also:
            click.echo(f"also searching for {printable(term.text)!r} as: {', '.join(term.also)}", err=True)
    with open_store(settings) as store:
        rows = store.scored_items(ItemFilter(search=query), limit=limit)
    for row in rows:
        if as_json:
            click.echo(json.dumps(row.as_json(), ensure_ascii=False))
            continue
        tags = ", ".join(row.prediction.tags) if row.prediction and row.prediction.tags else "untagged"
        click.echo(f"{row.item.id}  {row.when:%Y-%m-%d %H:%M}Z  {printable(row.feed_name)}  [{tags}]  "
                   f"{printable(row.item.title)}")
    if not rows and not as_json:
        click.echo(f"nothing stored matches {printable(query)!r}")


@main.group("queries")
def queries_group() -> None:
    """Saved queries: a search with topics, feeds and a minimum score, kept by name (channel filters, feeds)."""


@command(queries_group, "add")
@click.argument("name")
@click.option("--text", default="", help='Words and "quoted phrases" that must all appear (as `newswatch search`).')
@click.option("--topic", "topics", multiple=True,
              help="Tagged with this topic, one of the config's (repeat: any of them).")
@click.option("--feed", "feeds", multiple=True, metavar="URL_OR_NAME", help="From this feed (repeat: any of them).")
@click.option("--lang", "languages", multiple=True, metavar="CODE",
              help="In this language, e.g. en, ko, ru (repeat: any of them).")
@click.option("--min-score", type=click.FloatRange(0, 1), default=None,
              help="A score at least this for any --topic (any topic when none is given), tagged or not.")
def queries_add(settings: Settings, name: str, text: str, topics: tuple[str, ...], feeds: tuple[str, ...],
                languages: tuple[str, ...], min_score: float | None) -> None:
    """Save a query as NAME: its matches feed /feeds/NAME.atom and .json, and any channel with query = "NAME"."""
    from .saved_queries import describe, new_saved_query

    query = new_saved_query(settings, name, text, topics, feeds, languages, min_score)
    with open_store(settings) as store:
        store.add_saved_query(query, utcnow())
    click.echo(f"saved query {name}: {describe(query)}")


@command(queries_group, "list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects instead of lines.")
def queries_list(settings: Settings, as_json: bool) -> None:
    """Every saved query and what it matches, with the channels that route it."""
    from .jsonview import saved_query_json

    with open_store(settings) as store:
        saved = [saved_query_json(query, settings) for query in store.saved_queries()]
    if as_json:
        click.echo(json.dumps(saved, ensure_ascii=False, indent=2))
        return
    for query in saved:
        routed = f"  -> channel {', '.join(query['channels'])}" if query["channels"] else ""
        click.echo(f"{query['name']}\t{printable(query['description'])}{routed}")
    if not saved:
        click.echo("no saved queries (newswatch queries add NAME --text …)")


@command(queries_group, "remove")
@click.argument("name")
def queries_remove(settings: Settings, name: str) -> None:
    """Forget saved query NAME (refused while a channel routes it)."""
    from .saved_queries import remove_saved_query

    with open_store(settings) as store:
        remove_saved_query(settings, store, name)
    click.echo(f"removed saved query {name}")


@command(main, "web")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback needs [web] token or $NEWSWATCH_WEB_TOKEN.")
@click.option("--port", default=8750, show_default=True, type=click.IntRange(1, 65535), help="Port to bind.")
def web(settings: Settings, host: str, port: int) -> None:
    """Serve the review page: inbox, one-click labels, review queue, model and feed health."""
    import uvicorn  # only this command needs the web stack

    from .web import WebConfigError, create_app

    try:
        application = create_app(settings, host=host)
    except WebConfigError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"newswatch web on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(application, host=host, port=port, log_level="warning")
