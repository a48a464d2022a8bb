"""Run tasks in parallel with joblib, in worker processes forked from the caller.

Workers are forked from the calling process (on Linux), so they start with everything it
has imported: a chunk job imports its methods once, however many workers it has, and the
first trial starts a few milliseconds after the pool does. loky, joblib's default,
starts each worker as a fresh interpreter that imports scikit-learn again (about 2 s per
worker); it is still used where fork is not available.

**No fork while a second thread runs.** A forked child holds a copy of the thread that
forked it and of no other: a lock that another thread held at that moment (the logging
module's, a queue's, the memory allocator's) stays held in the child for good, and the
child hangs the first time it needs it. So every worker is forked while the calling
thread is the process's only Python thread, and none later:

- the pool is the standard library's :class:`concurrent.futures.ProcessPoolExecutor`
  with the ``fork`` start method. It forks all of its workers at once, in the thread
  that first submits to it, before it starts its own threads, and it never forks a
  worker afterwards (one that dies breaks the pool, it is not replaced);
  :meth:`ForkedWorkersBackend.configure` submits a no-op at once, so that the forks happen
  there, and checks that they did;
- only then does :func:`ordered_map` call its ``on_ready`` hook, where a caller starts
  its own threads: the chunk's monitor does (see :class:`simstudy.monitor.ChunkMonitor`).
  A caller must not have started one before.

loky, where it is used, starts its workers by fork and exec at once, which a running
thread does not endanger. Forking is also safe for compiled code: the caller has only
imported the methods, never run them, so no BLAS or OpenMP thread pool is busy when the
workers are made.

joblib's extension points used here are public ones only: a subclass of
``joblib.parallel.ParallelBackendBase`` (the class the documentation of
``register_parallel_backend`` names; recent versions also export it as
``joblib.ParallelBackendBase``), given to ``Parallel(backend=...)`` as an instance, which
that argument documents. It implements the hooks the base class defines: ``configure``,
``effective_n_jobs``, ``submit``, ``retrieve_result_callback``, ``terminate``,
``abort_everything``, and the batch sizing ``compute_batch_size`` and ``batch_completed``,
which is this module's own: trials of a millisecond go to the workers in batches of about
:data:`BATCH_SECONDS`. Nothing comes from ``joblib._parallel_backends`` or joblib's
bundled loky. The backend is not registered by name: selected through
``parallel_config``, it would become the calling thread's default, and ``Parallel`` calls
made by tasks in this process would pick it up too; an instance given to one call stays
with that call, and carries its ``on_ready`` hook.

Snakemake exports ``OMP_NUM_THREADS`` and friends equal to a job's ``threads``, and
joblib's workers inherit them, so ``n_jobs`` workers would each start ``threads`` BLAS
threads and fight over the cores (a trial then runs 6 to 20 times slower; see
docs/reproducibility.md). Every worker here is pinned to a single thread. Forked workers
are made while the caller's own pools are pinned (for the length of the call), so they
start pinned; any other process that runs tasks applies ``threadpoolctl`` limits with
its first task, and they stay for the life of the process (loky's workers also start
with one-thread limits). Pinning a forked worker by itself would cost every chunk job
some 0.1 s of wall time, which trials of a millisecond notice.

Which tasks run, in which process and since when, is recorded by
:mod:`simstudy.tasks`: :func:`ordered_map` marks each task's start and end there, and
names the tasks a dead worker took with it.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

from joblib import Parallel, cpu_count, delayed, parallel_config
from joblib.parallel import ParallelBackendBase
from threadpoolctl import threadpool_limits

from simstudy.tasks import RunningTask, TaskTracker, forget_task_file, run_tracked

Item = TypeVar("Item")
Result = TypeVar("Result")

# The process that pinned its thread pools (a forked worker inherits the flag, not the pin).
_pinned_in_process: int | None = None

# The process whose pools are pinned while it forks its workers (see _ready_to_fork):
# a worker forked by it inherits the pinned pools, and this value names its parent.
_pinning_for_forks: int | None = None


def pin_threads() -> None:
    """Limit every BLAS and OpenMP pool of this process to one thread, once.

    A worker that :func:`ordered_map` forked while its parent's pools were pinned starts
    with them pinned, and has nothing to do.
    """
    global _pinned_in_process
    pid = os.getpid()
    if _pinned_in_process == pid:
        return
    if _pinning_for_forks is None or _pinning_for_forks != os.getppid():
        threadpool_limits(limits=1)
    _pinned_in_process = pid


@contextmanager
def _ready_to_fork() -> Iterator[None]:
    """Make the workers forked in the block cheap to start: pinned, with a frozen heap.

    - This process's BLAS and OpenMP pools are pinned for the block, so that forks start
      pinned. The limits are set in this thread, the one whose ``submit`` forks the
      workers (OpenMP keeps its thread count per thread), and undone afterwards.
    - The objects that exist now are moved out of the garbage collector's reach
      (``gc.freeze``) for the block. A full collection in a worker (Python runs one
      now and then as the worker allocates) would write to every object inherited from
      this process and so copy all of their memory pages, some 0.05 s per worker.
      Frozen, they are left alone; this process collects them again after the block.
    """
    global _pinning_for_forks
    with threadpool_limits(limits=1):
        _pinning_for_forks = os.getpid()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            _pinning_for_forks = None


class WorkerDiedError(RuntimeError):
    """A worker process of :func:`ordered_map` died, taking its tasks with it.

    ``running`` lists the tasks that were running when it was noticed: the one the dead
    worker ran, and those of the other workers, which are then stopped as well.
    ``detail`` is the pool's report, with the exit code of each worker.
    """

    def __init__(self, running: list[RunningTask], detail: str) -> None:
        self.running = running
        self.detail = detail
        indices = ", ".join(str(task.index) for task in running) or "none"
        super().__init__(f"a worker process died; tasks running: {indices}. {detail}")


def _call_tracked(
    function: Callable[[Item], Result], item: Item, index: int, folder: str
) -> Result:
    pin_threads()
    return run_tracked(function, item, index, folder)


#: Whether workers can be forked here: Linux only (macOS frameworks are not fork-safe).
CAN_FORK = sys.platform == "linux"

#: Seconds a batch of tasks should take: long beside handing it over (well under a
#: millisecond), short enough that workers finish close together.
BATCH_SECONDS = 0.2

#: How much a batch may grow over the one before, lest one quick task skew it.
MAX_BATCH_GROWTH = 8


class ForkedWorkersBackend(ParallelBackendBase):
    """A joblib backend whose workers are forked from the calling process, all at once.

    It runs a pool of the standard library (:class:`concurrent.futures.ProcessPoolExecutor`)
    with the ``fork`` start method: workers inherit the caller's imports, and a worker
    that dies breaks the pool with :class:`~concurrent.futures.process.BrokenProcessPool`.
    :meth:`configure` forks every worker before the pool starts a thread, then calls
    ``on_ready`` (see the module's notes on forks and threads). The pool lives for one
    ``Parallel`` call.

    Parameters
    ----------
    nesting_level
        joblib's nesting level of the ``Parallel`` call (joblib sets it if it is None).
    on_ready
        Called once, in the thread that calls ``Parallel``, when the workers exist (at
        once when there are none to make) and before any task is handed out: from then
        on this backend forks no process, so threads may start.
    **kwargs
        Passed to :class:`joblib.parallel.ParallelBackendBase`.
    """

    supports_retrieve_callback = True
    supports_timeout = True

    def __init__(
        self,
        nesting_level: int | None = None,
        *,
        on_ready: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(nesting_level=nesting_level, **kwargs)
        self._on_ready = on_ready
        self._pool: ProcessPoolExecutor | None = None
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self._batch_size = 1
        self._seconds_per_task: float | None = None

    def effective_n_jobs(self, n_jobs: int | None) -> int:
        """Return the number of workers that ``n_jobs`` means, as joblib reads it.

        Parameters
        ----------
        n_jobs
            None for one worker, a positive count, or a negative number: -1 for all CPUs,
            -2 for all but one, and so on (at least one).

        Returns
        -------
        int
            The number of workers.

        Raises
        ------
        ValueError
            If ``n_jobs`` is 0.
        """
        # As joblib reads n_jobs: None is one, -1 all CPUs, -2 all but one, ... where the
        # CPUs are those joblib.cpu_count gives: the ones this process may run on (its
        # affinity, a cgroup's CPU quota), not all the machine's.
        if n_jobs is None:
            return 1
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        if n_jobs < 0:
            return max(cpu_count() + 1 + n_jobs, 1)
        return n_jobs

    def configure(self, n_jobs: int = 1, parallel: Any = None, **_: Any) -> int:
        """Fork the workers of one ``Parallel`` call, then call ``on_ready``; joblib's first call.

        With one worker, none is made: joblib then runs the tasks in this process itself.

        Parameters
        ----------
        n_jobs
            The requested number of workers (see :meth:`effective_n_jobs`).
        parallel
            The ``Parallel`` object that uses this backend.

        Returns
        -------
        int
            The number of workers.

        Raises
        ------
        RuntimeError
            If the pool did not fork all of its workers at once (a Python whose pool
            forks them as work comes would fork while the pool's own threads run).
        ValueError
            If ``n_jobs`` is 0.
        """
        n_jobs = self.effective_n_jobs(n_jobs)
        self.parallel = parallel
        try:
            if n_jobs > 1:
                self._fork_workers(n_jobs)
            on_ready, self._on_ready = self._on_ready, None
            if on_ready is not None:
                on_ready()
        except BaseException:
            self._stop_workers(kill=True)
            raise
        return n_jobs

    def _fork_workers(self, n_jobs: int) -> None:
        before = set(multiprocessing.active_children())
        self._pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("fork"))
        # The first submit forks every worker, here, then starts the pool's threads.
        self._pool.submit(int)
        self._processes = sorted(
            (process for process in multiprocessing.active_children() if process not in before),
            key=lambda process: process.pid,
        )
        if len(self._processes) != n_jobs:
            raise RuntimeError(
                f"the pool forked {len(self._processes)} of its {n_jobs} workers at its first "
                "task; it would fork the others while its own threads run, which can hang them"
            )

    def submit(self, func: Callable[[], Any], callback: Callable[[Any], None] | None = None):
        """Hand a batch of tasks to the pool, for joblib.

        Parameters
        ----------
        func
            The batch to run, called without arguments in a worker.
        callback
            Called with the future once it is done, if given.

        Returns
        -------
        concurrent.futures.Future
            The future of the batch's result.
        """
        future = self._pool.submit(func)
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def retrieve_result_callback(self, future: Future) -> Any:
        """Return the result of a finished batch, for joblib.

        Parameters
        ----------
        future
            The future that :meth:`submit` returned.

        Returns
        -------
        object
            The batch's result; an exception in the batch, or :class:`BrokenProcessPool` if a
            worker died, is raised here instead.
        """
        return future.result()

    def compute_batch_size(self) -> int:
        """Return how many tasks joblib bundles into the next batch, for joblib.

        One at first; then as many as take about :data:`BATCH_SECONDS` by the time per
        task measured so far (see :meth:`batch_completed`), growing at most
        :data:`MAX_BATCH_GROWTH`-fold from one batch to the next. joblib itself splits
        the last tasks of a call into smaller batches, so that every worker gets some.

        Returns
        -------
        int
            The number of tasks, at least 1.
        """
        if self._seconds_per_task:
            wanted = max(1, int(BATCH_SECONDS / self._seconds_per_task))
            self._batch_size = min(wanted, self._batch_size * MAX_BATCH_GROWTH)
        return self._batch_size

    def batch_completed(self, batch_size: int, duration: float) -> None:
        """Learn the time per task from a finished batch, for joblib.

        The new estimate is the mean of the last one and this batch's time per task.

        Parameters
        ----------
        batch_size
            The number of tasks in the batch.
        duration
            Seconds from handing the batch over to its result (waiting in the pool's
            queue included, which errs towards smaller batches).
        """
        per_task = duration / max(batch_size, 1)
        previous = self._seconds_per_task
        self._seconds_per_task = per_task if previous is None else (previous + per_task) / 2

    def terminate(self) -> None:
        """Shut the pool down once joblib is done with it, waiting for the workers to exit."""
        self._stop_workers(kill=False)

    def abort_everything(self, ensure_ready: bool = True) -> None:
        """Kill the workers at once, for joblib, after a task failed or the caller gave up.

        No new pool is made, whatever ``ensure_ready`` says: :func:`ordered_map` never
        calls the same ``Parallel`` object again, and a new pool would fork while this
        pool's threads, and perhaps the caller's, run.

        Parameters
        ----------
        ensure_ready
            joblib's request for a pool ready for another call; ignored.
        """
        self._stop_workers(kill=True)

    def _stop_workers(self, *, kill: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            for process in self._processes:
                process.kill()
        # Waits for the pool's thread, which joins the workers: their exit codes are known.
        pool.shutdown(wait=True, cancel_futures=True)

    def exit_codes(self) -> str:
        """Say how each worker ended, as ``EXIT(1)`` or ``SIGKILL(-9)``; for a report.

        Returns
        -------
        str
            The exit status of each worker, by process id, comma-separated; ``running``
            for one that has not ended.
        """
        return ", ".join(_exit_status(process.exitcode) for process in self._processes)


def _exit_status(code: int | None) -> str:
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"{signal.Signals(-code).name}({code})"
        except ValueError:
            return f"SIGNAL({code})"
    return f"EXIT({code})"


def ordered_map(
    function: Callable[[Item], Result],
    items: Iterable[Item],
    *,
    n_jobs: int,
    tracker: TaskTracker | None = None,
    fork: bool = True,
    on_ready: Callable[[], None] | None = None,
) -> Iterator[Result]:
    """Yield ``function(item)`` for each item, in order, computed by ``n_jobs`` processes.

    Results are yielded as soon as they and all earlier ones are ready, so a caller can
    stream them to disk without holding them all. ``n_jobs=1`` runs in this process.
    ``function`` must be importable (a module-level function) for process workers.
    Import what the function needs before calling this: forked workers inherit it.
    Nothing runs, and nothing is checked, until the first result is asked for.

    Forked workers are made while the calling thread is the process's only thread:
    start no thread before the call, and start them in ``on_ready`` instead.

    Parameters
    ----------
    function
        Called on each item, in a worker process (in this process if ``n_jobs=1``).
    items
        The inputs, consumed lazily.
    n_jobs
        Number of worker processes.
    tracker
        Where tasks record when they start and end; pass one to watch the running tasks
        from another thread. By default a private one is used.
    fork
        Fork the workers from this process (where :data:`CAN_FORK`), rather than start
        fresh interpreters with loky. Only fork a process that has not yet run the
        function's compiled code (BLAS, OpenMP): their thread pools do not survive it.
    on_ready
        Called once, in this thread, when the first result is asked for and every worker
        exists, before any task runs: from then on this call forks no process, so this is
        where a caller starts a thread that runs beside the tasks (a monitor, say).

    Yields
    ------
    object
        ``function(item)``, for each item in the order of ``items``.

    Raises
    ------
    ValueError
        If ``n_jobs`` is below 1.
    WorkerDiedError
        If a worker process died (``os._exit``, a crash in compiled code, killed by the
        operating system), naming the tasks that were running.
    """
    if n_jobs < 1:
        raise ValueError(f"n_jobs {n_jobs!r} must be at least 1")
    own_tracker = tracker is None
    tracker = TaskTracker() if tracker is None else tracker
    tasks = (
        delayed(_call_tracked)(function, item, index, tracker.folder)
        for index, item in enumerate(items)
    )
    backend = None
    try:
        if fork and CAN_FORK:
            # The backend is given to this one call, not made the thread's default: code
            # that a task runs here (n_jobs=1) or in a forked worker, which inherits the
            # caller's state, keeps joblib's own default for its own parallel calls.
            backend = ForkedWorkersBackend(on_ready=on_ready)
            parallel = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")
            if backend.effective_n_jobs(n_jobs) == 1:  # runs here; pins this process
                yield from parallel(tasks)
            else:
                with _ready_to_fork():
                    yield from parallel(tasks)
        else:
            # loky starts its workers by fork and exec, which a running thread does not
            # endanger: the caller's threads may start first.
            if on_ready is not None:
                on_ready()
            with parallel_config(backend="loky", inner_max_num_threads=1):
                yield from Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    except BrokenProcessPool as error:  # loky's is a subclass of the standard library's
        detail = str(error).strip()
        if backend is not None:
            detail = f"{detail} The workers' exit codes: {backend.exit_codes()}."
        raise WorkerDiedError(tracker.running(), detail) from error
    finally:
        forget_task_file(tracker.folder)
        if own_tracker:
            tracker.close()
