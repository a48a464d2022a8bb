"""Benchmark the workflow against plain scripts, and its costs as a study grows.

    make benchmark                       # or: .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --only A,B --reps 5

Every measure is repeated (``--reps``, at least 5) and reported as a median; each
comparison is a ratio of medians taken in the same run, because the machines this runs
on are shared and noisy. Runs of the two sides of a comparison alternate. The table, a
model of wall time against cores fitted to B, C and D, and a description of the machine
are printed and written to ``benchmarks/out/results.md``.

Measures (see docs/performance.md):

A. the default study from an empty folder, everything (``--cores 2``), against
   ``benchmarks/plain_study.py``: the blog's demo, the 40-trial study and three figures
   as one script (target: ratio <= 1.5);
B. 400 trials to ``results/trials.csv``, ``--cores 2``, against
   ``benchmarks/plain_script.py --n-jobs 2`` (<= 1.10);
C. the same at 2000 trials (<= 1.05);
D. 400 trials, ``--cores 1``, against the plain script's single-threaded loop (<= 1.10);
E. raising ``n_trials`` by 10% after a full 2000-trial run, against the full run
   (<= 0.13), with the added trials' share of the trials' CPU time, about the least E
   can be;
F. the first chunk job of a fresh run (two workers): seconds from its start to its
   first finished trial, against one import of the study's methods in a fresh Python
   plus 0.3 s plus one trial (<=);
G. ``snakemake -n`` on the default study in an empty folder (<= 3 s; the row says
   whether the Slurm plugin is installed and whether a controller answers);
H. a rerun with everything up to date (no job runs; <= 3 s);
I. ``snakemake -n`` at 100,000 and 1,000,000 trials with the recommended chunk size
   (<= 10 s and <= 1 GB peak memory each);
J. merging 1,000,000 synthetic trial rows (<= 1 GB peak memory; time reported);
K. peak memory of one chunk job as ``chunk_size`` grows (should stay flat);
L. cheap trials: the testing example (``examples/testing``: Welch's t-test and the
   Wilcoxon-Mann-Whitney test on two samples of 30 numbers, about a millisecond a trial)
   at 5,000 trials per scenario, from an empty folder to ``results/trials.csv``
   (``--cores 2``), against ``benchmarks/plain_tests.py --n-jobs 2``, once at the
   example's own ``chunk_size`` and once with one chunk per scenario and method
   (target: ratio <= 1.5).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = BIN / "snakemake"
OUT = REPO / "benchmarks" / "out"

sys.path.insert(0, str(REPO))
from simstudy.layout import recommended_chunk_size  # noqa: E402

#: The default study has one scenario and two methods: two (scenario, method) groups.
GROUPS = 2

#: The study of cheap trials (row L): its study.yaml and the module of its functions.
TESTING_EXAMPLE = REPO / "examples" / "testing"


@dataclass
class Run:
    seconds: float
    peak_mb: float
    stdout: str


def measure(command: Sequence[str], cwd: Path, env: dict | None = None) -> Run:
    """Run ``command`` and return its wall time and the peak RSS of the process tree root.

    Peak memory comes from ``wait4``: the largest resident set of the command's own
    process or of any descendant it waited for (Snakemake waits for its jobs).
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            list(map(str, command)),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed ({code}):\n{text[-3000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, text)


def study_config(**changes) -> dict:
    with open(REPO / "config" / "config.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config.update(changes)
    return config


def workdir_with(config: dict, root: Path, name: str) -> Path:
    workdir = root / name
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / "study.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def snakemake(workdir: Path, *args: str, env: dict | None = None) -> Run:
    return measure(
        [SNAKEMAKE, "--snakefile", REPO / "Snakefile", *args, "--configfile", "study.yaml"],
        cwd=workdir,
        env=env,
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    key: str
    measure: str
    result: str
    target: str
    met: bool | None


def plain_trials(root: Path, trials: int, cores: int) -> Run:
    """Run ``plain_script.py``; its scores go to ``root/plain-<trials>-c<cores>.csv``."""
    output = root / f"plain-{trials}-c{cores}.csv"
    script = REPO / "benchmarks" / "plain_script.py"
    command = [sys.executable, script, "--trials", trials, "--n-jobs", cores, "--output", output]
    return measure(command, cwd=root)


def compare_with_plain(
    root: Path, reps: int, trials: int, cores: int, key: str, target: float
) -> tuple[Row, dict[str, float]]:
    """Workflow to trials.csv against the plain script, alternating which goes first.

    Returns the row and the medians (workflow and plain seconds), for the model.
    """
    workflow, plain = [], []
    workdir = root
    for rep in range(reps):
        order = ["workflow", "plain"] if rep % 2 == 0 else ["plain", "workflow"]
        for side in order:
            if side == "workflow":
                workdir = workdir_with(
                    study_config(n_trials=trials), root, f"wf-{trials}-c{cores}-{rep}"
                )
                run = snakemake(workdir, "results/trials.csv", "--cores", str(cores))
                workflow.append(run.seconds)
            else:
                run = plain_trials(root, trials, cores)
                plain.append(run.seconds)
            log(f"{key} {side} {trials} trials --cores {cores} rep {rep + 1}: {run.seconds:.1f} s")
    same = _same_scores(workdir / "results" / "trials.csv", root / f"plain-{trials}-c{cores}.csv")
    ratio = median(workflow) / median(plain)
    row = Row(
        key,
        f"{trials} trials to trials.csv, --cores {cores}, vs plain script "
        f"({'joblib n_jobs=2' if cores == 2 else 'single-threaded loop'})",
        f"{median(workflow):.1f} s vs {median(plain):.1f} s: ratio {ratio:.3f}"
        f"{'' if same else ' (SCORES DIFFER)'}",
        f"<= {target:.2f}",
        ratio <= target and same,
    )
    return row, {"workflow": median(workflow), "plain": median(plain)}


def compare_full_default(root: Path, reps: int) -> Row:
    """A: the default study, everything, against the plain full-study script."""
    workflow, plain = [], []
    for rep in range(reps):
        order = ["workflow", "plain"] if rep % 2 == 0 else ["plain", "workflow"]
        for side in order:
            if side == "workflow":
                workdir = workdir_with(study_config(), root, f"default-{rep}")
                run = snakemake(workdir, "--cores", "2")
                workflow.append(run.seconds)
            else:
                run = measure(
                    [
                        sys.executable,
                        REPO / "benchmarks" / "plain_study.py",
                        "--n-jobs",
                        "2",
                        "--outdir",
                        root / f"plain-study-{rep}",
                    ],
                    cwd=root,
                )
                plain.append(run.seconds)
            log(f"A {side} rep {rep + 1}: {run.seconds:.1f} s")
    ratio = median(workflow) / median(plain)
    return Row(
        "A",
        "default study from an empty folder, everything, --cores 2, vs plain_study.py "
        "(demo, 40 trials, 3 figures)",
        f"{median(workflow):.1f} s vs {median(plain):.1f} s: ratio {ratio:.2f}",
        "<= 1.5",
        ratio <= 1.5,
    )


FIRST_TRIAL = re.compile(r"first trial done (\d+\.\d+) s after the job started")

TRIAL_SNIPPET = """
import sys, time, yaml
from simstudy.config import check_config
from simstudy.plan import StudyPlan
from simstudy.seeding import trial_seeds
from simstudy.trials import run_trial
config = check_config(yaml.safe_load(open(sys.argv[1])))
spec = StudyPlan(config).spec("aniso", "gmm")
seeds = trial_seeds(config["seed"], config["seeding"], 0, 3)
run_trial(spec, 2, seeds[2])  # imports and first-call costs
started = time.perf_counter()
run_trial(spec, 0, seeds[0])
print(time.perf_counter() - started)
"""


def first_trial_latency(root: Path, reps: int) -> Row:
    """F: a fresh run's first chunk job, from its start to its first finished trial."""
    latencies, imports, trials = [], [], []
    for rep in range(reps):
        workdir = workdir_with(study_config(), root, f"first-{rep}")
        snakemake(workdir, "results/chunks/aniso/gmm/0-40.csv", "--cores", "2")
        text = (workdir / "results/logs/run_chunk/aniso/gmm/0-40.log").read_text()
        match = FIRST_TRIAL.search(text)
        if match is None:
            raise RuntimeError(f"no first-trial line in the chunk log:\n{text}")
        latencies.append(float(match[1]))
        imports.append(
            measure(
                [sys.executable, "-c", "import sklearn.mixture, sklearn.cluster"], root
            ).seconds
        )
        run = measure(
            [
                sys.executable,
                "-c",
                TRIAL_SNIPPET,
                workdir / "study.yaml",
            ],
            cwd=REPO,
        )
        trials.append(float(run.stdout.strip().splitlines()[-1]))
        log(
            f"F rep {rep + 1}: first trial after {latencies[-1]:.2f} s; import "
            f"{imports[-1]:.2f} s; one GMM trial {trials[-1]:.2f} s"
        )
    bound = median(imports) + 0.3 + median(trials)
    return Row(
        "F",
        "first chunk job of a fresh run (GMM, 2 workers): job start to first trial done",
        f"{median(latencies):.2f} s; bound = import {median(imports):.2f} s + 0.3 s + one "
        f"trial {median(trials):.2f} s = {bound:.2f} s",
        "<= bound",
        median(latencies) <= bound,
    )


def slurm_state() -> str:
    """Whether the Slurm plugin is installed and a Slurm controller answers."""
    import importlib.util

    plugin = importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None
    if shutil.which("scontrol") is None:
        controller = "Slurm not installed"
    else:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20)
        up = ping.returncode == 0 and "UP" in ping.stdout
        controller = "Slurm installed, controller " + ("up" if up else "down")
    return f"plugin {'installed' if plugin else 'not installed'}, {controller}"


def plan_default(root: Path, reps: int) -> Row:
    """G: snakemake -n on the default study in an empty folder."""
    times = []
    for rep in range(reps):
        workdir = workdir_with(study_config(), root, f"plan-{rep}")
        times.append(snakemake(workdir, "-n").seconds)
        log(f"G rep {rep + 1}: {times[-1]:.2f} s")
    return Row(
        "G",
        f"snakemake -n, default study, empty folder ({slurm_state()})",
        f"{median(times):.2f} s",
        "<= 3 s",
        median(times) <= 3.0,
    )


def _same_scores(trials_csv: Path, plain_csv: Path, limit: int | None = None) -> bool:
    """Whether the workflow's scores (of trials below ``limit``) equal the plain script's."""
    with open(trials_csv, newline="") as handle:
        workflow = {
            (r["trial"], r["method"]): r["ari"]
            for r in csv.DictReader(handle)
            if limit is None or int(r["trial"]) < limit
        }
    with open(plain_csv, newline="") as handle:
        plain = {}
        for r in csv.DictReader(handle):
            plain[(r["trial"], "gmm")] = r["gmm"]
            plain[(r["trial"], "kmeans")] = r["kmeans"]
    return workflow == plain


def up_to_date_rerun(workdir: Path, reps: int) -> Row:
    """H: a rerun when everything is up to date."""
    snakemake(workdir, "--cores", "2")  # bring everything (figures too) up to date
    times = []
    for rep in range(reps):
        run = snakemake(workdir, "--cores", "2")
        if "Nothing to be done" not in run.stdout:
            raise RuntimeError(f"the up-to-date rerun ran jobs:\n{run.stdout[-2000:]}")
        times.append(run.seconds)
        log(f"up-to-date rerun {rep + 1}: {run.seconds:.2f} s")
    return Row(
        "H",
        "rerun with everything up to date (no job runs)",
        f"{median(times):.2f} s",
        "<= 3 s",
        median(times) <= 3.0,
    )


def dry_run(root: Path, reps: int, trials: int) -> Row:
    chunk = recommended_chunk_size(trials, GROUPS)
    config = study_config(n_trials=trials, chunk_size=chunk)
    workdir = workdir_with(config, root, f"dry-{trials}")
    runs = []
    for rep in range(reps):
        run = snakemake(workdir, "--dry-run", "--quiet", "rules")
        runs.append(run)
        log(f"dry run {trials} trials rep {rep + 1}: {run.seconds:.1f} s, {run.peak_mb:.0f} MB")
    jobs = GROUPS * -(-trials // chunk)
    seconds = median([r.seconds for r in runs])
    peak = max(r.peak_mb for r in runs)
    return Row(
        "I",
        f"snakemake -n, {trials:,} trials, chunk_size {chunk} ({jobs:,} chunk jobs)",
        f"{seconds:.1f} s, peak {peak:.0f} MB",
        "<= 10 s, <= 1 GB",
        seconds <= 10 and peak <= 1024,
    )


def scale_and_grow(
    root: Path, reps: int, trials: int, *, plain_side: bool = True
) -> tuple[Row, Row, dict[str, float]]:
    """C and E from the same runs: a full run of ``trials`` trials against the plain
    script, then the same study grown by 10%. Without ``plain_side`` (E alone), the
    plain script does not run and C is not measured.

    C's workflow time is the time from the start of the full run to the moment
    ``trials.csv`` was written (its mtime): the rest of that run (summary, figures) comes
    after it. E compares the grown run with the whole full run.
    """
    chunk = recommended_chunk_size(trials, GROUPS)
    to_trials, full, grow, plain, share = [], [], [], [], []
    workdir = root
    for rep in range(reps):
        order = ["workflow", "plain"] if rep % 2 == 0 else ["plain", "workflow"]
        if not plain_side:
            order = ["workflow"]
        for side in order:
            if side == "plain":
                run = plain_trials(root, trials, 2)
                plain.append(run.seconds)
                log(f"C plain rep {rep + 1}: {run.seconds:.1f} s")
                continue
            workdir = workdir_with(
                study_config(n_trials=trials, chunk_size=chunk), root, f"scale-{rep}"
            )
            started = time.time()
            run = snakemake(workdir, "--cores", "2")
            full.append(run.seconds)
            to_trials.append((workdir / "results/trials.csv").stat().st_mtime - started)
            (workdir / "study.yaml").write_text(
                yaml.safe_dump(
                    study_config(n_trials=trials + trials // 10, chunk_size=chunk),
                    sort_keys=False,
                )
            )
            grown = snakemake(workdir, "--cores", "2")
            grow.append(grown.seconds)
            share.append(new_trials_share(workdir / "results" / "timings.csv", trials))
            log(
                f"C/E workflow rep {rep + 1}: trials.csv after {to_trials[-1]:.1f} s, "
                f"full run {run.seconds:.1f} s, +10% {grown.seconds:.1f} s "
                f"(the new trials' CPU share {share[-1]:.3f})"
            )
    if not plain_side:
        plain = [float("nan")]
    same = plain_side and _same_scores(
        workdir / "results" / "trials.csv", root / f"plain-{trials}-c2.csv", limit=trials
    )
    ratio_c = median(to_trials) / median(plain)
    ratio_e = median(grow) / median(full)
    c = Row(
        "C",
        f"{trials} trials to trials.csv, --cores 2, vs plain script (joblib n_jobs=2)",
        f"{median(to_trials):.1f} s vs {median(plain):.1f} s: ratio {ratio_c:.3f}"
        f"{'' if same else ' (SCORES DIFFER)'}",
        "<= 1.05",
        ratio_c <= 1.05 and same,
    )
    e = Row(
        "E",
        f"raise n_trials {trials} -> {trials + trials // 10} after a full run "
        f"(everything, chunk_size {chunk})",
        f"{median(grow):.1f} s vs {median(full):.1f} s: ratio {ratio_e:.3f}; the new "
        f"trials' own CPU time is {median(share):.3f} of the old ones'",
        "<= 0.13",
        ratio_e <= 0.13,
    )
    return c, e, {"workflow": median(to_trials), "plain": median(plain)}


MERGE_SNIPPET = """
import json, sys
from pathlib import Path
from simstudy.merge import merge_trials
root = Path(sys.argv[1])
chunks = sorted(str(p) for p in (root / "chunks").rglob("*.csv"))
merge_trials(chunks, root / "trials.csv", manifest=root / "manifest.csv",
             n_trials=int(sys.argv[2]), values=["ari"],
             specs=json.loads((root / "specs.json").read_text()))
"""


def new_trials_share(timings_csv: Path, old_trials: int) -> float:
    """The CPU time of the trials a grown run added, as a share of the earlier trials'.

    Trials differ in cost by their seeds (a GMM fit takes as many EM steps as its data
    need), so the added trials' share of the work is not simply their share of the
    count. This share is about the least E can be (it counts the fits' CPU time, not
    the jobs' wall time); E's time above it is mostly the run's fixed cost.
    ``timings.csv`` holds every fit's CPU seconds, method by method (empty for a method
    that did not run): the earlier trials' from the full run, the added ones' from the
    grown run, so a change in the machine's speed between the two runs enters the share
    too.
    """
    old = new = 0.0
    with timings_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["cpu_seconds"]:
                continue
            if int(row["trial"]) < old_trials:
                old += float(row["cpu_seconds"])
            else:
                new += float(row["cpu_seconds"])
    return new / old


def synthetic_chunks(root: Path, trials: int, chunk: int) -> None:
    """Chunk files of two methods holding ``trials`` trials each: 2 x trials rows.

    Each has the record a chunk job writes beside it and names the spec of the default
    study's method, as the merge checks; the scores are random numbers.
    """
    import json

    import numpy as np

    from simstudy.config import check_config
    from simstudy.integrity import write_manifest, write_table
    from simstudy.layout import chunk_files, group_key
    from simstudy.plan import StudyPlan
    from simstudy.provenance import chunk_record, write_json
    from simstudy.schema import load_schema
    from simstudy.seeding import trial_seeds
    from simstudy.tables import trial_columns

    plan = StudyPlan(check_config(study_config(n_trials=trials, chunk_size=chunk), load_schema()))
    specs = {method: plan.spec("aniso", method) for method in ("gmm", "kmeans")}
    seeds = trial_seeds(8888, "legacy", 0, trials)  # quick to make; any seeds will do
    write_manifest(root / "manifest.csv", seeds)
    rng = np.random.default_rng(0)
    for path in chunk_files(["aniso"], ["gmm", "kmeans"], trials, chunk, root / "chunks"):
        method = Path(path).parent.name
        start, stop = map(int, Path(path).stem.split("-"))
        scores = rng.random(stop - start)
        rows = (
            {
                "scenario": "aniso",
                "trial": t,
                "method": method,
                "ari": float(scores[t - start]),
                "seed": seeds[t],
                "spec": specs[method].digest,
                "status": "ok",
                "error": "",
                "n_warnings": 0,
                "warning": "",
            }
            for t in range(start, stop)
        )
        count = write_table(path, trial_columns(["ari"]), rows)
        record = chunk_record(
            specs[method], start, stop, n_jobs=1, started=0.0, rows=count, rows_path=path
        )
        write_json(Path(path).with_suffix(".json"), record)
    (root / "specs.json").write_text(
        json.dumps({group_key("aniso", m): spec.digest for m, spec in specs.items()})
    )


def merge_million(root: Path, reps: int) -> Row:
    data = root / "merge"
    if not (data / "specs.json").exists():  # written last: the data are complete
        data.mkdir(parents=True, exist_ok=True)
        log("writing 1,000,000 synthetic rows (500,000 trials x 2 methods)")
        synthetic_chunks(data, 500_000, recommended_chunk_size(500_000, GROUPS))
    runs = []
    for rep in range(reps):
        run = measure(
            [sys.executable, "-c", MERGE_SNIPPET, data, 500_000],
            cwd=REPO,
            env={"PYTHONPATH": str(REPO)},
        )
        runs.append(run)
        log(f"merge 1M rows rep {rep + 1}: {run.seconds:.1f} s, {run.peak_mb:.0f} MB")
    with open(data / "trials.csv") as handle:
        rows = sum(1 for _ in handle) - 1
    assert rows == 1_000_000, rows
    peak = max(r.peak_mb for r in runs)
    files = len(list((data / "chunks").rglob("*.csv")))
    return Row(
        "J",
        f"merge 1,000,000 trial rows ({files:,} chunk files)",
        f"{median([r.seconds for r in runs]):.1f} s, peak {peak:.0f} MB",
        "<= 1 GB",
        peak <= 1024,
    )


def chunk_memory(root: Path, reps: int) -> Row:
    peaks = {}
    for size in (100, 1_000, 10_000):
        config = study_config(n_trials=size, chunk_size=size)
        config["methods"]["kmeans"]["params"]["n_init"] = 1  # cheap trials; only memory counts
        values = []
        for _ in range(reps):
            workdir = workdir_with(config, root, f"mem-{size}")
            target = f"results/chunks/aniso/kmeans/0-{size}.csv"
            # In its own process (not the warm one), so that the job's benchmark file
            # measures the job itself.
            snakemake(workdir, target, "--cores", "1", env={"SIMSTUDY_WARM_JOBS": "0"})
            with open(workdir / f"results/benchmarks/run_chunk/aniso/kmeans/0-{size}.tsv") as f:
                values.append(float(next(csv.DictReader(f, delimiter="\t"))["max_rss"]))
        peaks[size] = median(values)
        log(f"chunk of {size} trials: peak {peaks[size]:.0f} MB")
    growth = peaks[10_000] / peaks[100]
    return Row(
        "K",
        "peak memory of one chunk job (1 worker, in its own process) at chunk_size "
        "100 / 1,000 / 10,000",
        " / ".join(f"{peaks[s]:.0f}" for s in peaks) + f" MB (x{growth:.2f})",
        "flat",
        growth <= 1.2,
    )


def _same_values(trials_csv: Path, plain_csv: Path) -> bool:
    """Whether every value in ``plain_tests.py``'s CSV equals the workflow's, row by row."""
    with open(trials_csv, newline="") as handle:
        workflow = {(r["scenario"], r["trial"], r["method"]): r for r in csv.DictReader(handle)}
    with open(plain_csv, newline="") as handle:
        plain = list(csv.DictReader(handle))
    if len(plain) != len(workflow):
        return False
    names = [name for name in plain[0] if name not in ("scenario", "trial", "method")]
    for row in plain:
        found = workflow.get((row["scenario"], row["trial"], row["method"]))
        if found is None or any(found.get(name, "") != row[name] for name in names):
            return False
    return True


def cheap_trials(root: Path, reps: int, trials: int, example: Path) -> list[Row]:
    """L: the testing example to trials.csv against the plain script, alternating.

    Measured at the example's own ``chunk_size`` and at ``trials`` (one chunk job per
    scenario and method). The example's module is found through ``PYTHONPATH``.
    """
    with open(example / "study.yaml", encoding="utf-8") as handle:
        study = yaml.safe_load(handle)
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(example), os.environ.get("PYTHONPATH")]))
    }
    plain_csv = root / f"plain-tests-{trials}.csv"
    rows = []
    for chunk in dict.fromkeys([study.get("chunk_size", trials), trials]):
        workflow, plain = [], []
        workdir = root
        for rep in range(reps):
            order = ["workflow", "plain"] if rep % 2 == 0 else ["plain", "workflow"]
            for side in order:
                if side == "workflow":
                    config = {**study, "n_trials": trials, "chunk_size": chunk}
                    workdir = workdir_with(config, root, f"cheap-{trials}-{chunk}-{rep}")
                    run = snakemake(workdir, "results/trials.csv", "--cores", "2", env=env)
                    workflow.append(run.seconds)
                else:
                    command = [
                        sys.executable,
                        REPO / "benchmarks" / "plain_tests.py",
                        "--study",
                        example / "study.yaml",
                        "--trials",
                        trials,
                        "--n-jobs",
                        2,
                        "--output",
                        plain_csv,
                    ]
                    run = measure(command, cwd=root, env=env)
                    plain.append(run.seconds)
                log(f"L {side} chunk_size {chunk} rep {rep + 1}: {run.seconds:.1f} s")
        same = _same_values(workdir / "results" / "trials.csv", plain_csv)
        ratio = median(workflow) / median(plain)
        each = [w / p for w, p in zip(workflow, plain, strict=True)]
        groups = 1 if study.get("methods_per_chunk") == "all" else len(study["methods"])
        jobs = len(study["scenarios"]) * groups * -(-trials // chunk)
        rows.append(
            Row(
                "L",
                f"cheap trials: testing example, {trials:,} trials per scenario to "
                f"trials.csv, chunk_size {chunk} ({jobs} chunk jobs), --cores 2, vs "
                "plain_tests.py (joblib n_jobs=2)",
                f"{median(workflow):.1f} s vs {median(plain):.1f} s: ratio {ratio:.2f} "
                f"(per repetition {min(each):.2f} to {max(each):.2f})"
                f"{'' if same else ' (VALUES DIFFER)'}",
                "<= 1.5",
                ratio <= 1.5 and same,
            )
        )
    return rows


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            models = [
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            ]
        cpu = models[0] if models else cpu
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from importlib.metadata import version

    packages = ", ".join(
        f"{p} {version(p)}" for p in ("snakemake", "numpy", "scikit-learn", "joblib", "pandas")
    )
    return (
        f"{cpu}, {os.cpu_count()} vCPU, {memory:.0f} GiB RAM; {platform.platform()}; "
        f"Python {platform.python_version()}; {packages}"
    )


def fit_model(b: dict, c: dict, d: dict, trials: int, scale_trials: int) -> list[str]:
    """Fit wall = run + job x jobs / concurrent jobs + trial x trials / cores to B, C, D.

    B and D differ only in cores, which gives the per-trial cost; C adds jobs and
    trials. Chunk jobs take ``min(8, cores)`` threads, so ``cores // threads`` of them
    run at once. Returns lines of text: the fitted costs and predictions.
    """

    def jobs(n: int) -> int:
        return GROUPS * -(-n // recommended_chunk_size(n, GROUPS))

    def concurrent(cores: int) -> int:
        return max(1, cores // min(8, cores))

    per_trial = (d["workflow"] - b["workflow"]) / (trials - trials / 2)
    per_job = (c["workflow"] - b["workflow"] - per_trial * (scale_trials - trials) / 2) / (
        jobs(scale_trials) - jobs(trials)
    )
    per_run = b["workflow"] - per_job * jobs(trials) - per_trial * trials / 2

    def predict(n: int, cores: int) -> float:
        return per_run + per_job * jobs(n) / concurrent(cores) + per_trial * n / cores

    lines = [
        "Model of wall time, fitted to B, C and D: wall = run + job x chunk jobs / "
        "(chunk jobs at once) + trial x trials / cores",
        f"run = {per_run:.2f} s, job = {per_job:.2f} s, trial = {per_trial:.4f} s "
        "(one trial of both methods on one core)",
        "",
        "| trials | chunk jobs | cores | predicted wall |",
        "|---|---|---|---|",
    ]
    for n in (2_000, 100_000):
        for cores in (1, 2, 8, 64):
            lines.append(f"| {n:,} | {jobs(n):,} | {cores} | {predict(n, cores):,.0f} s |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--only", default="A,B,C,D,E,F,G,H,I,J,K,L")
    parser.add_argument("--trials", type=int, default=400, help="trials for B and D")
    parser.add_argument("--scale-trials", type=int, default=2000, help="trials for C and E")
    parser.add_argument("--cheap-trials", type=int, default=5000, help="trials per scenario for L")
    parser.add_argument(
        "--testing-example",
        default=str(TESTING_EXAMPLE),
        help="folder of the cheap-trial study for L: its study.yaml and module",
    )
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    if args.reps < 5:
        parser.error("--reps must be at least 5: medians need repetitions")
    wanted = set(args.only.upper().split(","))
    root = Path(args.workdir or tempfile.mkdtemp(prefix="simstudy-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    log(f"scratch folder: {root}")
    rows: list[Row] = []
    medians: dict[str, dict] = {}
    if "A" in wanted:
        rows.append(compare_full_default(root, args.reps))
    if "B" in wanted:
        row, medians["B"] = compare_with_plain(root, args.reps, args.trials, 2, "B", 1.10)
        rows.append(row)
    if "C" in wanted or "E" in wanted:
        c, e, medians["C"] = scale_and_grow(
            root, args.reps, args.scale_trials, plain_side="C" in wanted
        )
        rows += [row for row in (c, e) if row.key in wanted]
    if "D" in wanted:
        row, medians["D"] = compare_with_plain(root, args.reps, args.trials, 1, "D", 1.10)
        rows.append(row)
    if "F" in wanted:
        rows.append(first_trial_latency(root, args.reps))
    if "G" in wanted:
        rows.append(plan_default(root, args.reps))
    if "H" in wanted:
        workdir = workdir_with(study_config(n_trials=args.trials), root, "rerun")
        rows.append(up_to_date_rerun(workdir, args.reps))
    if "I" in wanted:
        rows.extend(dry_run(root, args.reps, n) for n in (100_000, 1_000_000))
    if "J" in wanted:
        rows.append(merge_million(root, args.reps))
    if "K" in wanted:
        rows.append(chunk_memory(root, args.reps))
    if "L" in wanted:
        rows += cheap_trials(root, args.reps, args.cheap_trials, Path(args.testing_example))
    rows.sort(key=lambda row: row.key)
    table = [
        f"Machine: {machine()}",
        f"Medians of {args.reps} repetitions.",
        "",
        "| # | measure | result | target | met |",
        "|---|---|---|---|---|",
        *(
            f"| {r.key} | {r.measure} | {r.result} | {r.target} | {'yes' if r.met else 'no'} |"
            for r in rows
        ),
    ]
    if {"B", "C", "D"} <= set(medians):
        table += [
            "",
            *fit_model(medians["B"], medians["C"], medians["D"], args.trials, args.scale_trials),
        ]
    text = "\n".join(table) + "\n"
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.md").write_text(text)


if __name__ == "__main__":
    main()
