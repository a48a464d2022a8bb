"""Run snakemake commands for the tests in forked copies of one process that imported it.

A ``snakemake`` command spends about a second importing Snakemake and collecting its
plugins before it reads the workflow, and the suite runs about 170 of them. This server
does both once; for each command it forks a copy, which takes the command's arguments,
working folder and environment (its PYTHONPATH included), runs ``snakemake.cli.main``
exactly as the ``snakemake`` executable does, and exits with its status. Nothing of this
package is imported here, so each command reads the workflow and the library of the
checkout it names, as a fresh process would. Plugins are found once, here, and the
server starts without PYTHONPATH: commands that need a plugin from elsewhere (the Slurm
tests) run the executable.

Protocol, one JSON line each way: ``{"argv", "cwd", "env", "stdout", "stderr"}`` in
(output goes to those files), ``{"returncode"}`` out. The server ends when its input
closes.
"""

from __future__ import annotations

import atexit
import json
import os
import sys

# What every command imports anyway: Snakemake's command line, API, workflow and DAG
# code, and pandas (its metadata code imports it); what a run imports besides (the
# script, benchmark and profile code, and jsonschema, which the workflow's config check
# and Snakemake's own use); and the plugins of every registry, which Snakemake collects
# when it first builds its argument parser (the report plugin brings docutils, jinja2
# and pygments). None of these reads the command's environment or folder as it loads.
import jsonschema  # noqa: F401
import pandas  # noqa: F401
import snakemake.api
import snakemake.benchmark
import snakemake.cli
import snakemake.dag
import snakemake.persistence
import snakemake.profiles
import snakemake.script
import snakemake.workflow

snakemake.cli.get_argument_parser()


def run_command(request: dict) -> None:
    """In the forked copy: become the command, run it, and exit with its status."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # The search path the snakemake executable would start with: its own folder, then
    # PYTHONPATH, then the standard library and site-packages (as in this process).
    extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[0:1] = [os.path.dirname(sys.executable), *extra]
    for stream, path in ((1, request["stdout"]), (2, request["stderr"])):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, stream)
        os.close(handle)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    # As the executable starts: its own path first in sys.argv, and the folder it was
    # started in as Snakemake's run directory, which Snakemake takes from the working
    # folder when snakemake.workflow is imported (here, in the server's folder).
    sys.argv = [os.path.join(os.path.dirname(sys.executable), "snakemake"), *request["argv"]]
    snakemake.workflow.Workflow._rundir = os.getcwd()
    code = 1
    try:
        snakemake.cli.main()
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    finally:
        atexit._run_exitfuncs()  # as a process ending normally does (the warm process's stop)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    requests = sys.stdin
    answers = sys.stdout
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            run_command(request)
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
