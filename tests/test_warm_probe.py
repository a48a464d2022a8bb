"""A job run by the warm process sees what it would see in its own process.

One probe rule runs twice in a small workflow written here: once handed over to the
run's warm process (simstudy/warm.py), once with ``SIMSTUDY_WARM_JOBS=0``, in its own
process. The probe writes down what a script can see of its process (environment,
working folder, umask, search path, arguments, signal dispositions, BLAS/OpenMP thread
limits, and more), and the two must be the same, except for the variables that switch
the warm process on and off and the process ids. A probe that imports none of the
libraries sees only what simstudy/warm.py says the warm process's imports leave.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from simstudy import warm_handover

from conftest import REPO, SNAKEMAKE, run_snakemake

pytestmark = pytest.mark.skipif(not warm_handover.enabled(), reason="the warm process needs Linux")

#: A workflow with one rule, started the way the project's own starts its warm process.
SNAKEFILE = """
import os
from simstudy import warm

# The modules that load NumPy's and SciPy's OpenBLAS and scikit-learn's OpenMP.
WARM = warm.start(["numpy", "scipy.linalg", "sklearn.cluster"], {repo!r})
# Set after the warm process started, as a Snakefile may: results readable by the group.
os.umask(0o027)


onsuccess:
    warm.stop(WARM)


onerror:
    warm.stop(WARM)


rule probe:
    output:
        "probe.json",
    threads: 2
    resources:
        tmpdir={tmpdir!r},
    script:
        "probe.py"
"""

#: The rule's script: what a job's script can see of the process that runs it.
PROBE = """
from simstudy.warm import hand_over

hand_over()

import faulthandler
import gc
import json
import locale
import logging
import os
import resource
import signal
import sys
import tempfile
import threading
import time
import warnings

import numpy
import scipy.linalg
import sklearn.cluster
from threadpoolctl import threadpool_info

from simstudy import digests


def disposition(handler):
    if handler in (signal.SIG_DFL, signal.SIG_IGN):
        return signal.Handlers(handler).name
    return getattr(handler, "__qualname__", repr(handler))


def stream(handle):
    return {{
        "name": handle.name,
        "encoding": handle.encoding,
        "errors": handle.errors,
        "line_buffering": handle.line_buffering,
        "write_through": handle.write_through,
        "fileno": handle.fileno(),
        "is __stream__": handle is getattr(sys, f"__{{handle.name.strip('<>')}}__"),
    }}


