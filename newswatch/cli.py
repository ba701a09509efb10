"""The `newswatch` command: parses options, calls the core, turns errors into messages."""

from __future__ import annotations

import functools
import getpass
import itertools
import json
import logging
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable

import click

from classifiers.evaluate import metrics
from classifiers.registry import LoadedModel, ModelFileError
from classifiers.train import documents, indicator

from . import app
from .alerts import digest_now
from .clock import utcnow
from .config import ConfigError, Settings, load_settings
from .feedlist import add_feed, feed_statuses, remove_feed
from .labeled import LabeledFileError, item_from_record, iter_records, read_labeled_file
from .labels import LabelError, export_records, import_labels, label_stored_item
from .models import TOPICS
from .notify import deliver_owed, masked_url
from .parallel import forked_map
from .cycle import run_cycle

USER_ERRORS = (ConfigError, LabeledFileError, LabelError, ModelFileError, OSError)


PLUGIN_GROUP = "newswatch.commands"
CLASSIFY_BATCH = 2000
"""Items `newswatch classify` scores at once: large enough for vectorized work, small enough for memory."""


def command(group: click.Group | None, name: str) -> Callable[[Callable[..., Any]], click.Command]:
    """A subcommand with the shared --config option, whose user errors become clean messages.

    With no group, a standalone command for the ``newswatch.commands`` entry point group.
    """

    def decorate(function: Callable[..., Any]) -> click.Command:
        @functools.wraps(function)
        def wrapper(config: str | None, **kwargs: Any) -> Any:
            try:
                return function(load_settings(config), **kwargs)
            except USER_ERRORS as exc:
                raise click.ClickException(str(exc)) from None

        option = click.option("--config", "-c", type=click.Path(dir_okay=False), envvar="NEWSWATCH_CONFIG",
                              help="Config file (default: ./newswatch.toml, else the defaults in seeds/).")
        return (group.command(name) if group else click.command(name))(option(wrapper))

    return decorate


def _plugins() -> dict[str, EntryPoint]:
    return {entry.name: entry for entry in entry_points(group=PLUGIN_GROUP)}


class PluginGroup(click.Group):
    """Also offers the commands other installed modules register under ``newswatch.commands``
    (``serve`` lives with the Prefect flows, which the core must not import); loaded when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugins()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is None and name in _plugins():
            found = _plugins()[name].load()
        return found


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """Monitor news feeds for Russia–DPRK ties and alliance drills, alert on matches, learn from labels."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@command(main, "run")
@click.option("--due-only", is_flag=True,
              help="Fetch only the feeds whose poll time has come, as the scheduled monitor does.")
def run(settings: Settings, due_only: bool) -> None:
    """Run one monitoring cycle now: fetch every feed, store new items, classify, send the digest."""
    with app.open_store(settings) as store:
        report = run_cycle(settings, store, app.current_model(settings), due_only=due_only)
    click.echo(report.summary())
    if report.nothing_ran:
        raise click.ClickException("no feed could be fetched")


@command(main, "classify")
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=lambda: min(4, os.cpu_count() or 1),
              show_default="the CPUs, at most 4", help="Processes scoring batches at once.")
def classify(settings: Settings, source: Any, jobs: int) -> None:
    """Score labeled-item JSON Lines (FILE or - for stdin) and print each with "scores", "tags", "why".

    Streams: items are scored in batches as they are read, so a bad line stops the command (naming
    the line) after the lines before it were printed."""
    model = app.current_model(settings)
    records = iter_records(source, _name(source), require_topics=False)
    batches = iter(lambda: list(itertools.islice(records, CLASSIFY_BATCH)), [])
    for lines in forked_map(_classified_lines, model, batches, jobs):
        sys.stdout.writelines(lines)


