"""The monitoring spine end to end: loopback feeds → SQLite → seed model → digest mail on loopback SMTP."""

import json
import shutil

import pytest
from click.testing import CliRunner

from newswatch.cli import CLASSIFY_BATCH, main
from newswatch.config import load_settings
from newswatch.store import Store

RUSSIA_DPRK = "Putin and Kim sign comprehensive strategic partnership treaty in Pyongyang"
DRILLS = "Ulchi Freedom Shield begins; Pyongyang calls allied drill a rehearsal for invasion"
NEITHER = "K-pop group announces world tour"


@pytest.fixture
def monitored(data_dir, database_url, seed_models, feed_server, smtp_server, feeds_dir, tmp_path):
    """A data dir with the seed model, two good feeds, a 404 and a refused connection, one mail channel;
    the store on SQLite and on PostgreSQL."""
    shutil.copytree(seed_models, data_dir / "models")
    for name in ("korea.xml", "world.atom"):
        feed_server.add_file(name, (feeds_dir / name).read_bytes())
    feed_server.route("gone.xml", status=404, body="not here")
    config = tmp_path / "newswatch.toml"
    config.write_text(f"""
        allow_private_addresses = true

        [[feeds]]
        url = "{feed_server.url('korea.xml')}"
        name = "Peninsula Desk"

        [[feeds]]
        url = "{feed_server.url('world.atom')}"
        name = "World Briefing"

        [[feeds]]
        url = "{feed_server.url('gone.xml')}"
        name = "Gone"

        [[feeds]]
        url = "http://127.0.0.1:9/refused.xml"
        name = "Refused"

        [[channels]]
        name = "analyst-mail"
        url = "{smtp_server.apprise_url()}"
        retry_seconds = 0
    """)
    return config


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_cycle_delivers_one_digest_and_a_second_run_sends_nothing(monitored, data_dir, smtp_server, feed_server):
    first = run("run", "--config", str(monitored))
    assert first.exit_code == 0, first.output
    assert "feeds: 2 ok, 2 failed" in first.output
    assert "items: 14 new" in first.output
    assert "alerts: 1 sent, 0 failed" in first.output
    assert "HTTP 404" in first.output and "connection failed" in first.output
    gone = next(line for line in first.output.splitlines() if "gone.xml" in line)
    assert gone.startswith(f"  failed feed Gone <{feed_server.url('gone.xml')}>: HTTP 404")
    assert gone.endswith("(unhealthy: 1 failure in a row, never fetched)"), "why one failure is already unhealthy"

    [mail] = smtp_server.wait_for(1)
    assert "new: Russia–DPRK ties" in mail["Subject"] and "new: alliance drills" in mail["Subject"]
    html = mail.get_body(("html",)).get_content()
    assert RUSSIA_DPRK in html and DRILLS in html and NEITHER not in html
    assert "newswatch label" in html

    digests = sorted(p.suffix for p in (data_dir / "digests").iterdir())
    assert digests == [".html", ".md"]
    assert RUSSIA_DPRK in next((data_dir / "digests").glob("*.md")).read_text()

    second = run("run", "--config", str(monitored))
    assert second.exit_code == 0, second.output
    assert "items: 0 new" in second.output and "alerts: 0 sent" in second.output
    assert len(smtp_server.wait_for(2, timeout=1)) == 1
    conditional = feed_server.requests_for("korea.xml")[-1][2]
    assert "If-None-Match" in conditional or "if-none-match" in {k.lower() for k in conditional}

    settings = load_settings(monitored)
    store = Store.open(settings.database_url)
    rows = {row.name: row for row in store.feed_rows()}
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from items").scalar() == 14
        assert conn.exec_driver_sql("select count(distinct item_id) from predictions").scalar() == 14
    store.close()
    assert rows["Gone"].last_error.startswith("HTTP 404") and rows["Gone"].consecutive_failures == 2
    assert rows["Refused"].last_error.startswith("connection failed")
    assert rows["Peninsula Desk"].last_error is None and rows["Peninsula Desk"].items_stored == 8


