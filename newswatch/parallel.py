"""An ordered map over a stream of batches, in forked worker processes, for CPU-bound bulk work."""

from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

Context = TypeVar("Context")
Batch = TypeVar("Batch")
Result = TypeVar("Result")

_worker_context: list[Any] = []


def _keep(context: Any) -> None:
    _worker_context[:] = [context]


def _call(function: Callable[[Any, Any], Any], batch: Any) -> Any:
    return function(_worker_context[0], batch)


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
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from (function(context, batch) for batch in batches)
        return
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=_keep,
                             initargs=(context,)) as pool:
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
