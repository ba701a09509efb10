"""forked_map: ordered results from forked workers, a bounded stream, errors after what came before.
WorkerProcesses: calls from threads, a worker's death, and no worker outliving its parent."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newswatch.parallel import WorkerProcesses, forked_map


def tagged(context, batch):
    return [f"{context}:{n}" for n in batch], os.getpid()


def failing_stream(batches):
    yield from batches
    raise ValueError("line 7: not valid JSON")


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_come_in_order_with_the_context_each_worker_started_with(jobs):
    batches = [[n, n + 1] for n in range(0, 40, 2)]
    results = list(forked_map(tagged, "model", iter(batches), jobs))
    assert [lines for lines, _ in results] == [[f"model:{n}", f"model:{n + 1}"] for n in range(0, 40, 2)]
    workers = {pid for _, pid in results}
    assert (workers == {os.getpid()}) if jobs == 1 else (os.getpid() not in workers)


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_error_in_the_stream_comes_after_the_results_of_the_batches_before_it(jobs):
    results = forked_map(tagged, "m", failing_stream([[1], [2], [3]]), jobs)
    assert [next(results)[0] for _ in range(3)] == [["m:1"], ["m:2"], ["m:3"]]
    with pytest.raises(ValueError, match="line 7"):
        next(results)



def failing_parse(body):
    raise ValueError(f"not a feed: {body}")


def test_calls_from_many_threads_run_in_the_workers_and_raise_what_the_function_raises():
    with WorkerProcesses(2) as workers, ThreadPoolExecutor(8) as threads:
        pids = set(threads.map(lambda _: workers.call(os.getpid), range(200)))
        assert pids and os.getpid() not in pids
        with pytest.raises(ValueError, match="not a feed: <html>"):
            workers.call(failing_parse, "<html>")


def test_no_processes_runs_each_call_in_the_calling_thread():
    with WorkerProcesses(0) as workers:
        assert workers.call(os.getpid) == os.getpid()


def test_after_a_worker_is_killed_the_calls_run_in_the_calling_threads(caplog):
    with WorkerProcesses(2) as workers:
        os.kill(workers.call(os.getpid), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while workers.call(os.getpid) != os.getpid():  # the pool notices the death within moments
            assert time.monotonic() < deadline
        assert [workers.call(os.getpid) for _ in range(3)] == [os.getpid()] * 3
    assert "a worker process died" in caplog.text


def test_a_worker_death_the_pool_noticed_before_the_next_call_is_reported_too(caplog):
    with WorkerProcesses(2) as workers:
        os.kill(workers.call(os.getpid), signal.SIGKILL)
        time.sleep(1.0)  # the pool marks itself broken: the next call fails at submit, not at its result
        assert workers.call(os.getpid) == os.getpid()
    assert "a worker process died" in caplog.text


def test_workers_that_cannot_be_started_leave_the_calls_to_the_calling_thread(monkeypatch, caplog):
    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    with WorkerProcesses(2) as workers:
        assert workers.call(os.getpid) == os.getpid()
    assert "no worker processes" in caplog.text


PARENT = """
import sys, time
from newswatch.parallel import WorkerProcesses, forked_map

def nap(context, batch):
    time.sleep(600)

if sys.argv[1] == "calls":
    with WorkerProcesses(2):
        print("ready", flush=True)
        time.sleep(600)
else:
    print("ready", flush=True)
    list(forked_map(nap, None, [[1], [2]], 2))
"""


def _children(pid):
    return {int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()}


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads a process's children from Linux's /proc")
@pytest.mark.parametrize("kind", ["calls", "map"])
def test_the_workers_end_when_the_process_that_forked_them_is_killed(kind, tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, kind], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while len(workers := _children(parent.pid)) < 2:
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.05)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 30
    try:
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "a worker outlived the process that forked it"
            time.sleep(0.05)
    finally:
        for pid in filter(_alive, workers):
            os.kill(pid, signal.SIGKILL)