umask = os.umask(0)
os.umask(umask)
main = sys.modules["__main__"].__dict__
parent = open(f"/proc/{{os.getppid()}}/cmdline", "rb").read().split(b"\\0")
state = {{
    "environment": dict(os.environ),
    "working folder": os.getcwd(),
    "umask": oct(umask),
    "sys.path": sys.path,
    "sys.argv": sys.argv,
    "sys.orig_argv": sys.orig_argv,
    "sys.flags": repr(sys.flags),
    "signal dispositions": {{
        s.name: disposition(signal.getsignal(s))
        for s in signal.valid_signals()
        if isinstance(s, signal.Signals) and s not in (signal.SIGKILL, signal.SIGSTOP)
    }},
    "blocked signals": sorted(s.name for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    "thread limits": {{
        f"{{i['internal_api']}} {{os.path.basename(i['filepath'])}}": i["num_threads"]
        for i in threadpool_info()
    }},
    "python threads": [t.name for t in threading.enumerate()],
    "open files": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    "cpu affinity": sorted(os.sched_getaffinity(0)),
    "resource limits": {{
        name: resource.getrlimit(getattr(resource, name))
        for name in dir(resource)
        if name.startswith("RLIMIT_")
    }},
    "nice": os.getpriority(os.PRIO_PROCESS, 0),
    "process group": os.getpgrp(),
    "session": os.getsid(0),
    "temporary folder": tempfile.gettempdir(),
    "simstudy cache folder": str(digests.CACHE_DIR),
    "locale": locale.setlocale(locale.LC_CTYPE),
    "time zone": list(time.tzname),
    "std streams": [stream(h) for h in (sys.stdin, sys.stdout, sys.stderr)],
    "main module": {{
        name: repr(value) if name != "__loader__" else type(value).__name__
        for name, value in main.items()
        # (__warningregistry__ counts changes to the warnings filters, which imports make)
        if name.startswith("__") and name not in ("__builtins__", "__warningregistry__")
    }},
    "warnings filters": [repr(f) for f in warnings.filters],
    "root logger": [logging.root.level, [type(h).__name__ for h in logging.root.handlers]],
    "recursion limit": sys.getrecursionlimit(),
    "gc": [gc.isenabled(), gc.get_threshold()],
    "faulthandler": faulthandler.is_enabled(),
    "excepthook": sys.excepthook is sys.__excepthook__,
}}
with open(snakemake.output[0], "w") as handle:
    json.dump({{"state": state, "parent": [p.decode() for p in parent]}}, handle)
"""

#: Variables that differ between the two runs by construction: the switch itself, and
#: where the warm process listens (set only when there is one).
SWITCHES = {
    warm_handover.SWITCH_VARIABLE,
    warm_handover.SOCKET_VARIABLE,
    warm_handover.PREFIX_VARIABLE,
}


def probe(workdir: Path, **env: str) -> dict:
    """Run the probe rule in ``workdir``; what it saw, and the parent of its process."""
    (workdir / "probe.json").unlink(missing_ok=True)
    command = [str(SNAKEMAKE), "--snakefile", str(workdir / "Snakefile")]
    command += ["--directory", str(workdir), "--cores", "2", "--forceall"]
    # Buffered standard streams, as where no one asks for them unbuffered; and without
    # the KMP_ variables that this test process's own imports set (see IMPORT_VARIABLES).
    unset = ("SIMSTUDY_WARM", "PYTHONUNBUFFERED", "KMP_")
    variables = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    result = run_snakemake(command, workdir, {**variables, **env}, timeout=300)
    assert result.returncode == 0, result.stderr[-6000:]
    found = json.loads((workdir / "probe.json").read_text())
    state = found["state"]
    state["environment"] = {k: v for k, v in state["environment"].items() if k not in SWITCHES}
    # Snakemake writes the script to a new temporary file for every run, and caches its
    # source in a new temporary folder.
    text = re.sub(r"tmp[\w-]+\.probe\.py", "tmpXXXX.probe.py", json.dumps(state))
    text = re.sub(r"runtime-cache/tmp[\w-]+/", "runtime-cache/tmpXXXX/", text)
    return {"state": json.loads(text), "parent": found["parent"]}


def probe_workdir(tmp_path: Path, script: str) -> Path:
    """A folder with the probe workflow (SNAKEFILE) and ``script`` as its rule's script."""
    workdir = tmp_path / "probe"
    (workdir / "probe-tmp").mkdir(parents=True)
    (workdir / "Snakefile").write_text(
        textwrap.dedent(SNAKEFILE).format(repo=str(REPO), tmpdir=str(workdir / "probe-tmp"))
    )
    (workdir / "probe.py").write_text(script)
    return workdir


@pytest.mark.e2e
def test_a_job_sees_the_same_process_state_in_the_warm_process_as_in_its_own(tmp_path):
    workdir = probe_workdir(tmp_path, textwrap.dedent(PROBE).format())
    served = probe(workdir)
    own = probe(workdir, **{warm_handover.SWITCH_VARIABLE: "0"})
    # The first ran in a copy of the warm process, the second in the job's own process.
    assert served["parent"][1:3] == ["-m", "simstudy.warm"], served["parent"]
    assert "simstudy.warm" not in own["parent"], own["parent"]
    served, own = served["state"], own["state"]
    # The one file the copy holds more: its connection to the job's process, kept out of
    # the way of the numbers the script's own files get.
    extra = served["open files"].pop()
    assert extra > max(own["open files"])
    assert own["umask"] == "0o27"
    assert own["thread limits"] and set(own["thread limits"].values()) == {
        min(2, os.cpu_count() or 1)
    } | ({2} if any(k.startswith("openmp") for k in own["thread limits"]) else set())
    assert own["temporary folder"] == str(workdir / "probe-tmp")
    found = differences(served, own)
    assert not found, "\n".join(f"{key}: {pair}" for key, pair in found.items())


def differences(served: dict, own: dict) -> dict:
    """What differs: ``key: (served, own)``, item by item within a mapping."""
    found = {}
    for key in sorted(set(served) | set(own)):
        mine, theirs = served.get(key), own.get(key)
        if isinstance(mine, dict) and isinstance(theirs, dict):
            for name in sorted(set(mine) | set(theirs)):
                if mine.get(name) != theirs.get(name):
                    found[f"{key}: {name}"] = (mine.get(name), theirs.get(name))
        elif mine != theirs:
            found[key] = (mine, theirs)
    return found


#: The variables that the imports of scikit-learn and threadpoolctl set, which the warm
#: process keeps for every job, as simstudy/warm.py says, also for a job that imports
#: neither.
IMPORT_VARIABLES = {"KMP_DUPLICATE_LIB_OK": "True", "KMP_INIT_AT_FORK": "FALSE"}


@pytest.mark.e2e
def test_a_job_that_imports_less_sees_only_what_the_warm_process_says_it_keeps(tmp_path):
    # The probe without the imports of the libraries: threadpoolctl (which sets
    # KMP_DUPLICATE_LIB_OK too) only once the environment is written down.
    light = textwrap.dedent(PROBE).format()
    lazy = "def threadpool_info():\n    from threadpoolctl import threadpool_info\n\n"
    lazy += "    return threadpool_info()\n"
    for line, instead in [
        ("import numpy\n", ""),
        ("import scipy.linalg\n", ""),
        ("import sklearn.cluster\n", ""),
        ("from threadpoolctl import threadpool_info\n", lazy),
    ]:
        assert line in light
        light = light.replace(line, instead)
    workdir = probe_workdir(tmp_path, light)
    served = probe(workdir)["state"]
    own = probe(workdir, **{warm_handover.SWITCH_VARIABLE: "0"})["state"]
    served["open files"].pop()  # the copy's connection to the job's process
    found = differences(served, own)
    # What the warm process's imports did stays: the variables scikit-learn set, ...
    for name, value in IMPORT_VARIABLES.items():
        assert found.pop(f"environment: {name}", None) == (value, None), found
    # ... the libraries they loaded, whose thread counts are the job's own, ...
    loaded = {key: pair for key, pair in found.items() if key.startswith("thread limits: ")}
    assert loaded and all(pair == (2, None) for pair in loaded.values()), loaded
    # ... and the warnings filters their modules added.
    assert "warnings filters" in found
    remaining = set(found) - set(loaded) - {"warnings filters"}
    assert not remaining, "\n".join(f"{key}: {found[key]}" for key in sorted(remaining))
