"""The `newswatch` command: parses options, calls the core, turns errors into messages."""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import click

from classifiers.evaluate import metrics
from classifiers.registry import ModelFileError
from classifiers.train import documents, indicator

from . import app
from .config import ConfigError, Settings, load_settings
from .feedlist import add_feed, feed_statuses, remove_feed
from .labeled import LabeledFileError, item_from_record, read_labeled_file, read_records
from .alerts import digest_now
from .models import TOPICS
from .notify import deliver_owed, masked_url
from .refresh import run_cycle
from .store import utcnow

USER_ERRORS = (ConfigError, LabeledFileError, ModelFileError, OSError)


def command(group: click.Group, name: str) -> Callable[[Callable[..., Any]], click.Command]:
    """A subcommand with the shared --config option, whose user errors become clean messages."""

    def decorate(function: Callable[..., Any]) -> click.Command:
        @functools.wraps(function)
        def wrapper(config: str | None, **kwargs: Any) -> Any:
            try:
                return function(load_settings(config), **kwargs)
            except USER_ERRORS as exc:
                raise click.ClickException(str(exc)) from None

        option = click.option("--config", "-c", type=click.Path(dir_okay=False), envvar="NEWSWATCH_CONFIG",
                              help="Config file (default: ./newswatch.toml, else the defaults in seeds/).")
        return group.command(name)(option(wrapper))

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """Monitor news feeds for Russia–DPRK ties and alliance drills, alert on matches, learn from labels."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@command(main, "run")
def run(settings: Settings) -> None:
    """Run one monitoring cycle now: fetch every feed, store new items, classify, send the digest."""
    store = app.open_store(settings)
    try:
        report = run_cycle(settings, store, app.current_model(settings))
    finally:
        store.close()
    click.echo(report.summary())
    if report.nothing_ran:
        raise click.ClickException("no feed could be fetched")


@command(main, "classify")
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
def classify(settings: Settings, source: Any) -> None:
    """Score labeled-item JSON Lines (FILE or - for stdin) and print each with "scores", "tags", "why"."""
    records = read_records(source, _name(source), require_topics=False)
    model = app.current_model(settings)
    predictions = model.predict_items([item_from_record(r) for r in records])
    out = sys.stdout
    for record, prediction in zip(records, predictions):
        out.write(json.dumps({**record, "scores": dict(prediction.scores), "tags": list(prediction.tags),
                              "why": {t: list(w) for t, w in prediction.why.items()}}, ensure_ascii=False) + "\n")


@command(main, "evaluate")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def evaluate(settings: Settings, source: Any, as_json: bool) -> None:
    """Precision, recall, F1 and support per topic, and macro-F1, of the current model on a labeled FILE."""
    labeled = read_labeled_file(source, _name(source))
    if not labeled:
        raise LabeledFileError(f"{_name(source)}: no labeled items")
    model = app.current_model(settings)
    result = metrics(indicator(labeled), model.estimator.predict(documents(labeled)))
    result["model_version"] = model.version
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{'topic':<18}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for topic in TOPICS:
        m = result["topics"][topic]
        click.echo(f"{topic:<18}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>9}")
    click.echo(f"macro-F1 {result['macro_f1']:.3f} (model {model.version})")


def _name(stream: Any) -> str:
    return "<stdin>" if stream.name == "<stdin>" else str(stream.name)


@command(main, "digest")
@click.option("--dry-run", is_flag=True, help="Print each channel's digest instead of sending it; change nothing.")
@click.option("--since", "since_text", metavar="WHEN",
              help="Start of the window: an ISO time (2026-05-01T07:00+09:00) or an age (90m, 24h, 7d). "
                   "Default: each channel's last digest.")
@click.option("--channel", "channel_names", multiple=True, metavar="NAME", help="Only this channel (repeatable).")
def digest(settings: Settings, dry_run: bool, since_text: str | None, channel_names: tuple[str, ...]) -> None:
    """Build the digest of every digest-mode channel now, whatever its schedule, and send it (or print it)."""
    now = utcnow()
    since = parse_since(since_text, now) if since_text else None
    unknown = set(channel_names) - {c.name for c in settings.channels}
    if unknown:
        raise click.ClickException(f"no channel named {', '.join(sorted(unknown))} in {settings.source}")
    store = app.open_store(settings)
    try:
        planned = digest_now(store, settings, now, since, channel_names, dry_run)
        delivery = None if dry_run else deliver_owed(store, settings.channels)
    finally:
        store.close()
    for one in planned:
        window = f"{one.since:%Y-%m-%d %H:%M} UTC" if one.since else "the beginning"
        if one.digest is None:
            click.echo(f"== {one.channel.name}: nothing tagged since {window}")
        elif dry_run:
            click.echo(f"== {one.channel.name} (since {window}): {one.digest.subject}\n\n{one.digest.text}")
        else:
            click.echo(f"== {one.channel.name}: owed {one.digest.subject!r} (since {window})")
    if delivery is not None:
        click.echo(f"alerts: {delivery.sent} sent, {delivery.failed} failed, {delivery.held} held")
        for error in delivery.errors:
            click.echo(f"  alert failure: {error}")


def parse_since(text: str, now: datetime) -> datetime:
    age = re.fullmatch(r"(\d+)\s*([mhd])", text.strip())
    if age:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
        return now - timedelta(**{unit: int(age.group(1))})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"expected an ISO time or an age like 24h, got {text!r}", param_hint="--since")
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@command(main, "outbox")
@click.option("--all", "show_all", is_flag=True, help="Include messages already sent.")
def outbox(settings: Settings, show_all: bool) -> None:
    """List owed deliveries (pending, sending, failed; --all adds sent) per channel, secrets masked."""
    store = app.open_store(settings)
    try:
        entries = store.outbox_entries(None if show_all else ("pending", "sending", "failed"))
    finally:
        store.close()
    channels = {c.name: c for c in settings.channels}
    if not entries:
        click.echo("outbox: nothing owed" if not show_all else "outbox: empty")
    for entry in entries:
        channel = channels.get(entry.channel)
        where = masked_url(channel) if channel else "(no longer configured)"
        timing = (f"sent {entry.sent_at:%Y-%m-%d %H:%M}Z" if entry.sent_at else
                  f"next try {entry.next_attempt_at:%Y-%m-%d %H:%M}Z" if entry.next_attempt_at else "next run")
        click.echo(f"#{entry.id} {entry.status:<8} {entry.kind:<9} {entry.channel} <{where}> "
                   f"attempts {entry.attempts}, {timing}: {entry.subject}")
        if entry.last_error and entry.status != "sent":
            click.echo(f"    last error: {entry.last_error}")

@main.group()
def feeds() -> None:
    """List, add, remove feeds (edits the config file) and show their health."""


@command(feeds, "list")
def feeds_list(settings: Settings) -> None:
    """Print the configured feeds: name, URL, tags."""
    for feed in settings.feeds:
        extras = [f"tags: {', '.join(feed.tags)}"] if feed.tags else []
        extras += ["fulltext"] if feed.fulltext else []
        click.echo(f"{feed.name}\t{feed.url}" + (f"\t({'; '.join(extras)})" if extras else ""))


@command(feeds, "add")
@click.argument("url")
@click.option("--name", help="Display name (default: the URL).")
@click.option("--tag", "tags", multiple=True, help="A tag for the feed; repeat for several.")
@click.option("--fulltext", is_flag=True, help="Fetch each new item's article page for the classifier.")
@click.option("--allow-private-addresses/--no-allow-private-addresses", default=None,
              help="Allow (or forbid) a feed on a loopback/private address, overriding the top-level key.")
def feeds_add(settings: Settings, url: str, name: str | None, tags: tuple[str, ...], fulltext: bool,
              allow_private_addresses: bool | None) -> None:
    """Add the feed at URL to the config file as a new [[feeds]] table."""
    feed = add_feed(settings, url, name, tags, fulltext, allow_private_addresses)
    click.echo(f"added {feed.name} <{feed.url}> to {settings.source}")


@command(feeds, "remove")
@click.argument("url_or_name")
def feeds_remove(settings: Settings, url_or_name: str) -> None:
    """Remove the feed with this URL (or name) from the config file; its stored items stay."""
    feed = remove_feed(settings, url_or_name)
    click.echo(f"removed {feed.name} <{feed.url}> from {settings.source}")


@command(feeds, "status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects instead of a table.")
def feeds_status(settings: Settings, as_json: bool) -> None:
    """Per feed: health, last success, last error, consecutive failures, items stored, last new item."""
    store = app.open_store(settings)
    try:
        statuses = feed_statuses(settings, store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([status.as_json() for status in statuses], indent=2))
        return
    for s in statuses:
        click.echo(f"{s.name} <{s.url}>: {'healthy' if s.healthy else 'UNHEALTHY'}, {s.items_stored} items, "
                   f"last success {_when(s.last_success_at)}, last new item {_when(s.last_new_item_at)}")
        if s.last_error:
            click.echo(f"    last error ({s.consecutive_failures} failures in a row): {s.last_error}")
        if s.next_attempt_at:
            click.echo(f"    next attempt {_when(s.next_attempt_at)}")


def _when(value: Any) -> str:
    return "never" if value is None else f"{value:%Y-%m-%d %H:%M:%S}Z"
