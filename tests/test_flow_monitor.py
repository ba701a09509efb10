"""The Prefect `monitor` flow runs the same core as `newswatch run` (Prefect in its embedded mode)."""

import shutil

from newswatch.config import load_settings
from newswatch.parsers import parse
from newswatch.store import Store


def test_monitor_flow_runs_a_cycle_and_a_second_run_adds_nothing(prefect_home, data_dir, seed_models, feed_server,
                                                                  smtp_server, feeds_dir, tmp_path):
    from flows.monitor import monitor

    shutil.copytree(seed_models, data_dir / "models")
    feed_server.add_file("korea.xml", (feeds_dir / "korea.xml").read_bytes())
    feed_server.route("broken.xml", status=500, body="oops")
    config = tmp_path / "newswatch.toml"
    config.write_text(f"""
        allow_private_addresses = true
        [[feeds]]
        url = "{feed_server.url('korea.xml')}"
        name = "Peninsula Desk"
        [[feeds]]
        url = "{feed_server.url('broken.xml')}"
        name = "Broken"
        [[channels]]
        name = "mail"
        url = "{smtp_server.apprise_url()}"
    """)

    first = monitor(str(config))
    assert (first["feeds_ok"], first["feeds_failed"], first["items_new"], first["alerts_sent"]) == (1, 1, 8, 1)
    assert first["matches"]["russia_dprk"] >= 2 and first["matches"]["alliance_drills"] >= 2
    second = monitor(str(config))
    assert (second["items_new"], second["alerts_sent"]) == (0, 0)
    assert len(smtp_server.wait_for(2, timeout=1)) == 1

    store = Store.open(load_settings(config).database_url)
    rows = {row.name: row for row in store.feed_rows()}
    store.close()
    assert rows["Broken"].last_error.startswith("HTTP 500") and rows["Broken"].consecutive_failures == 2


def parse_with_a_bug(result, kind="auto"):
    """What a parser bug on one feed's data looks like (module-level: the parsing workers get it by name)."""
    if result.feed_url.endswith("buggy.xml"):
        raise IndexError("list index out of range")
    return parse(result, kind)


def test_a_parser_bug_on_one_feed_is_that_feeds_error_and_the_flow_goes_on(prefect_home, data_dir, seed_models,
                                                                         feed_server, feeds_dir, tmp_path,
                                                                         monkeypatch):
    """The flow runs the core's feed refresh: its per-feed guard, its pool and host limits; nothing re-fetched."""
    from flows.monitor import monitor
    from newswatch import cycle

    shutil.copytree(seed_models, data_dir / "models")
    feed_server.add_file("korea.xml", (feeds_dir / "korea.xml").read_bytes())
    feed_server.add_file("buggy.xml", (feeds_dir / "korea.xml").read_bytes())
    monkeypatch.setattr(cycle, "parse", parse_with_a_bug)
    config = tmp_path / "newswatch.toml"
    config.write_text(f"""
        allow_private_addresses = true
        [fetch]
        per_host = 1
        [[feeds]]
        url = "{feed_server.url('buggy.xml')}"
        name = "Buggy"
        [[feeds]]
        url = "{feed_server.url('korea.xml')}"
        name = "Peninsula Desk"
    """)
    result = monitor(str(config))
    assert (result["feeds_ok"], result["feeds_failed"], result["items_new"], result["classified"]) == (1, 1, 8, 8)
    assert len(feed_server.requests_for("buggy.xml")) == 1 and len(feed_server.requests_for("korea.xml")) == 1
    store = Store.open(load_settings(config).database_url)
    rows = {row.name: row for row in store.feed_rows()}
    store.close()
    assert rows["Buggy"].last_error == "internal error: IndexError: list index out of range"


def test_retrain_flow_trains_gates_and_reports(prefect_home, data_dir, seed_models, tmp_path):
    from flows.retrain import retrain

    shutil.copytree(seed_models, data_dir / "models")
    config = tmp_path / "newswatch.toml"
    config.write_text("")
    result = retrain(str(config))
    assert set(result) == {"promoted", "current", "gate", "estimate"} and result["gate"] and result["estimate"]
    assert result["current"] in (result["promoted"], load_settings(config) and result["current"])
