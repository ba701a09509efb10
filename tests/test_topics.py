"""A third topic through the config's door: a [topics.<name>] table with a title, labels for it, and the model
trained for two topics replaced by one trained for three (instead of an IndexError), tagging new items with it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from newswatch import app
from newswatch.cli import main
from newswatch.config import ConfigError, load_settings
from newswatch.models import Item
from test_ingest import rss, write_config

# Two trainings on every seed take a minute or more on a busy two-core machine.
pytestmark = pytest.mark.timeout(900)

BASEBALL = [
    "Doosan Bears beat LG Twins 5-3 as Yang Eui-ji homers in the eighth inning",
    "KBO: Kia Tigers ace strikes out eleven in a complete-game shutout of the Lotte Giants",
    "Samsung Lions rally with four runs in the ninth inning to stun the Kiwoom Heroes",
    "SSG Landers slugger hits his 30th home run of the KBO season at Munhak stadium",
    "Hanwha Eagles pitcher Ryu Hyun-jin throws seven scoreless innings against NC Dinos",
    "KT Wiz clinch a KBO postseason berth behind a grand slam in the sixth inning",
    "LG Twins win the Korean Series after a walk-off double in game five",
    "Lotte Giants sign a left-handed starting pitcher for the new KBO baseball season",
    "Kiwoom Heroes shortstop steals three bases as the team sweeps the Doosan Bears",
    "NC Dinos closer saves both ends of a doubleheader; the bullpen allows one hit in the ninth",
    "KBO baseball attendance tops ten million fans for the second straight season",
    "Kia Tigers batter wins the KBO batting title with a .356 average on the final day",
]
NOT_BASEBALL = [
    "Seoul subway fares rise by 150 won from October",
    "Bank of Korea holds its base rate at 3.5 percent",
    "Heavy rain floods roads in southern Gyeongsang province",
    "Samsung Electronics reports a rise in quarterly chip profits",
    "K-pop group announces a world tour starting in Los Angeles",
    "Health ministry extends the flu vaccination campaign to all adults",
]
NEW_BASEBALL = "Doosan Bears pitcher throws a no-hitter as the KBO baseball season opens at Jamsil stadium"
NEW_OTHER = "Seoul city council approves a new budget for public libraries"


def labeled_file(path, baseball):
    records = ([{"id": f"bb{n}", "title": title, "topics": ["kbo_baseball"]} for n, title in enumerate(baseball)]
               + [{"id": f"other{n}", "title": title, "topics": []} for n, title in enumerate(NOT_BASEBALL)])
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


@pytest.fixture
def third_topic(data_dir, seed_models, feed_server, tmp_path):
    """A data dir with the model trained for the two shipped topics in service, and a config adding a third."""
    shutil.copytree(seed_models, data_dir / "models")
    feed_server.route("sports.xml", body=rss(f"<item><title>{NEW_BASEBALL}</title><guid>s1</guid></item>"
                                             f"<item><title>{NEW_OTHER}</title><guid>s2</guid></item>"))
    config = Path(write_config(tmp_path, {"Sports Desk": feed_server.url("sports.xml")}))
    with config.open("a") as out:
        out.write('[topics.kbo_baseball]\ntitle = "Korean baseball"\n')
    return config


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_a_third_topic_with_labels_retrains_instead_of_crashing_and_tags_items(third_topic, data_dir, tmp_path):
    settings = load_settings(third_topic)
    assert settings.topic_names == ("russia_dprk", "alliance_drills", "kbo_baseball")
    old = app.registry(settings).current_version()

    imported = run("labels", "import", str(labeled_file(tmp_path / "baseball.jsonl", BASEBALL)), "--config", str(third_topic))
    assert imported.exit_code == 0, imported.output

    result = run("run", "--config", str(third_topic))
    assert result.exit_code == 0, result.output
    assert "Korean baseball 1" in result.output  # the run summary counts the new topic's matches by its title
    model = app.current_model(settings)
    assert model.version != old and model.topics == settings.topic_names
    assert model.metadata["trained_on"] == "seeds+labels"

    listed = run("items", "--topic", "kbo_baseball", "--json", "--config", str(third_topic))
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line)["title"] for line in listed.output.splitlines()] == [NEW_BASEBALL]
    [digest] = (data_dir / "digests").glob("*.md")
    assert "Korean baseball (1)" in digest.read_text(encoding="utf-8")


def test_a_topics_seeds_file_trains_it_without_analyst_labels(third_topic, tmp_path):
    labeled_file(tmp_path / "baseball.jsonl", BASEBALL)
    with third_topic.open("a") as config:
        config.write('seeds = "baseball.jsonl"\n')
    settings = load_settings(third_topic)
    assert settings.topics["kbo_baseball"].seeds == tmp_path / "baseball.jsonl"
    model = app.current_model(settings)
    assert model.metadata["trained_on"] == "seeds" and model.topics[-1] == "kbo_baseball"
    [prediction] = model.predict_items([Item(key="new", title=NEW_BASEBALL)])
    assert "kbo_baseball" in prediction.tags


def test_too_few_labels_for_a_new_topic_is_one_line_naming_it_and_what_it_needs(third_topic, tmp_path):
    run("labels", "import", str(labeled_file(tmp_path / "few.jsonl", BASEBALL[:3])), "--config", str(third_topic))
    result = CliRunner().invoke(main, ["train", "--config", str(third_topic)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: cannot train: topic 'kbo_baseball' has 3 positive example(s); training needs at least 4 (1 more): "
        "label items about it (`newswatch label ITEM_ID kbo_baseball yes|no`, `newswatch labels import FILE`) "
        "or name a labeled-item file as `seeds` in [topics.kbo_baseball]"]


@pytest.mark.parametrize("table, message", [
    ("[topics.russia]\nthreshold = 0.5", "topics.russia: unknown topic 'russia' in [topics]; did you mean "
                                        "`russia_dprk`? (known: alliance_drills, russia_dprk); to add a topic, give "
                                        "its table a title"),
    ('[topics.Sports]\ntitle = "Sports"', "topics.Sports: a topic name is lowercase letters"),
    ('[topics.sports]\ntitle = " "', "topics.sports.title: must not be empty"),
    ('[topics.sports]\ntitle = "Sports"\nseeds = "nowhere.jsonl"', "topics.sports.seeds: no such labeled-item file"),
])
def test_a_topic_table_that_cannot_add_a_topic_is_an_error_naming_it(tmp_path, table, message):
    config = tmp_path / "newswatch.toml"
    config.write_text(table)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(config, env={})
