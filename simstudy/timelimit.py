"""A trial's time limit: the alarm that stops it, and what that does to its methods.

:func:`time_limit` interrupts a block of code once it has run too long, by SIGALRM.
:func:`expiry_errors` says which of a trial's methods the interruption fails, and with
which error: the step it stopped, and the methods that never got their turn. These are
the only ways the time limit decides a trial's rows; a trial that keeps within its limit
gives the same rows whatever the limit. The exception raised is chosen by the caller
(:class:`simstudy.trials.TrialTimeLimitExceeded`), whose name the rows show.
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from simstudy.spec import TrialSpec


@contextmanager
def time_limit(seconds: float | None, error: Callable[[str], BaseException]) -> Iterator[None]:
    """Raise ``error(message)`` in the block once it has run ``seconds``.

    An interval timer (``setitimer(ITIMER_REAL)``) sends SIGALRM when the time is up,
    and its handler raises the exception where the main thread is. Python runs signal
    handlers only between bytecodes, so code stuck in a compiled call that never returns
    (a C loop that does not check for signals) is not interrupted; a sleep or a wait on
    a system call is. The previous handler and timer are restored afterwards.

    Parameters
    ----------
    seconds
        The time limit, or ``None`` for none (the block then runs as it is).
    error
        Makes the exception to raise from its message; one that derives from
        ``BaseException`` only is not swallowed by the block's ``except Exception``.

    Yields
    ------
    None
        Control, with the timer armed.

    Raises
    ------
    ValueError
        If ``seconds`` is not positive.
    RuntimeError
        If a limit is set outside the main thread, where signals cannot be handled.
    """
    if seconds is None:
        yield
        return
    if not seconds > 0:
        raise ValueError(f"time limit {seconds!r} must be a positive number of seconds")
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("a trial time limit works only in the main thread (it uses SIGALRM)")
    armed = True

    def expire(signum: int, frame: object) -> None:
        nonlocal armed
        if armed:  # once, and never after the block is over
            armed = False
            raise error(f"time limit of {seconds:g} s reached")

    previous_handler = signal.signal(signal.SIGALRM, expire)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        try:  # the alarm may still interrupt this line; the cleanup below runs anyway
            armed = False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(
                signal.SIGALRM,
                signal.SIG_DFL if previous_handler is None else previous_handler,
            )
            if previous_delay > 0:  # someone else's timer: give it back what is left
                left = previous_delay - (time.monotonic() - started)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), previous_interval)


def expiry_errors(
    spec: TrialSpec, trial: int, stopped: str | None, expired: BaseException, limit: float
) -> tuple[dict[str, str], list[str]]:
    """The errors a trial's methods get when its time limit stops one of its steps.

    The step stopped fails with ``expired``, its traceback included: the data generator
    fails every method, a method only itself. The methods after a stopped method fail as
    not run, with an exception of the same type. ``expired``'s message is replaced by
    one that names the trial, the limit and the step.

    Parameters
    ----------
    spec
        The spec the trial runs: its methods, in the order they run, and its generator.
    trial
        The trial's index.
    stopped
        The method that was running, or ``None`` for the data generator.
    expired
        The exception the time limit raised in the step.
    limit
        The time limit, in seconds.

    Returns
    -------
    tuple of (dict of str to str, list of str)
        Method name -> its formatted error, for every method that fails (the stopped
        ones first, in running order), and the names of those that were not run.
    """
    names = list(spec.method_names)
    if stopped is None:
        while_doing = f"its data generator {spec.scenario.generator} ran"
        interrupted, not_run = names, []
    else:
        while_doing = f"method {stopped!r} ran"
        interrupted, not_run = [stopped], names[names.index(stopped) + 1 :]
    expired.args = (
        f"trial {trial} ran past its time limit of {limit:g} s while {while_doing}, "
        f"and was stopped there",
    )
    text = "".join(traceback.format_exception(expired))
    skipped = "".join(
        traceback.format_exception_only(
            type(expired)(
                f"not run: trial {trial} reached its time limit of {limit:g} s while {while_doing}"
            )
        )
    )
    errors = dict.fromkeys(interrupted, text) | dict.fromkeys(not_run, skipped)
    return errors, not_run
