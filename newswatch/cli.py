"""The `newswatch` command: parses options, calls the core, turns errors into messages."""

from __future__ import annotations

import functools
import json
import logging
import sys
from typing import Any, Callable

import click

from classifiers.evaluate import metrics
from classifiers.registry import ModelFileError
from classifiers.train import documents, indicator

from . import app
from .config import ConfigError, Settings, load_settings
from .labeled import LabeledFileError, item_from_record, read_labeled_file, read_records
from .models import TOPICS
from .refresh import run_cycle

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
