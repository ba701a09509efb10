"""`newswatch serve` starts its own Prefect server (its UI pointed at it), runs monitor at once and then
monitor and digest on schedule, stops on Ctrl-C and on SIGTERM."""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests
from click.testing import CliRunner

from newswatch.cli import main
from newswatch.store import Store

from synthetic_feeds import feeds_config


def test_serve_is_a_newswatch_command_with_help():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "schedules" in result.output


def test_deployments_follow_the_schedules_in_the_config(tmp_path):
    from flows.serve import deployments
    from newswatch.config import load_settings

    config = tmp_path / "newswatch.toml"
    config.write_text('[digest]\ncron = "30 6 * * *"\ntimezone = "Asia/Seoul"\n[schedules.retrain]\nenabled = false\n')
    served = {d.name: d for d in deployments(load_settings(config, env={}))}
    assert set(served) == {"newswatch-monitor", "newswatch-digest"}
    [monitor] = served["newswatch-monitor"].schedules
    [digest] = served["newswatch-digest"].schedules
    assert monitor.schedule.interval.total_seconds() == 60
    assert (digest.schedule.cron, digest.schedule.timezone) == ("30 6 * * *", "Asia/Seoul")
    assert served["newswatch-digest"].parameters == {"config": str(config)}


def flow_runs(prefect_db):
    """(flow name, run name, state) of every flow run the local Prefect server recorded."""
    if not prefect_db.exists():
        return []
    with sqlite3.connect(f"file:{prefect_db}?mode=ro", uri=True, timeout=5) as conn:
        try:
            return conn.execute("select flow.name, flow_run.name, flow_run.state_type from flow_run "
                                "join flow on flow.id = flow_run.flow_id").fetchall()
        except sqlite3.OperationalError:  # the server is still creating its tables
            return []


