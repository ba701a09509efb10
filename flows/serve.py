"""`newswatch serve`: run the monitor, digest and retrain flows on the schedules in the config.

Prefect's ephemeral mode refuses schedules, so this talks to the Prefect API in ``$PREFECT_API_URL``
when set and otherwise starts ``prefect server start`` itself (its SQLite under ``<data dir>/prefect``,
on a free loopback port, telemetry off, its UI told that port), waits until it is healthy, and stops it
on exit. The monitor flow runs once at start, then on its schedule. Ctrl-C or SIGTERM stops the runner cleanly and
leaves the schedules active (not paused) for the next start.

The command joins the ``newswatch`` CLI through the ``newswatch.commands`` entry point group, so the
Prefect-free core never imports this module.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import click
import requests
from prefect import Flow
from prefect.deployments import run_deployment
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.exceptions import TerminationSignal
from prefect.runner import Runner
from prefect.schedules import Cron
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_HOME,
    PREFECT_SERVER_ANALYTICS_ENABLED,
    PREFECT_SERVER_UI_ENABLED,
    PREFECT_UI_URL,
    temporary_settings,
)

from newswatch.cli import command
from newswatch.config import Schedule, Settings

from .digest import digest
from .monitor import monitor
from .retrain import retrain

log = logging.getLogger(__name__)
SERVER_START_TIMEOUT = 180.0  # a fresh PREFECT_HOME migrates its database first: slow on a busy machine


class ServerError(RuntimeError):
    """The local Prefect server did not come up."""


def deployment_name(flow: Flow) -> str:
    return f"newswatch-{flow.name}"


MONITOR = deployment_name(monitor)


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """One deployment per enabled schedule, each running its flow on the same config file."""
    parameters = {"config": str(settings.source)} if settings.source else {}
    flows: list[tuple[Flow, Schedule]] = [(monitor, settings.schedules.monitor), (digest, settings.schedules.digest),
                                          (retrain, settings.schedules.retrain)]
    return [flow.to_deployment(name=deployment_name(flow), parameters=parameters,
                               entrypoint_type=EntrypointType.MODULE_PATH, **_timing(schedule, settings))
            for flow, schedule in flows if schedule.enabled]


def _timing(schedule: Schedule, settings: Settings) -> dict:
    if schedule.every is not None:
        return {"interval": timedelta(seconds=schedule.every)}
    return {"schedule": Cron(schedule.cron, timezone=settings.digest.timezone)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The server is started through this stub, which asks Linux to SIGTERM it when its parent (serve) dies and then
# becomes the server (exec keeps the request): a serve killed outright (SIGKILL, the OOM killer) would otherwise
# leave its server running for good, holding a port and the Prefect database. Elsewhere the stub just execs.
_EXEC_DYING_WITH_PARENT = """
import ctypes, os, signal, sys
if sys.platform.startswith("linux"):
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != int(sys.argv[1]):  # the parent died before the request was made
        sys.exit(1)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


@contextmanager
def local_prefect_server(home: Path, timeout: float = SERVER_START_TIMEOUT) -> Iterator[str]:
    """Start ``prefect server start`` on a free loopback port; yield its API URL once healthy; stop it."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    # The UI asks the server's /ui-settings where the API is; left alone, that answer is built from
    # PREFECT_SERVER_API_PORT (4200), not --port, and every page of the UI fails to reach the API.
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port),
           "PREFECT_API_URL": api_url, "PREFECT_UI_API_URL": api_url, "PREFECT_UI_URL": ui_address(api_url)}
    with open(home / "server.log", "ab") as server_log:
        # its own session: a Ctrl-C in the terminal reaches serve, which then stops the server in order
        server = subprocess.Popen([sys.executable, "-c", _EXEC_DYING_WITH_PARENT, str(os.getpid()),
                                   "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_healthy(server, api_url, timeout, home / "server.log")
        yield api_url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def ui_address(api_url: str) -> str:
    """Where a Prefect server's UI is, given its API URL (the UI is served at the root)."""
    return api_url.removesuffix("/").removesuffix("/api")


def _wait_until_healthy(server: subprocess.Popen, api_url: str, timeout: float, server_log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServerError(f"the Prefect server exited with code {server.returncode}; see {server_log}")
        try:
            if requests.get(f"{api_url}/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise ServerError(f"the Prefect server did not become healthy within {timeout:.0f}s; see {server_log}")


@contextmanager
def prefect_api(settings: Settings) -> Iterator[str]:
    """The Prefect API to schedule on: $PREFECT_API_URL, else a local server under the data dir."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        yield configured
        return
    home = Path(os.environ.get("PREFECT_HOME") or settings.data_dir / "prefect")
    with local_prefect_server(home) as api_url:
        # flow runs are child processes of the runner: they find the API in the environment
        os.environ["PREFECT_API_URL"] = api_url
        try:
            with temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_UI_URL: ui_address(api_url),
                                             PREFECT_HOME: str(home)}):
                yield api_url
        finally:
            del os.environ["PREFECT_API_URL"]


class _Runner(Runner):
    def handle_sigterm(self, *args: object, **kwargs: object) -> None:
        # Prefect's handler calls the runner's synchronous stop() from the event loop's own thread, which leaves its
        # stop coroutine never awaited (a RuntimeWarning on every `systemctl stop`) and exits past the clean-up
        # below; a SIGTERM now takes Ctrl-C's way out (KeyboardInterrupt out of asyncio.run), one clean stop for both
        raise KeyboardInterrupt


def serve_schedules(settings: Settings) -> None:
    """Serve the scheduled deployments until interrupted (Ctrl-C or SIGTERM); monitor runs once at start.

    This is ``prefect.serve`` (a Runner polling for its deployments' runs) plus the start-up run, which
    needs the deployment's id between registering and polling.
    """
    with temporary_settings(updates={PREFECT_SERVER_ANALYTICS_ENABLED: False}), prefect_api(settings) as api_url:
        runner = _Runner(pause_on_shutdown=False)
        served = {deployment.name: runner.add_deployment(deployment) for deployment in deployments(settings)}
        if MONITOR in served:
            # an interval's first scheduled run is one interval away: the first cycle should not wait for it
            run_deployment(served[MONITOR], timeout=0, flow_run_name="monitor-at-start")
        click.echo(f"newswatch serve: Prefect API {api_url}; serving {', '.join(served)}", err=True)
        if PREFECT_SERVER_UI_ENABLED.value():
            click.echo(f"newswatch serve: Prefect UI {PREFECT_UI_URL.value()}", err=True)
        try:
            asyncio.run(runner.start())
        except (KeyboardInterrupt, TerminationSignal):
            pass
    click.echo("newswatch serve: stopped", err=True)


@command(None, "serve")
def serve(settings: Settings) -> None:
    """Run monitor, digest and retrain on the schedules in [schedules] until Ctrl-C (starts Prefect if needed)."""
    try:
        serve_schedules(settings)
    except ServerError as exc:
        raise click.ClickException(str(exc)) from None
