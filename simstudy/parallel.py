"""Run trials in parallel with joblib, one BLAS/OpenMP thread per worker.

Snakemake exports ``OMP_NUM_THREADS`` and friends equal to a job's ``threads``, and
joblib's workers inherit them, so ``n_jobs`` workers would each start ``threads`` BLAS
threads and fight over the cores (FACTS.md measured a 6-20x slowdown). Every worker here
is pinned to a single thread twice over: loky starts it with one-thread limits, and the
first task it runs applies ``threadpoolctl`` limits that stay for the life of the process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_info, threadpool_limits

Item = TypeVar("Item")
Result = TypeVar("Result")

_pinned_in_this_process = False


def pin_threads() -> None:
    """Limit every BLAS and OpenMP pool of this process to one thread, once."""
    global _pinned_in_this_process
    if not _pinned_in_this_process:
        threadpool_limits(limits=1)
        _pinned_in_this_process = True


def _call_pinned(function: Callable[[Item], Result], item: Item) -> Result:
    pin_threads()
    return function(item)


def ordered_map(
    function: Callable[[Item], Result], items: Iterable[Item], *, n_jobs: int
) -> Iterator[Result]:
    """Yield ``function(item)`` for each item, in order, computed by ``n_jobs`` processes.

    Results are yielded as soon as they and all earlier ones are ready, so a caller can
    stream them to disk without holding them all. ``n_jobs=1`` runs in this process.
    ``function`` must be importable (a module-level function) for process workers.

    Raises
    ------
    ValueError
        If ``n_jobs`` is below 1.
    """
    if n_jobs < 1:
        raise ValueError(f"n_jobs {n_jobs!r} must be at least 1")
    tasks = (delayed(_call_pinned)(function, item) for item in items)
    with parallel_config(backend="loky", inner_max_num_threads=1):
        yield from Parallel(n_jobs=n_jobs, return_as="generator")(tasks)


def thread_counts(_: Any = None) -> dict[str, int]:
    """Report the thread count of every BLAS/OpenMP pool in the calling process.

    Meant to run inside a worker through :func:`ordered_map`, to check the pinning.
    """
    return {
        f"{info['internal_api']}:{info['filepath']}": info["num_threads"]
        for info in threadpool_info()
    }
