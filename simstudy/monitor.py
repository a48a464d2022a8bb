"""Watch a running chunk: its progress, the trials in flight, and trials stuck past their limit.

:class:`Progress` logs how far a chunk has got; :class:`ChunkMonitor`, a thread of the
chunk's own process, logs the trials in flight while none finishes and kills the worker
process of a trial stuck past its time limit. Both only report or stop: no trial's values
depend on them, so their code is not part of a chunk's digest.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from contextlib import suppress

from simstudy.tasks import RunningTask, TaskTracker

logger = logging.getLogger(__name__)


class Progress:
    """Log how far a chunk has got, at most once per ``interval`` seconds.

    Each line gives the trials done out of the total, the rate and the time left, so a
    person following the job's log with ``tail -f`` sees it move.
    """

    def __init__(self, total: int, label: str, *, interval: float = 10.0) -> None:
        self.total = total
        self.label = label
        self.interval = interval
        self.started = time.monotonic()
        self.last_report = self.started
        self.done = 0

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more trials done, and log the status if it is due.

        The status is logged when the last trial is done, or when ``interval`` seconds have
        passed since the last line.

        Parameters
        ----------
        count
            The number of trials just done.
        """
        self.done += count
        now = time.monotonic()
        if self.done == self.total or now - self.last_report >= self.interval:
            self.last_report = now
            logger.info(self.status(now))

    def status(self, now: float) -> str:
        """Describe the progress: trials done, rate, time elapsed and time left.

        Parameters
        ----------
        now
            The current time, as :func:`time.monotonic`.

        Returns
        -------
        str
            The log line.
        """
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate > 0 else float("inf")
        return (
            f"{self.label}: {self.done}/{self.total} trials "
            f"({100 * self.done / self.total:.0f}%), {rate:.2f} trials/s, "
            f"elapsed {_duration(elapsed)}, ETA {_duration(remaining)}"
        )


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def age(seconds: float) -> str:
    """Say how long something has run: whole seconds under a minute, else ``[h]m s``.

    Parameters
    ----------
    seconds
        The time it has run; a negative one counts as 0.

    Returns
    -------
    str
        Such as ``"7 s"``, ``"2m05s"`` or ``"1h02m05s"``.
    """
    return f"{max(seconds, 0):.0f} s" if seconds < 60 else _duration(seconds)


def stuck_grace(time_limit: float) -> float:
    """Seconds past ``time_limit`` after which a trial's worker process is killed.

    A trial that ignores its SIGALRM (stuck in compiled code) is stopped from outside
    once it has run ``time_limit + stuck_grace(time_limit)`` seconds; the margin leaves
    the alarm ample time to work first.

    Parameters
    ----------
    time_limit
        The trial time limit, in seconds.

    Returns
    -------
    float
        Half the time limit, and at least 2 seconds.
    """
    return max(2.0, 0.5 * time_limit)


class ChunkMonitor:
    """A daemon thread that watches a chunk's running trials from the chunk process.

    ``plan`` holds the (trial, seed) of each task, by task index; the tasks past
    ``progress.total`` are the repeat check's second runs. Every ``interval`` seconds it
    logs the trials in flight and how long each has run,
    so the log shows a trial that hangs even though no trial finishes. With a time
    limit, it also kills the worker process of a trial that ignores its alarm (see
    :func:`stuck_grace`); the pool then reports the worker's death, which names the trial.

    Entering the context does not start the thread: :meth:`start` does, once the chunk's
    worker processes are forked (pass it as the ``on_ready`` of
    :func:`simstudy.parallel.ordered_map`), since a process must not fork while a second
    thread runs. Leaving the context stops the thread, if it started, and waits for it.
    """

    def __init__(
        self,
        tracker: TaskTracker,
        progress: Progress,
        plan: Sequence[tuple[int, int]],
        *,
        interval: float,
        time_limit: float | None,
    ) -> None:
        self.tracker = tracker
        self.progress = progress
        self.plan = plan
        self.interval = interval
        self.time_limit = time_limit
        #: Trial -> seconds it had run when it was found stuck past its limit.
        self.stuck: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="chunk-monitor", daemon=True)

    def __enter__(self) -> ChunkMonitor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join()

    def start(self) -> None:
        """Start watching, in the thread; a second call does nothing.

        Call it only once no process will be forked until the chunk ends: after its
        workers exist, or when it has none.
        """
        if self._thread.ident is None and not self._stop.is_set():
            self._thread.start()

    def _watch(self) -> None:
        # The time limit's SIGALRM must reach the main thread, which runs the trials
        # when the chunk has one worker; a signal a helper thread took would not
        # interrupt the main thread's sleep or system call.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        tick = max(0.05, min(self.interval, 1.0))
        next_report = time.monotonic() + self.interval
        while not self._stop.wait(tick):
            now = time.monotonic()
            report = now >= next_report
            if not report and self.time_limit is None:
                continue
            running = self.tracker.running()
            if self.time_limit is not None:
                self._stop_stuck(running)
            if report and running:
                next_report = now + self.interval
                logger.info("%s", self.in_flight(running))

    def in_flight(self, running: Sequence[RunningTask]) -> str:
        """The heartbeat line: each running trial with its seed and how long it has run.

        Parameters
        ----------
        running
            The running tasks, as :meth:`simstudy.tasks.TaskTracker.running` lists them.

        Returns
        -------
        str
            The log line, which also says how many trials are done.
        """
        now = time.time()
        trials = ", ".join(
            f"trial {self.plan[task.index][0]} "
            f"(seed {self.plan[task.index][1]}, {age(now - task.started)}"
            f"{'' if task.restarted else ', starting'}"
            f"{', second run' if task.index >= self.progress.total else ''})"
            for task in running
        )
        return (
            f"{self.progress.label}: in flight: {trials}; "
            f"{self.progress.done}/{self.progress.total} trials done"
        )

    def _stop_stuck(self, running: Sequence[RunningTask]) -> None:
        assert self.time_limit is not None
        now = time.time()
        for task in running:
            trial = self.plan[task.index][0]
            ran = now - task.started
            if not task.restarted:  # still importing: the limit has not started
                continue
            if trial in self.stuck or ran < self.time_limit + stuck_grace(self.time_limit):
                continue
            self.stuck[trial] = ran
            if task.pid == os.getpid():
                logger.error(
                    "%s: trial %d has run %s, past its time limit of %g s, and does not "
                    "stop: it is stuck in compiled code that never returns to Python, "
                    "which the time limit cannot interrupt inside the chunk's own process. "
                    "Stop the job by hand; with 2 or more threads per chunk its worker "
                    "process would be killed instead.",
                    self.progress.label,
                    trial,
                    age(ran),
                    self.time_limit,
                )
                continue
            logger.error(
                "%s: trial %d has run %s, past its time limit of %g s, and does not stop "
                "(stuck in compiled code?): killing its worker process %d",
                self.progress.label,
                trial,
                age(ran),
                self.time_limit,
                task.pid,
            )
            with suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(task.pid, signal.SIGKILL)
