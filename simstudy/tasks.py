"""Which tasks of a parallel map are running, in which process, and since when.

Every task says when it starts and ends, in a small file of the process that runs it
(see :class:`TaskTracker`). joblib knows which tasks it has handed out but not which of
them a worker had started, and when a worker dies the pool reports only that one died.
The files outlive the worker, so the caller can name the tasks it took with it
(:class:`simstudy.parallel.WorkerDiedError`), and a heartbeat can report which tasks
run and for how long while none finishes (:class:`simstudy.monitor.ChunkMonitor`).

Each process opens its file once per folder and overwrites one fixed-width record in it
when a task starts, when it restarts its clock (:func:`restart_task_clock`) and when it
ends, so that marking a task costs one ``pwrite``. A failure to write is ignored: the
caller may have given up and removed the folder, and a task must never fail for it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# The task file of this process: (folder, open descriptor, process id). Opened once per
# folder, so that marking a task costs one pwrite rather than an open and a close. The
# process id tells a forked worker that the descriptor it inherited is not its own.
_task_file: tuple[str, int, int] | None = None

# The task this process is running: (folder, index), or None between tasks.
_current_task: tuple[str, int] | None = None

# States a task file records: started, clock restarted by the task, finished.
_STARTED = "open"
_RESTARTED = "run"
_FINISHED = "done"


@dataclass(frozen=True)
class RunningTask:
    """A task that a process has started and not finished (or died running)."""

    index: int
    """Position of the task's item in the items given to :func:`~simstudy.parallel.ordered_map`."""
    pid: int
    """Process running it: a worker, or the caller's own process when ``n_jobs=1``."""
    started: float
    """When it started, or last called :func:`restart_task_clock`, as :func:`time.time`."""
    restarted: bool = False
    """Whether it called :func:`restart_task_clock`: its set-up is over."""


class TaskTracker:
    """Which tasks of a map (:func:`~simstudy.parallel.ordered_map`) run, where, since when.

    Each process that runs tasks keeps one file in a private temporary folder, named by
    its process id, and overwrites it when a task starts and when it ends. Use it as a
    context manager (or call :meth:`close`) to remove the folder.
    """

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="simstudy-tasks-")

    def running(self) -> list[RunningTask]:
        """Return the tasks started and not finished, by index.

        After a worker died, its last task stays listed: the file says it started it. A file
        being rewritten at that moment is skipped.

        Returns
        -------
        list of RunningTask
            The running tasks, sorted by index; empty once the folder is removed.
        """
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return []
        tasks = []
        for entry in entries:
            try:
                with open(entry.path, encoding="ascii") as handle:
                    state, index, started = handle.read().split()
                if state in (_STARTED, _RESTARTED):
                    tasks.append(
                        RunningTask(
                            int(index), int(entry.name), float(started), state == _RESTARTED
                        )
                    )
            except (OSError, ValueError):  # being rewritten: the next look will see it
                continue
        return sorted(tasks, key=lambda task: task.index)

    def close(self) -> None:
        """Remove the folder and its files."""
        forget_task_file(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> TaskTracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _mark(folder: str, state: str, index: int) -> None:
    global _task_file
    try:
        pid = os.getpid()
        if _task_file is None or _task_file[0] != folder or _task_file[2] != pid:
            if _task_file is not None:
                os.close(_task_file[1])
                _task_file = None
            path = os.path.join(folder, str(pid))
            _task_file = (folder, os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), pid)
        # Fixed width, so a record always overwrites the whole previous one.
        record = f"{state:<4} {index:>20d} {time.time():>20.6f}\n"
        os.pwrite(_task_file[1], record.encode(), 0)
    except OSError:  # the caller gave up and removed the folder: never fail a task for it
        pass


def forget_task_file(folder: str) -> None:
    """Close this process's task file of ``folder``, if it has one open.

    Parameters
    ----------
    folder
        A :attr:`TaskTracker.folder`, once its map is over.
    """
    global _task_file
    if _task_file is not None and _task_file[0] == folder:
        os.close(_task_file[1])
        _task_file = None


def restart_task_clock() -> None:
    """Mark the task this process runs as starting now; outside a task, do nothing.

    For a task that first does one-off set-up, such as the imports of a worker's first
    task: the times that :class:`TaskTracker` reports then measure the work itself.
    """
    if _current_task is not None:
        folder, index = _current_task
        _mark(folder, _RESTARTED, index)


def run_tracked(function: Callable[[Item], Result], item: Item, index: int, folder: str) -> Result:
    """Run ``function(item)`` as task ``index``, marking its start and end in ``folder``.

    Parameters
    ----------
    function
        The task's function.
    item
        Its argument.
    index
        The task's position among the items of the map.
    folder
        The :attr:`TaskTracker.folder` of the map.

    Returns
    -------
    object
        ``function(item)``; an exception it raises is raised here, the end marked all the
        same.
    """
    global _current_task
    _mark(folder, _STARTED, index)
    _current_task = (folder, index)
    try:
        return function(item)
    finally:
        _current_task = None
        _mark(folder, _FINISHED, index)