def test_mail_channel_down_keeps_the_digest_owed_and_sends_it_once_later(monitored, smtp_server):
    smtp_server.stop()
    down = run("run", "--config", str(monitored))
    assert down.exit_code == 0 and "alerts: 0 sent, 1 failed" in down.output
    smtp_server.start()
    back = run("run", "--config", str(monitored))
    assert "alerts: 1 sent, 0 failed" in back.output
    run("run", "--config", str(monitored))
    assert len(smtp_server.wait_for(2, timeout=1)) == 1


def test_nothing_could_run_exits_nonzero(data_dir, seed_models, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    config = tmp_path / "c.toml"
    config.write_text('allow_private_addresses = true\n[[feeds]]\nurl = "http://127.0.0.1:9/x.xml"\nname = "Refused"\n')
    result = run("run", "--config", str(config))
    assert result.exit_code == 1 and "no feed could be fetched" in result.output


def test_bad_config_is_a_clear_error(data_dir, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[[feeds]]\nname = "no url"\n')
    result = run("run", "--config", str(config))
    assert result.exit_code == 2 and f"{config}: feeds[0].url: is required" in result.output


def test_classify_writes_scores_tags_and_why(data_dir, seed_models, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "title": RUSSIA_DPRK, "topics": ["russia_dprk"]}) + "\n"
                      + json.dumps({"id": "b", "title": "Oil prices slip as OPEC+ delays output increase"}) + "\n")
    result = run("classify", str(source))
    assert result.exit_code == 0, result.output
    first, second = map(json.loads, result.output.splitlines())
    assert first["id"] == "a" and first["topics"] == ["russia_dprk"]
    assert set(first["scores"]) == {"russia_dprk", "alliance_drills"}
    assert first["tags"] == ["russia_dprk"] and first["why"]["russia_dprk"]
    assert second["tags"] == [] and second["why"] == {}


def test_classify_and_evaluate_refuse_a_malformed_line_and_write_nothing(data_dir, seed_models, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    source = tmp_path / "bad.jsonl"
    source.write_text('{"title": "fine", "topics": []}\n{"title": "broken"\n')
    for command in ("classify", "evaluate"):
        result = CliRunner().invoke(main, [command, str(source)])
        assert result.exit_code == 2
        assert f"{source}:2: not valid JSON" in result.output
        assert "fine" not in result.output


def test_classify_streams_batches_and_stops_at_a_bad_line_naming_it(data_dir, seed_models, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    source = tmp_path / "many.jsonl"
    good = [json.dumps({"id": f"i{n}", "title": f"{RUSSIA_DPRK} ({n})"}) for n in range(CLASSIFY_BATCH + 1)]
    source.write_text("\n".join(good + ['{"title": 7}']) + "\n")
    result = CliRunner().invoke(main, ["classify", str(source)])
    assert result.exit_code == 2
    assert f'{source}:{CLASSIFY_BATCH + 2}: "title" is required' in result.output
    printed = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [r["id"] for r in printed] == [f"i{n}" for n in range(CLASSIFY_BATCH)], "the full batch before it"


def test_evaluate_json_has_the_documented_shape(data_dir, seed_models, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    source = tmp_path / "eval.jsonl"
    source.write_text("".join(json.dumps({"title": t, "topics": topics}) + "\n" for t, topics in [
        (RUSSIA_DPRK, ["russia_dprk"]), (DRILLS, ["alliance_drills"]), ("Oil prices slip", [])]))
    result = run("evaluate", str(source), "--json")
    report = json.loads(result.output)
    assert set(report["topics"]) == {"russia_dprk", "alliance_drills"}
    assert set(report["topics"]["russia_dprk"]) == {"precision", "recall", "f1", "f1_interval", "support"}
    assert 0.0 <= report["macro_f1_interval"][0] <= report["macro_f1"] <= report["macro_f1_interval"][1] <= 1.0
    assert report["examples"] == 3 and report["positives"] == {"russia_dprk": 1, "alliance_drills": 1}
    table = run("evaluate", str(source))
    assert "macro-F1" in table.output


def test_every_command_has_help():
    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, path + [name])

    for path, command in walk(main, []):
        assert command.help, f"`newswatch {' '.join(path)}` has no help text"
        assert CliRunner().invoke(main, path + ["--help"]).exit_code == 0