def wait_for_line(output: list[str], pattern: str, serve: subprocess.Popen, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and serve.poll() is None:
        for line in list(output):
            if found := re.search(pattern, line):
                return found
        time.sleep(0.2)
    pytest.fail(f"serve printed no line matching {pattern!r}:\n" + "".join(output))


@pytest.mark.timeout(420)
def test_serve_runs_monitor_at_start_and_on_schedule_shows_a_working_ui_and_stops_cleanly(
        data_dir, seed_models, feed_server, smtp_server, feeds_dir, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    feed_server.add_file("korea.xml", (feeds_dir / "korea.xml").read_bytes())
    config = tmp_path / "newswatch.toml"
    config.write_text(feeds_config([feed_server.url("korea.xml")], smtp_server.apprise_url()) + """
[schedules.monitor]
every = 3600
[schedules.digest]
every = 20
[schedules.retrain]
enabled = false
""")
    env = {key: value for key, value in os.environ.items()
           if key not in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_PROFILES_PATH", "PREFECT_PROFILE")}
    env.update(PREFECT_RUNNER_POLL_FREQUENCY="2", PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
               PREFECT_LOGGING_LEVEL="INFO")
    serve = subprocess.Popen([sys.executable, "-m", "newswatch", "serve", "--config", str(config)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(serve.stdout), daemon=True)
    reader.start()
    prefect_db = data_dir / "prefect" / "prefect.db"
    try:
        api_url = wait_for_line(output, r"Prefect API (http://127\.0\.0\.1:\d+/api)", serve, 240)[1]
        ui_url = wait_for_line(output, r"Prefect UI (http://\S+)", serve, 10)[1]
        assert ui_url == api_url.removesuffix("/api"), "the UI is served by the same server"
        # every page of the UI asks /ui-settings where the API is: it must be this server, not :4200
        assert requests.get(f"{ui_url}/ui-settings", timeout=10).json()["api_url"] == api_url
        assert "<html" in requests.get(ui_url, timeout=10).text.lower()
        at_start = [run for run in flow_runs(prefect_db) if run[0] == "monitor"]
        assert at_start, "a monitor run is created at start, not one interval (here an hour) later"

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and serve.poll() is None:
            completed = {name for name, _, state in flow_runs(prefect_db) if state == "COMPLETED"}
            if {"monitor", "digest"} <= completed:
                break
            time.sleep(1)
        assert serve.poll() is None, "".join(output)
        assert {"monitor", "digest"} <= completed, f"completed runs: {completed}\n" + "".join(output)
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            returncode = serve.wait(timeout=90)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
            reader.join(timeout=5)
            pytest.fail("serve did not stop within 90 s of SIGINT; its output:\n" + "".join(output))
        reader.join(timeout=5)
    log = "".join(output)
    assert returncode == 0, log
    assert "newswatch serve: stopped" in log and "Traceback" not in log
    # the hourly schedule's runs lie in the future: the monitor run that ran is the one made at start
    assert [name for flow, name, state in flow_runs(prefect_db)
            if flow == "monitor" and state == "COMPLETED"] == ["monitor-at-start"]
    assert "feeds: 1 ok, 0 failed" in log, "the Prefect logs carry the cycle summary"

    store = Store.open(f"sqlite:///{data_dir / 'newswatch.db'}")
    assert [row.items_stored for row in store.feed_rows()] == [8]
    assert {entry.status for entry in store.outbox_entries()} == {"sent"}
    store.close()
    assert len(smtp_server.wait_for(2, timeout=1)) == 1, "later runs found nothing new and sent nothing"
    with sqlite3.connect(prefect_db) as conn:
        schedules = conn.execute("select active from deployment_schedule").fetchall()
        paused = conn.execute("select paused from deployment").fetchall()
    assert schedules and all(active for (active,) in schedules), "schedules were left paused"
    assert not any(flag for (flag,) in paused)


@pytest.mark.timeout(180)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the server dies with serve through Linux's prctl")
def test_the_local_prefect_server_dies_with_a_serve_that_is_killed_outright(tmp_path):
    """SIGKILL gives serve no chance to stop its server: the kernel does (PR_SET_PDEATHSIG)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_PROFILES_PATH", "PREFECT_PROFILE")}
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom flows.serve import local_prefect_server\n"
                               "with local_prefect_server(Path(sys.argv[1])) as api:\n"
                               "    print(api, flush=True)\n    time.sleep(600)\n", str(tmp_path / "prefect")],
        env=env, stdout=subprocess.PIPE, text=True)
    try:
        api_url = holder.stdout.readline().strip()
        assert requests.get(f"{api_url}/health", timeout=10).ok
        [server] = [int(pid) for pid in open(f"/proc/{holder.pid}/task/{holder.pid}/children").read().split()]
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and os.path.exists(f"/proc/{server}"):
        time.sleep(0.5)
    alive = os.path.exists(f"/proc/{server}") and open(f"/proc/{server}/stat").read().split()[2] != "Z"
    if alive:
        os.kill(server, signal.SIGKILL)
    assert not alive, "the Prefect server outlived the serve that started it"


@pytest.mark.timeout(300)
def test_serve_stops_cleanly_on_sigterm_as_a_service_manager_stops_it(data_dir, seed_models, feed_server, feeds_dir,
                                                                      tmp_path):
    """`systemctl stop` and `docker stop` send SIGTERM: the same clean stop as Ctrl-C, exit code 0, nothing left
    running (Prefect's own handler left a coroutine never awaited and skipped serve's clean-up)."""
    shutil.copytree(seed_models, data_dir / "models")
    feed_server.add_file("korea.xml", (feeds_dir / "korea.xml").read_bytes())
    config = tmp_path / "newswatch.toml"
    config.write_text(feeds_config([feed_server.url("korea.xml")], None) + """
[schedules.monitor]
every = 3600
[schedules.digest]
enabled = false
[schedules.retrain]
enabled = false
""")
    env = {key: value for key, value in os.environ.items()
           if key not in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_PROFILES_PATH", "PREFECT_PROFILE")}
    env.update(PREFECT_RUNNER_POLL_FREQUENCY="2", PREFECT_LOGGING_LEVEL="INFO")
    serve = subprocess.Popen([sys.executable, "-m", "newswatch", "serve", "--config", str(config)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(serve.stdout), daemon=True)
    reader.start()
    try:
        wait_for_line(output, r"Flow run 'monitor-at-start' - Finished in state Completed", serve, 240)
        server = [int(pid) for pid in open(f"/proc/{serve.pid}/task/{serve.pid}/children").read().split()]
        serve.send_signal(signal.SIGTERM)
        returncode = serve.wait(timeout=90)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        reader.join(timeout=5)
    log = "".join(output)
    assert returncode == 0, log
    assert "newswatch serve: stopped" in log, log
    assert "never awaited" not in log and "Traceback" not in log, log
    assert not any(os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z"
                   for pid in server), "the local Prefect server was left running"
