"""What to tell a user to do next: the commands that replay a trial or redo a chunk.

Error messages of the chunk jobs and of the merge end with one of these, so that every
failure says how to look into it or get past it. These texts go only into exceptions and
logs, never into a row: this module is not part of a chunk's code digest, so editing it
reruns no chunk. Text that a row holds belongs with the code that decides rows
(:mod:`simstudy.trials`, :mod:`simstudy.rows`), which must not import this module.
"""

from __future__ import annotations

import os
from pathlib import Path


def replay_command(scenario: str, trial: int, method: str) -> str:
    """Return the shell command that reruns one trial from the manifest.

    Parameters
    ----------
    scenario, trial, method
        The trial's scenario, index and method.

    Returns
    -------
    str
        A ``simstudy replay`` command line (run from the project directory).
    """
    return f"simstudy replay --scenario {scenario} --trial {trial} --method {method}"


def trial_failure(scenario: str, trial: int, method: str, seed: object, error: str) -> str:
    """Describe a failed trial: where it failed, with which seed, and the error.

    Parameters
    ----------
    scenario, trial, method, seed
        The failed trial's scenario, index, method and seed.
    error
        What went wrong (the recorded error, or a traceback).

    Returns
    -------
    str
        One message that the chunk jobs (:func:`simstudy.failures.trial_rows`) and the
        merge both raise with.
    """
    return f"trial failed: scenario={scenario} trial={trial} method={method} seed={seed}: {error}"


def redo_command(path: str | os.PathLike[str]) -> str:
    """Say how to make Snakemake run a chunk again.

    Remove the chunk's CSV and its JSON record, then run the study again with the same
    command (the same ``--configfile`` and ``--config``): that run has to make both.

    Parameters
    ----------
    path
        The chunk's CSV file.

    Returns
    -------
    str
        The advice: an ``rm`` command for both files, then what to run.
    """
    csv_path = Path(path)
    return (
        f"rm {csv_path} {csv_path.with_suffix('.json')}, then run snakemake again as before "
        f"(with the same --configfile and --config)"
    )


def unrepeatable_hint() -> str:
    """Say why code gives other values for the same seed, and how to make it repeat.

    The chunk jobs' repeat check and the figure step's check of the example trial end
    their messages with this text, after naming the method or data generator.

    Returns
    -------
    str
        The likely causes, one a line, then the fix.
    """
    return (
        "Likely causes: randomness that does not come from the random_state the workflow "
        "passes in, or state kept from one call to the next:\n"
        "  - an unseeded np.random.default_rng() or np.random.RandomState();\n"
        "  - Python's random module;\n"
        "  - the time or a clock (time.time(), time.perf_counter(), datetime.now());\n"
        "  - os.urandom (or secrets, uuid.uuid4());\n"
        "  - state kept between calls, such as a class attribute, a module global or a "
        "cache;\n"
        "  - multithreaded code whose result depends on which thread finishes first.\n"
        "Fix: draw every random number from the random_state the workflow passes in (an "
        "estimator's random_state parameter, a data generator's random_state argument), "
        "pass it on to whatever estimator or function the code uses inside, and keep "
        "nothing from one call to the next."
    )
