"""forked_map: ordered results from forked workers, a bounded stream, errors after what came before."""

import os

import pytest

from newswatch.parallel import forked_map


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
