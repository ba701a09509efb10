"""CPU-bound work in forked worker processes: an ordered map over a stream of batches (``forked_map``), and
calls from many threads (``WorkerProcesses``), so that pure-Python work uses every core."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator, TypeVar

log = logging.getLogger(__name__)

Context = TypeVar("Context")
Batch = TypeVar("Batch")
Result = TypeVar("Result")

_worker_context: list[Any] = []


def _exit_with_parent() -> None:
    """Ends this worker as soon as the process that forked it is gone (killed, say), from a watching thread:
    a worker waits for its next call on a pipe whose writing end it holds itself, so it would never notice."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _start_worker(context: Any) -> None:
    # What the worker was forked with is never garbage: kept out of its collections, whose passes over every object
    # would copy each page they touch (the pages are shared with the parent until written)
    gc.freeze()
    _exit_with_parent()
    _worker_context[:] = [context]


def _call(function: Callable[[Any, Any], Any], batch: Any) -> Any:
    return function(_worker_context[0], batch)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _forked_pool(processes: int, context: Any = None) -> ProcessPoolExecutor:
    # Forked, not spawned: a worker starts in milliseconds with the parent's modules (and a loaded model)
    # in memory, where a spawned one takes seconds to import them again.
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker,
                               initargs=(context,))


def forked_map(function: Callable[[Context, Batch], Result], context: Context, batches: Iterable[Batch],
               jobs: int) -> Iterator[Result]:
    """``function(context, batch)`` for each batch, in order, in ``jobs`` worker processes.

    The workers are forked, so they start with ``context`` (a loaded model) in memory instead of
    receiving a copy with every batch; ``function`` must be a module-level function. The next
    batches are read while earlier ones are worked on, at most two per worker in flight, so memory
    stays bounded on any length of stream. An error raised while reading the stream comes after the
    results of the batches before it. With one job, or where processes cannot be forked, all runs
    here.
    """
    if jobs <= 1 or not _can_fork():
        yield from (function(context, batch) for batch in batches)
        return
    with _forked_pool(jobs, context) as pool:
        pending: deque[Future[Result]] = deque()
        stream = iter(batches)
        while True:
            try:
                batch = next(stream)
            except StopIteration:
                break
            except Exception:
                while pending:
                    yield pending.popleft().result()
                raise
            pending.append(pool.submit(_call, function, batch))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class WorkerProcesses:
    """``call(function, *args)`` runs a module-level function in one of ``processes`` forked workers and returns
    (or raises) what it does; any number of threads may call at once, each waiting only for its own call.

    Used as a context manager, entered before the caller starts its own threads: every worker is forked
    there, from one thread, so no lock that another thread of ours holds is copied into a worker. With no
    processes, or where processes cannot be forked, calls run in the calling thread; so do they when the
    workers cannot be started (a process limit reached) or one of them dies (killed for its memory, say): the
    call it was on and those after it run in the calling threads, and the rest of the run goes on.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes if _can_fork() else 0
        self._pool: ProcessPoolExecutor | None = None
        self._broken = threading.Event()

    def __enter__(self) -> WorkerProcesses:
        if self.processes > 0:
            self._pool = _forked_pool(self.processes)
            try:
                self._pool.submit(os.getpid).result()  # the first call forks all the workers, here and now
            except (OSError, BrokenProcessPool) as exc:
                log.warning("no worker processes (%s): the calls run in the calling threads", exc)
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def call(self, function: Callable[..., Result], *args: Any) -> Result:
        pool = self._pool
        if pool is None:
            return function(*args)
        try:
            return pool.submit(function, *args).result()
        except BrokenProcessPool:  # raised by submit too, where the pool noticed the death before this call
            if not self._broken.is_set():
                self._broken.set()
                log.warning("a worker process died; the calls left run in the calling threads")
            return function(*args)
