"""One warm process per run: the jobs of a local run pay Python's imports once.

Every job of a Snakemake run is a new Python process, and each pays its imports again
before it does any work: scikit-learn for a chunk job (about 2 s), pandas and SciPy for
the summary, matplotlib and seaborn for the figures. In a local run, the workflow
therefore starts one *warm process* (:func:`start`) as it starts planning. It imports
the study's modules once, while Snakemake plans, and listens on a private Unix socket.
A job's script calls :func:`hand_over` before its own imports; when the warm process
answers, the script sends it the job: the script file that Snakemake wrote, the job's
standard streams, and the state of the job's process listed below. The warm process
forks a copy of itself, which takes on that state and runs the same script, as
``__main__``, in the job's place; the job's process waits, and exits with the copy's
exit status.

The copy takes from the job's process its working directory, environment variables,
umask, ``sys.argv``, ``sys.orig_argv`` and ``sys.executable``, ``sys.path`` (as it
stood when the script called :func:`hand_over`), the disposition of every signal and
the set of blocked ones, its CPU affinity, resource limits and nice value, and its
process group. It sets up its standard streams on the job's as Python sets them up at
start (line-buffered on a terminal), runs the script as Python runs a script file, and
ends as Python ends (it waits for the script's threads and runs the exit handlers).
What the job's own process would have read from its environment when it loaded them is
set afresh: the thread counts of the BLAS and OpenMP libraries already loaded, from
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and the like (which Snakemake sets to the
job's ``threads``), as those libraries read them; the folder of :mod:`tempfile`, from
``TMPDIR``; and NumPy's global generator, seeded afresh from the operating system.

What stays the warm process's own:

- the process: its id, its parent (the warm process), and its start;
  :func:`simstudy.logs.job_started` gives the start of the job's process instead;
- the modules already imported, with whatever their import did: their module-level
  state, variables they set in ``os.environ`` (``KMP_DUPLICATE_LIB_OK``, which
  threadpoolctl and scikit-learn set, and scikit-learn's ``KMP_INIT_AT_FORK``, kept on top
  of the job's environment, also in a job that imports neither), the BLAS and OpenMP
  libraries they loaded (with the job's thread counts) and the warnings filters they
  added; signal handlers they installed;
- Python's hash seed, one for all the copies;
- one more open file: the copy's connection to the job's process, on descriptor 255
  (out of the way of the numbers the script's own files get);
- at the end, processes that the script left running are killed with the copy.

Where the copy cannot give a job what its own process would see, the job runs in its own
process instead: its environment differs from the one the warm process started with in
a variable other than :data:`~simstudy.warm_copy.PER_JOB_VARIABLES` (a module the
warm process imported may have read the variable: :mod:`simstudy.digests` takes its
cache folder from ``XDG_CACHE_HOME``, matplotlib its settings from ``MPLCONFIGDIR``); a
signal has a handler other than Python's own; a BLAS or OpenMP library other than
OpenBLAS (built with its own threads) or an OpenMP runtime is loaded; or the process
group, a resource limit, the affinity or the nice value cannot be set.

Nor is the warm process used where it cannot serve, and the script runs as usual in its
own process: the variable :data:`~simstudy.warm_handover.SOCKET_VARIABLE` is unset
(planning commands, cluster executors), the job runs inside a Slurm allocation (its
resources are Slurm's to count), it runs with another Python installation, the platform
cannot fork or watch a process through a file descriptor (Linux 5.3 or later only), or
the socket does not answer.
``SIMSTUDY_WARM_JOBS=0`` turns it off.

The copy joins the job's process group, so that a signal to the group reaches it and its
workers as it would reach the job's own; a SIGTERM to the job's process alone is passed
on to the copy. The copy is also stopped, with its workers, when the job's process goes
away: the warm process watches the job's process. The warm process stays in Snakemake's
process group; once the Snakemake process that started it is gone, it takes no more jobs,
and ends when the copies still running have ended.

The code is in four modules. This one gives the job scripts :func:`hand_over`, starts
and stops the warm process from the workflow (:func:`start`, :func:`stop`), and is the
command that runs it (``python -m simstudy.warm``, :func:`main`).
:mod:`simstudy.warm_handover` is the job's side of the hand-over (what the job's process
sends, and how it waits) and what both ends share (the variables, and whether the
switch is on). :mod:`simstudy.warm_server` is the warm process: its ``serve`` imports
the modules, accepts the jobs, lists the BLAS and OpenMP libraries loaded, forks the
copies, watches the jobs' processes and reaps the copies. :mod:`simstudy.warm_copy` is
what a copy does with a job: take on the job's process and run its script; it also
gives the warm process that list (``thread_pools``).
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Sequence

from simstudy import warm_copy
from simstudy.warm_handover import (
    PREFIX_VARIABLE,
    SOCKET_VARIABLE,
    enabled,
    job_request,
    send_job,
)
from simstudy.warm_server import remove_socket, serve

#: Modules every run's jobs import, in the order the jobs need them.
BASE_MODULES = (
    "threadpoolctl",
    "psutil",
    "snakemake.iocontainers",
    "snakemake.logging",
    "simstudy.tables",
    "simstudy.seeding",
    "simstudy.provenance",
    "simstudy.merge",
    "simstudy.chunks",
)

#: Modules of the rules that follow the trials, imported after the study's own.
LATE_MODULES = (
    "simstudy.summary",
    "simstudy.stopping",
    "simstudy.timings",
    "simstudy.report",
    "simstudy.figure_rules",
    # What the figure modules' draw() imports when it is first called.
    "simstudy.plots_examples",
    "simstudy.plots_pairs",
    "simstudy.plots_performance",
    "simstudy.plots_summaries",
)


def hand_over() -> None:
    """Let the run's warm process run this job script; return only where it cannot.

    Call it at the top of a job script, before the imports the job needs. Where the warm
    process takes the job, this process waits for it and exits with its exit status. In
    the copy that runs the script, it returns at once, after setting ``sys.path`` to the
    job's own at this point of the script.
    """
    if warm_copy.taken is not None:
        sys.path[:] = warm_copy.taken["path"]
        return
    path = os.environ.get(SOCKET_VARIABLE)
    if not path or not enabled() or "SLURM_JOB_ID" in os.environ:
        return
    if os.environ.get(PREFIX_VARIABLE) != sys.prefix:
        return
    main = sys.modules["__main__"]
    script = getattr(main, "__real_file__", None) or getattr(main, "__file__", None)
    if script is None:
        return
    status = send_job(path, job_request(os.path.abspath(script)))
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def start(
    study_modules: Sequence[str], search_path: str, *, later: bool = True
) -> tuple[object, str] | None:
    """Start a warm process for this run; return (its Popen, its socket path) or None.

    The socket lives in a private folder of the system's temporary directory. Jobs find
    it through :data:`~simstudy.warm_handover.SOCKET_VARIABLE`, set here in this
    process's environment (with :data:`~simstudy.warm_handover.PREFIX_VARIABLE`), which
    Snakemake passes on to the jobs it runs locally. The warm process is stopped when
    this process exits, or earlier by :func:`stop`.

    Parameters
    ----------
    study_modules
        The modules of the study's generators and estimators, imported after
        :data:`BASE_MODULES` and before any job is taken.
    search_path
        A folder to put first on the warm process's module search path (the checkout,
        whose ``simstudy`` Snakemake puts on every job's path).
    later
        Whether to import :data:`LATE_MODULES` too, between jobs: only a run that makes
        the summary, figures or report needs them.

    Returns
    -------
    tuple or None
        ``(subprocess.Popen, socket path)``, to pass to :func:`stop`; None where
        :func:`~simstudy.warm_handover.enabled` is false (nothing is started).
    """
    import atexit
    import subprocess
    import tempfile

    if not enabled():
        return None
    folder = tempfile.mkdtemp(prefix="simstudy-warm-")
    path = os.path.join(folder, "socket")
    first = [*BASE_MODULES, *study_modules]
    python_path = os.pathsep.join(filter(None, [search_path, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    # One BLAS/OpenMP thread in the warm process, so that no thread pool starts before a
    # fork (OpenMP's does not survive one); each copy sets the job's own counts.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = "1"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simstudy.warm",
            path,
            str(os.getpid()),
            *first,
            "--",
            *(LATE_MODULES if later else ()),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ[SOCKET_VARIABLE] = path
    os.environ[PREFIX_VARIABLE] = sys.prefix
    started = (process, path)
    atexit.register(stop, started)
    return started


def stop(started: tuple[object, str] | None) -> None:
    """Stop a warm process that :func:`start` started, and remove its socket.

    The variables that point jobs to it are removed from this process's environment
    first, whatever ``started`` is.

    Parameters
    ----------
    started
        What :func:`start` returned; None stops nothing.
    """
    os.environ.pop(SOCKET_VARIABLE, None)
    os.environ.pop(PREFIX_VARIABLE, None)
    if started is None:
        return
    process, path = started
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except Exception:  # it stops by itself once its parent has gone
            process.kill()
    remove_socket(path)


def main(argv: Sequence[str]) -> None:
    """``python -m simstudy.warm SOCKET PARENT_PID FIRST... [-- LATER...]``: ``serve``.

    SIGTERM makes the process exit (status 0), removing its socket. It ends without
    Python's shutdown (no exit handlers, no freeing of objects), which the run that
    stops it would wait for; an error that stops it is printed, and it exits 1.

    Parameters
    ----------
    argv
        The arguments after the module name: the socket path, the parent's process id,
        the modules to import first, and, after ``--``, those to import later.
    """
    path, parent, *modules = argv
    split = modules.index("--") if "--" in modules else len(modules)
    first, later = modules[:split], modules[split + 1 :]
    # `python -m` put the working directory first on the search path; a job's script
    # does not have it there, so modules are not looked for there here either.
    if sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(path, first, later, int(parent))
        status = 0
    except SystemExit as stopped:  # SIGTERM, or sys.exit in a module it imported
        code = stopped.code
        status = code if isinstance(code, int) else int(code is not None)  # as Python does
    except KeyboardInterrupt:
        status = 130
    except BaseException:
        traceback.print_exc()
        status = 1
    # Ending as Python ends, freeing the objects of scikit-learn, pandas and matplotlib
    # one by one, takes about half a second, which the run waits for at its end (stop).
    # Nothing here needs it: serve removed the socket, and the copies are processes of
    # their own.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    # Run as simstudy.warm, the module the copies' scripts import (see hand_over), rather
    # than as this __main__: it is then imported once, here, and not in each copy.
    from simstudy import warm

    warm.main(sys.argv[1:])