def _classified_lines(model: LoadedModel, records: list[dict[str, Any]]) -> list[str]:
    predictions = model.predict_items([item_from_record(r) for r in records])
    return [json.dumps({**record, "scores": dict(p.scores), "tags": list(p.tags),
                        "why": {t: list(w) for t, w in p.why.items()}}, ensure_ascii=False) + "\n"
            for record, p in zip(records, predictions)]


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
    with app.open_store(settings) as store:
        planned = digest_now(store, settings, now, since, channel_names, dry_run)
        delivery = None if dry_run else deliver_owed(store, settings.channels)
    for one in planned:
        window = f"{one.since:%Y-%m-%d %H:%M} UTC" if one.since else "the beginning"
        if one.digest is None:
            click.echo(f"== {one.channel.name}: nothing tagged since {window}")
        elif dry_run:
            click.echo(f"== {one.channel.name} (since {window}): {one.digest.subject}\n\n{one.digest.text}")
        else:
            click.echo(f"== {one.channel.name}: owed {one.digest.subject!r} (since {window})")
    if delivery is not None:
        click.echo(f"alerts: {delivery.sent} sent, {delivery.failed} failed, {delivery.held} held"
                   + (f", {delivery.dead} dead" if delivery.dead else ""))
        for error in delivery.errors:
            click.echo(f"  alert failure: {error}")
        for note in delivery.notes:
            click.echo(f"  partly refused: {note}")


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
    with app.open_store(settings) as store:
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
                   f"attempts {entry.attempts}, {timing}: {entry.subject}")
        if entry.last_error:
            click.echo(f"    {'refused' if entry.status == 'sent' else 'last error'}: {entry.last_error}")


outbox.add_command(outbox_list)


@command(outbox, "retry")
@click.argument("entry_id", type=int, metavar="ID")
def outbox_retry(settings: Settings, entry_id: int) -> None:
    """Owe dead letter ID again: the next run or digest sends it, with a fresh count of attempts."""
    with app.open_store(settings) as store:
        revived = store.revive(entry_id)
    if not revived:
        raise click.ClickException(f"outbox: #{entry_id} is not a dead letter (see `newswatch outbox`)")
    click.echo(f"outbox: #{entry_id} owed again")


@command(outbox, "drop")
@click.argument("entry_id", type=int, metavar="ID")
def outbox_drop(settings: Settings, entry_id: int) -> None:
    """Give up message ID (dead, failed or pending): it is kept as dropped and never sent."""
    with app.open_store(settings) as store:
        dropped = store.drop(entry_id)
    if not dropped:
        raise click.ClickException(f"outbox: #{entry_id} is not owed nor dead (see `newswatch outbox --all`)")
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
    with app.open_store(settings) as store:
        statuses = feed_statuses(settings, store)
    if as_json:
        click.echo(json.dumps([status.as_json() for status in statuses], indent=2))
        return
    for s in statuses:
        click.echo(f"{s.name} <{s.url}>: {s.health.upper() if s.health == 'unhealthy' else s.health}, {s.items_stored} items, "
                   f"last success {_when(s.last_success_at)}, last new item {_when(s.last_new_item_at)}")
        if s.last_error:
            click.echo(f"    last error ({s.consecutive_failures} failures in a row): {s.last_error}")
        if s.next_attempt_at:
            click.echo(f"    next attempt {_when(s.next_attempt_at)}")


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
@click.argument("item_id", type=int)
@click.argument("topic", type=click.Choice([*TOPICS, "none"]))
@click.argument("answer", type=click.Choice(["yes", "no"]), required=False)
@_author_option
def label(settings: Settings, item_id: int, topic: str, answer: str | None, author: str) -> None:
    """Label stored item ITEM_ID (the id digests show): TOPIC yes|no, or `none` for about neither topic."""
    if (topic == "none") != (answer is None):
        raise click.UsageError("give TOPIC yes|no, or `none` alone (about neither topic)")
    with app.open_store(settings) as store:
        added = label_stored_item(store, item_id, None if topic == "none" else topic, answer == "yes", author, utcnow())
    click.echo(f"item {item_id}: {added} label(s) recorded" if added else f"item {item_id}: already labeled so")


@main.group("labels")
def labels_group() -> None:
    """Import and export analysts' labels (the labeled-item JSON Lines of TOPICS.md)."""


