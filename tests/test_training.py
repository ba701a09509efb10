"""Labels → train → gate → promote → rollback, and refusing model files that cannot be trusted."""

from __future__ import annotations

import json
import pickle
import shutil
from datetime import datetime, timezone

import numpy as np
import pytest
from click.testing import CliRunner

from classifiers.registry import ModelFileError, OutdatedModelError, Registry, TopicsChangedError
from classifiers.train import train_candidate
from newswatch import app
from newswatch.analyst_labels import export_records, import_labels
from newswatch.cli import main
from newswatch.config import load_settings
from newswatch.labeled_items import LabeledFileError, seed_corpus
from newswatch.models import Feed, Item
from shipped_topics import NAMES

# Trainings on every seed take 10-40 s each on a busy two-core machine; some tests run two.
pytestmark = pytest.mark.timeout(600)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
RECORDS = [
    {"id": "l1", "title": "Putin and Kim sign defence pact in Pyongyang", "topics": ["russia_dprk"]},
    {"id": "l2", "title": "US and South Korea begin Freedom Shield drills", "topics": ["alliance_drills"]},
    {"id": "l3", "title": "Stock markets rally in Tokyo", "topics": []},
]


@pytest.fixture
def settings(data_dir, seed_models):
    shutil.copytree(seed_models, data_dir / "models")
    return load_settings(env={"NEWSWATCH_HOME": str(data_dir)})


@pytest.fixture
def store(settings):
    store = app.open_store(settings)
    yield store
    store.close()


def lines(records):
    return [json.dumps(r) + "\n" for r in records]


def test_import_is_idempotent_and_exports_what_it_read(store):
    assert import_labels(store, lines(RECORDS), "a.jsonl", "ana", NOW, NAMES).labels == 6
    assert import_labels(store, lines(RECORDS), "a.jsonl", "ana", NOW, NAMES).labels == 0
    exported = {r["id"]: r["topics"] for r in export_records(store.latest_labels(), NAMES)}
    assert exported == {"l1": ["russia_dprk"], "l2": ["alliance_drills"], "l3": []}


def test_exported_labels_say_their_language(store):
    records = [{"id": "ko", "title": "북러 정상, 평양서 포괄적 전략적 동반자 관계 조약 서명", "topics": ["russia_dprk"]},
               {"id": "ru", "title": "Путин и Ким Чен Ын подписали договор в Пхеньяне", "topics": ["russia_dprk"]},
               *RECORDS[:1]]
    import_labels(store, lines(records), "a.jsonl", "ana", NOW, NAMES)
    assert {r["id"]: r["lang"] for r in export_records(store.latest_labels(), NAMES)} == {"ko": "ko", "ru": "ru", "l1": "en"}


def test_malformed_label_file_names_the_line_and_imports_nothing(store):
    bad = lines(RECORDS[:2]) + ['{"title": "x", "topics": ["weather"]}\n']
    with pytest.raises(LabeledFileError, match=r"bad.jsonl:3: unknown topic"):
        import_labels(store, bad, "bad.jsonl", "ana", NOW, NAMES)
    assert store.latest_labels() == []


def test_cli_labels_a_stored_item_and_the_latest_label_wins(settings, store):
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    [item] = store.insert_new(feed_id, [Item(key="k", title="Lavrov visits Pyongyang")], NOW)
    runner = CliRunner()
    assert runner.invoke(main, ["label", str(item.id), "russia_dprk", "yes", "--author", "ana"]).exit_code == 0
    result = runner.invoke(main, ["label", str(item.id), "none", "--author", "bo"])
    assert result.exit_code == 0, result.output
    assert {(l.topic, l.value, l.author) for l in store.latest_labels()} == {
        ("russia_dprk", False, "bo"), ("alliance_drills", False, "bo")}
    assert "no stored item" in runner.invoke(main, ["label", "999", "none"]).output


def test_gate_keeps_a_worse_candidate():
    corpus = seed_corpus(NAMES)[:120]
    held_out = np.zeros(len(corpus), dtype=bool)
    held_out[-30:] = True

    class Perfect:
        def predict(self, texts):
            from classifiers.train import indicator
            return indicator(corpus[-30:], NAMES)

    candidate = train_candidate(corpus, NAMES, held_out, Perfect(), margin=0.0, folds=2)
    assert not candidate.promote and candidate.reason.startswith("refused: worse beyond noise")
    assert train_candidate(corpus, NAMES, held_out, None, margin=0.0, folds=2).promote


