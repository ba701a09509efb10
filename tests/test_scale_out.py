"""The scaled-out engine for real: a local Prefect server, a `process` work pool, the deployments of
prefect.yaml (`prefect deploy --all`) and two `prefect worker` processes running overlapping monitor
cycles on one PostgreSQL store, served by a slow loopback feed server and mailing a real SMTP server.

One worker is killed with SIGKILL in the middle of a cycle, together with the flow run it started (the
machine it runs on dies). The other worker finishes, and a later run, once the dead run's feed leases
have expired, picks up what was left. Afterwards every served item is stored once, classified once and
alerted once.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from newswatch.store import Store

from synthetic_feeds import assert_each_tagged_story_mailed_once, feeds_config, write_feeds

REPO = Path(__file__).resolve().parents[1]
PREFECT = [sys.executable, "-m", "prefect"]
POOL = "newswatch"  # the work pool prefect.yaml deploys to
FEEDS = 48
ITEMS_PER_FEED = 3  # write_feeds' default
FEED_DELAY = 1.0  # seconds per feed response: with 2 fetches per host at once, a cycle fetches for ~12-24 s

pytestmark = pytest.mark.skipif(importlib.util.find_spec("prefect.cli") is None,
                                reason="the prefect CLI is not installed")


@pytest.mark.timeout(600)
def test_two_process_workers_one_killed_mid_cycle_store_classify_and_alert_every_item_once(
        postgres_url, data_dir, seed_models, feed_server, smtp_server, tmp_path, monkeypatch):
    from flows.serve import local_prefect_server

    shutil.copytree(seed_models, data_dir / "models")
    feed_server.delay = FEED_DELAY
    names = write_feeds(feed_server.root, FEEDS)
    config = tmp_path / "newswatch.toml"
    # a short fetch deadline keeps the dead run's feed leases short (2 x deadline + 60 s)
    config.write_text(feeds_config([feed_server.url(n) for n in names], smtp_server.apprise_url())
                      + "[fetch]\ndeadline = 5\n")
    Store.open(postgres_url).close()  # migrate once, so the first runs do not race to create the schema

    # runs are triggered by this test only: no schedule of prefect.yaml may add one in the middle
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED", "false")
    monkeypatch.setenv("PREFECT_UI_ENABLED", "false")
    logs = tmp_path / "logs"
    logs.mkdir()
    started = time.monotonic()

    def step(what: str) -> None:  # the timeline, shown when the test fails
        print(f"{time.monotonic() - started:6.1f}s {what}", flush=True)

    with ExitStack() as stack:
        api = stack.enter_context(local_prefect_server(tmp_path / "prefect-server"))
        env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path / "prefect-client"),
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "1",
               "NEWSWATCH_DATABASE_URL": postgres_url, "NEWSWATCH_CONFIG": str(config),
               "NEWSWATCH_HOME": str(data_dir)}
        step(f"Prefect server up at {api}")
        prefect(env, logs, "work-pool", "create", POOL, "--type", "process")
        step("work pool created")
        workers = [stack.enter_context(Worker(name, env, logs)) for name in ("worker-a", "worker-b")]
        prefect(env, logs, "--no-prompt", "deploy", "--all")
        step("prefect.yaml deployed")
        deployment = api_call("GET", f"{api}/deployments/name/monitor/newswatch-monitor")["id"]

        # three runs at once: each worker takes one (--limit 1), the third waits for a free worker
        first_runs = [start_run(api, deployment) for _ in range(3)]
        step("three monitor runs created")
        victim, killed_run = kill_one_worker_mid_cycle(workers, postgres_url, FEEDS * ITEMS_PER_FEED, logs)
        step(f"{victim} killed with run {killed_run}")
        others = [run for run in first_runs if run != killed_run]
        assert killed_run in first_runs and wait_for_runs(api, others, 240) == {run: "COMPLETED" for run in others}, (
            f"{victim} died with run {killed_run}; the other runs should complete\n{worker_logs(logs)}")

        # the dead run's feed leases expire by themselves; the next cycle fetches those feeds
        step("the other two runs completed")
        wait_until_leases_expire(postgres_url, timeout=120)
        step("the dead run's feed leases expired")
        final = start_run(api, deployment)
        assert wait_for_runs(api, [final], 180) == {final: "COMPLETED"}, worker_logs(logs)
        step("the final run completed")

    check_every_item_stored_classified_and_alerted_once(postgres_url, smtp_server, FEEDS * ITEMS_PER_FEED)


def check_every_item_stored_classified_and_alerted_once(url: str, smtp_server, served: int) -> None:
    store = Store.open(url)
    with store.engine.connect() as conn:
        items, keys = conn.exec_driver_sql("select count(*), count(distinct key) from items").one()
        unclassified = conn.exec_driver_sql(
            "select count(*) from items where id not in (select item_id from predictions)").scalar()
        classified_twice = conn.exec_driver_sql(
            "select count(*) from (select item_id from predictions group by item_id having count(*) > 1) twice"
        ).scalar()
        statuses = [row[0] for row in conn.exec_driver_sql("select status from outbox")]
        tagged = conn.exec_driver_sql(
            "select items.id, items.title, coalesce(items.story_id, items.id) from items"
            " join predictions on predictions.item_id = items.id where tags != '[]'").all()
        # taken by the channel's immediate alerts, or by its digests (at most once each: primary keys)
        owed = {row[0] for row in conn.exec_driver_sql(
            "select item_id from alerted_items union all select item_id from digest_items")}
        failed_feeds = conn.exec_driver_sql("select url, last_error from feeds where last_error is not null").all()
    store.close()
    assert not failed_feeds
    assert (items, keys) == (served, served), f"{items} items stored ({keys} distinct) of {served} served"
    assert (unclassified, classified_twice) == (0, 0), (
        f"{unclassified} stored items never classified, {classified_twice} classified twice")
    assert tagged, "the synthetic feeds carry items on both topics"
    missing = [title for item_id, title, _ in tagged if item_id not in owed]
    assert not missing, f"{len(missing)} tagged items never owed to the channel, e.g. {missing[:3]}"
    assert statuses and set(statuses) == {"sent"}, statuses

    mails = smtp_server.wait_for(len(statuses) + 1, timeout=2)
    assert len(mails) == len(statuses), "one mail per outbox entry, none twice"
    bodies = [mail.get_body(("plain",)).get_content() for mail in mails]

    assert_each_tagged_story_mailed_once(bodies, tagged)


# --------------------------------------------------------------------------------------------------
# The processes: the prefect CLI, workers, and killing one with what it started
# --------------------------------------------------------------------------------------------------


def prefect(env: dict, logs: Path, *args: str) -> None:
    """Run a prefect CLI command from the repository (where prefect.yaml is); fail with its output."""
    done = subprocess.run([*PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    (logs / f"prefect-{args[0].lstrip('-')}.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


class Worker:
    """`prefect worker start` in its own process group, one flow run at a time; killed on exit."""

    def __init__(self, name: str, env: dict, logs: Path):
        self.name = name
        self.log = logs / f"{name}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [*PREFECT, "worker", "start", "--pool", POOL, "--type", "process", "--name", name, "--limit", "1"],
                env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    def flow_runs(self) -> set[str]:
        """The ids of the flow runs this worker started whose processes are still alive (a run's feed-parsing
        workers carry its id too)."""
        return {run for pid in descendants(self.process.pid) if (run := flow_run_id(pid))}

    def kill(self) -> list[int]:
        """SIGKILL the worker's process group and every process it started.

        Prefect 3.8 starts each flow run in a session of its own, so killing the worker's group alone
        would leave its flow run alive, orphaned, finishing its cycle: not what a dead machine does.
        """
        started = descendants(self.process.pid)
        for pid in [self.process.pid, *started]:
            for kill in (lambda: os.killpg(os.getpgid(pid), signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass
        self.process.wait(timeout=10)
        return started


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # the command may hold spaces and parentheses: the parent pid follows the last ")"
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def flow_run_id(pid: int) -> str | None:
    """The id of the flow run a process executes (Prefect's engine gets it in its environment)."""
    try:
        environ = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for variable in environ:
        if variable.startswith(b"PREFECT__FLOW_RUN_ID="):
            return variable.split(b"=", 1)[1].decode()
    return None


def kill_one_worker_mid_cycle(workers: list[Worker], url: str, total: int, logs: Path) -> tuple[str, str]:
    """Once both workers run a cycle and those have stored a quarter of the items but not 3/4, kill one.

    Returns the killed worker's name and the id of the flow run that died with it.
    """
    import psycopg

    deadline = time.monotonic() + 240
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        while time.monotonic() < deadline:
            stored = conn.execute("select count(*) from items").fetchone()[0]
            running = [(worker, runs) for worker in workers if (runs := worker.flow_runs())]
            if len(running) == 2 and total // 4 <= stored < total * 3 // 4:
                victim, runs = running[0]
                victim.kill()
                (logs / "kill.log").write_text(f"killed {victim.name} running {runs}; {stored} of {total} stored\n")
                [run] = runs
                return victim.name, run
            assert stored < total * 3 // 4, f"the cycles stored {stored} items before both were seen running"
            time.sleep(0.05)
    pytest.fail("the two workers never ran a cycle at once\n" + worker_logs(logs))


def api_call(method: str, url: str, **kwargs) -> dict:
    """One Prefect API call. A busy server (its SQLite locked under the workers' polling: 503, or slow to
    answer on a loaded machine) is retried for up to a minute, as Prefect's own client does."""
    deadline = time.monotonic() + 60
    while True:
        try:
            response = requests.request(method, url, timeout=20, **kwargs)
            if response.status_code not in (429, 503) or time.monotonic() > deadline:
                break
            time.sleep(float(response.headers.get("Retry-After") or 1))
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline:
                raise
    response.raise_for_status()
    return response.json()


def start_run(api: str, deployment: str) -> str:
    return api_call("POST", f"{api}/deployments/{deployment}/create_flow_run", json={})["id"]


def run_state(api: str, run: str) -> str:
    return api_call("GET", f"{api}/flow_runs/{run}")["state_type"]


def wait_for_runs(api: str, runs: list[str], timeout: float) -> dict[str, str]:
    """Wait until every run is in a final state (or the time is up); return each one's state."""
    deadline = time.monotonic() + timeout
    while True:
        states = {run: run_state(api, run) for run in runs}
        if time.monotonic() > deadline or not {"SCHEDULED", "PENDING", "RUNNING"} & set(states.values()):
            return states
        time.sleep(0.5)


def wait_until_leases_expire(url: str, timeout: float) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            held = conn.execute("select count(*) from feeds where lease_until > now() at time zone 'utc'").fetchone()[0]
            if not held:
                return
            time.sleep(1)
    pytest.fail("feed leases still held after the dead run")


def worker_logs(logs: Path) -> str:
    return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in sorted(logs.iterdir()))