@command(labels_group, "import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@_author_option
def labels_import(settings: Settings, source: Any, author: str) -> None:
    """Import every labeled item of FILE; a malformed line imports nothing; a repeat import adds nothing."""
    with app.open_store(settings) as store:
        added = import_labels(store, source, _name(source), author, utcnow())
    click.echo(f"{_name(source)}: {added} label(s) added")


@command(labels_group, "export")
def labels_export(settings: Settings) -> None:
    """Print the labels in force as labeled-item JSON Lines (readable by `labels import`)."""
    with app.open_store(settings) as store:
        records = export_records(store.latest_labels())
    for record in records:
        click.echo(json.dumps(record, ensure_ascii=False))


@command(main, "train")
@click.option("--force", is_flag=True, help="Promote the candidate even if it is worse than the current model.")
@click.option("--dry-run", is_flag=True, help="Promote nothing; list the stored items whose tags would change.")
def train(settings: Settings, force: bool, dry_run: bool) -> None:
    """Train a candidate on seeds + labels, compare it with the current model, promote it if not worse."""
    with app.open_store(settings) as store:
        report = app.train(settings, store, force=force, dry_run=dry_run)
    candidate = report.candidate
    click.echo(f"evaluated on {report.evaluated_on}")
    click.echo(f"{'topic':<18}{'current F1':>11}{'candidate P':>12}{'R':>7}{'F1':>7}{'threshold':>10}")
    for topic in TOPICS if candidate.candidate_metrics else ():
        new = candidate.candidate_metrics["topics"][topic]
        old = f"{candidate.current_metrics['topics'][topic]['f1']:.3f}" if candidate.current_metrics else "-"
        click.echo(f"{topic:<18}{old:>11}{new['precision']:>12.3f}{new['recall']:>7.3f}{new['f1']:>7.3f}"
                   f"{candidate.metadata['thresholds'][topic]:>10.2f}")
    old_macro = f"{candidate.current_metrics['macro_f1']:.3f}" if candidate.current_metrics else "-"
    if candidate.candidate_metrics:
        click.echo(f"{'macro-F1':<18}{old_macro:>11}{'':>26}{candidate.candidate_metrics['macro_f1']:.3f}")
    click.echo(f"cross-validation macro-F1 (all training data): "
               f"{candidate.metadata['metrics']['cross_validation']['macro_f1']:.3f}")
    click.echo(f"gate: {candidate.reason}")
    if dry_run:
        click.echo(f"dry run: nothing promoted; {len(report.changes)} stored item(s) would change tags")
        for change in report.changes:
            click.echo(f"  {change.item.id}: {list(change.before)} -> {list(change.after)}  {change.item.title}")
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
    """Every stored model version with its date, training data and metrics; * marks the one in service."""
    models = app.registry(settings)
    current = models.current_version()
    for meta in models.versions():
        metrics = meta.get("metrics", {})
        held_out = metrics.get("held_out", {}).get("macro_f1")
        cv = metrics.get("cross_validation", {}).get("macro_f1")
        click.echo(f"{'*' if meta['version'] == current else ' '} {meta['version']:<5} {meta.get('created_at', '?')}"
                   f"  {meta.get('trained_on', '?'):<13} examples {meta.get('training_examples', '?'):<5}"
                   f" cv-F1 {cv if cv is not None else '-'}  held-out-F1 {held_out if held_out is not None else '-'}"
                   f"  thresholds {meta.get('thresholds')}  data {str(meta.get('training_data_hash', ''))[:12]}"
                   f"  sklearn {meta.get('sklearn_version', '?')}")


@command(models_group, "rollback")
@click.argument("version", required=False)
def models_rollback(settings: Settings, version: str | None) -> None:
    """Put VERSION (default: the version before the one in service) back in service."""
    click.echo(f"{app.rollback(settings, version)} is in service")


@command(main, "review")
@click.option("--limit", "-n", default=10, show_default=True, help="How many items to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines instead of prompting.")
@_author_option
def review(settings: Settings, limit: int, as_json: bool, author: str) -> None:
    """Stored items the model is least sure about; on a terminal, label each: y(es) n(o) s(kip) q(uit)."""
    with app.open_store(settings) as store:
        entries = app.review_queue(settings, store, limit)
        interactive = not as_json and sys.stdin.isatty()
        for entry in entries:
            item = entry.item
            if not interactive:
                line = {"id": item.id, "title": item.title, "url": item.url, "topic": entry.topic,
                        "score": entry.score, "threshold": entry.threshold,
                        "label": f"newswatch label {item.id} {entry.topic} yes|no"}
                click.echo(json.dumps(line, ensure_ascii=False) if as_json else
                           f"{item.id}  {entry.topic} {entry.score:.2f} (threshold {entry.threshold:.2f})  {item.title}")
                continue
            click.echo(f"\n[{item.id}] {item.title}\n{(item.summary or item.text)[:300]}")
            answer = click.prompt(f"about {entry.topic}? (score {entry.score:.2f}) y/n/s/q",
                                  type=click.Choice(["y", "n", "s", "q"]), show_choices=False)
            if answer == "q":
                break
            if answer != "s":
                label_stored_item(store, item.id, entry.topic, answer == "y", author, utcnow())  # type: ignore[arg-type]

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
        raise click.ClickException(str(exc)) from None
    click.echo(f"newswatch web on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(application, host=host, port=port, log_level="warning")