def test_train_force_promotes_and_rollback_restores(settings, store):
    """End to end on a data dir: labels in, a candidate with nothing new to judge it on is kept,
    --force promotes it, rollback puts the seed model back."""
    registry = app.registry(settings)
    seed_version = registry.current_version()
    runner = CliRunner()
    result = runner.invoke(main, ["train"])
    assert result.exit_code == 0, result.output
    assert "kept" in result.output and registry.current_version() == seed_version
    result = runner.invoke(main, ["train", "--force"])
    assert "promoted" in result.output and "(forced)" in result.output, result.output
    promoted = registry.current_version()
    meta = registry.load(promoted).metadata
    assert {"training_data_hash", "sklearn_version", "thresholds", "metrics"} <= set(meta)
    assert "* " + promoted in runner.invoke(main, ["models", "list"]).output
    assert runner.invoke(main, ["models", "rollback"]).exit_code == 0
    assert registry.current_version() == seed_version


def _tamper_untrusted(path):
    import skops.io as sio
    path.write_bytes(sio.dumps({"f": np.linalg.norm}))


@pytest.mark.parametrize("tamper", [
    _tamper_untrusted,
    lambda path: path.write_bytes(path.read_bytes()[:2000]),
    lambda path: path.write_bytes(pickle.dumps({"not": "a model"})),
], ids=["untrusted-type", "truncated", "pickle"])
def test_tampered_model_is_refused_and_the_previous_stays_in_service(settings, tamper):
    registry = app.registry(settings)
    previous = registry.current_version()
    model = registry.load(previous)
    version = registry.save(model.estimator, model.metadata)
    tamper(registry.root / f"{version}.skops")
    with pytest.raises(ModelFileError, match=version):
        registry.promote(version)
    assert registry.current_version() == previous
    (registry.root / "CURRENT").write_text(version)  # tampered after it went into service
    assert app.current_model(settings).version == previous


def test_a_model_an_earlier_newswatch_wrote_is_replaced_by_one_trained_on_seeds_and_labels(settings, store, caplog):
    registry = app.registry(settings)
    old = registry.current_version()
    metadata_path = registry.root / f"{old}.json"
    written_before_formats = json.loads(metadata_path.read_text())
    del written_before_formats["model_format"]
    metadata_path.write_text(json.dumps(written_before_formats))
    import_labels(store, lines(RECORDS), "a.jsonl", "ana", NOW, NAMES)

    model = app.current_model(settings)
    assert caplog.text.count("written by an earlier newswatch") == 1, "the reason is told once"
    assert model.version != old and registry.current_version() == model.version
    assert model.metadata["trained_on"] == "seeds+labels" and model.metadata["labeled_items"] == len(RECORDS)
    assert (registry.root / f"{old}.skops").exists(), "the old file is kept"
    assert app.current_model(settings).version == model.version, "trained once, then served"


def test_a_model_trained_for_other_topics_is_refused_so_that_a_new_one_is_trained(settings):
    """Refused by what its metadata says, and by the estimator's own ``topics_`` when the metadata does
    not say it; the refusal is one the app answers by training a new model (an OutdatedModelError)."""
    registry = app.registry(settings)
    version = registry.current_version()
    assert registry.load(version).estimator.topics_ == ("russia_dprk", "alliance_drills")
    with pytest.raises(TopicsChangedError, match=r"trained for the topics \['russia_dprk', 'alliance_drills'\]"):
        Registry(registry.root, ("russia_dprk", "alliance_drills", "sanctions")).load(version)
    metadata_path = registry.root / f"{version}.json"
    metadata = json.loads(metadata_path.read_text())
    del metadata["topics"]
    metadata_path.write_text(json.dumps(metadata))
    with pytest.raises(TopicsChangedError):
        Registry(registry.root, ("alliance_drills", "russia_dprk")).load(version)
    assert issubclass(TopicsChangedError, OutdatedModelError)
