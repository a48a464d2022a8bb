"""Benchmark the workflow against a plain script, and its costs as a study grows.

    make benchmark                       # or: .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --only a,c --reps 3

Every measure is repeated (``--reps``, at least 3) and reported as a median; each
comparison is a ratio of medians taken in the same run, because the machines this runs
on are shared and noisy. Runs of the two sides of a comparison alternate. The table is
printed and written to ``benchmarks/out/results.md`` with a description of the machine.

Measures (see the README, "Performance"):

a. wall time to ``results/trials.csv`` for the default study at 400 trials, ``--cores 2``,
   against ``benchmarks/plain_script.py --n-jobs 2`` (target: ratio <= 1.10);
b. the same with ``--cores 1`` against the plain script's single-threaded loop (<= 1.15);
c. a rerun when everything is up to date (no job runs; <= 3 s);
d. ``snakemake -n`` at 100,000 and 1,000,000 trials with the recommended chunk size
   (<= 10 s and <= 1 GB peak memory each);
e. raising ``n_trials`` by 10% after a full run, against the full run (<= 0.15);
f. merging 1,000,000 synthetic trial rows (<= 1 GB peak memory; time reported);
g. peak memory of one chunk job as ``chunk_size`` grows (should stay flat).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
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


def snakemake(workdir: Path, *args: str) -> Run:
    return measure(
        [SNAKEMAKE, "--snakefile", REPO / "Snakefile", *args, "--configfile", "study.yaml"],
        cwd=workdir,
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


def compare_with_plain(root: Path, reps: int, trials: int, cores: int) -> tuple[Row, Path]:
    """Workflow to trials.csv against the plain script, alternating which goes first."""
    workflow, plain = [], []
    workdir = root
    for rep in range(reps):
        order = ["workflow", "plain"] if rep % 2 == 0 else ["plain", "workflow"]
        for side in order:
            if side == "workflow":
                workdir = workdir_with(study_config(n_trials=trials), root, f"wf-c{cores}-{rep}")
                run = snakemake(workdir, "results/trials.csv", "--cores", str(cores))
                workflow.append(run.seconds)
            else:
                run = measure(
                    [
                        sys.executable,
                        REPO / "benchmarks" / "plain_script.py",
                        "--trials",
                        trials,
                        "--n-jobs",
                        cores,
                        "--output",
                        root / f"plain-c{cores}.csv",
                    ],
                    cwd=root,
                )
                plain.append(run.seconds)
            log(f"{side} --cores {cores} rep {rep + 1}: {run.seconds:.1f} s")
    same = _same_scores(workdir / "results" / "trials.csv", root / f"plain-c{cores}.csv")
    ratio = median(workflow) / median(plain)
    target = 1.10 if cores == 2 else 1.15
    key = "a" if cores == 2 else "b"
    row = Row(
        key,
        f"{trials} trials to trials.csv, --cores {cores}, vs plain script "
        f"({'joblib n_jobs=2' if cores == 2 else 'single-threaded loop'})",
        f"{median(workflow):.1f} s vs {median(plain):.1f} s: ratio {ratio:.2f}"
        f"{'' if same else ' (SCORES DIFFER)'}",
        f"<= {target:.2f}",
        ratio <= target and same,
    )
    return row, workdir


def _same_scores(trials_csv: Path, plain_csv: Path) -> bool:
    with open(trials_csv, newline="") as handle:
        workflow = {(r["trial"], r["method"]): r["ari"] for r in csv.DictReader(handle)}
    with open(plain_csv, newline="") as handle:
        plain = {}
        for r in csv.DictReader(handle):
            plain[(r["trial"], "gmm")] = r["gmm"]
            plain[(r["trial"], "kmeans")] = r["kmeans"]
    return workflow == plain


def up_to_date_rerun(workdir: Path, reps: int) -> Row:
    snakemake(workdir, "--cores", "2")  # bring everything (figures too) up to date
    times = []
    for rep in range(reps):
        run = snakemake(workdir, "--cores", "2")
        if "Nothing to be done" not in run.stdout:
            raise RuntimeError(f"the up-to-date rerun ran jobs:\n{run.stdout[-2000:]}")
        times.append(run.seconds)
        log(f"up-to-date rerun {rep + 1}: {run.seconds:.2f} s")
    return Row(
        "c",
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
        "d",
        f"snakemake -n, {trials:,} trials, chunk_size {chunk} ({jobs:,} chunk jobs)",
        f"{seconds:.1f} s, peak {peak:.0f} MB",
        "<= 10 s, <= 1 GB",
        seconds <= 10 and peak <= 1024,
    )


def grow_by_ten_percent(root: Path, reps: int, trials: int) -> Row:
    chunk = recommended_chunk_size(trials, GROUPS)
    full, grow = [], []
    for rep in range(reps):
        workdir = workdir_with(
            study_config(n_trials=trials, chunk_size=chunk), root, f"grow-{rep}"
        )
        run = snakemake(workdir, "--cores", "2")
        full.append(run.seconds)
        (workdir / "study.yaml").write_text(
            yaml.safe_dump(
                study_config(n_trials=trials + trials // 10, chunk_size=chunk),
                sort_keys=False,
            )
        )
        grown = snakemake(workdir, "--cores", "2")
        grow.append(grown.seconds)
        log(f"full {trials} trials: {run.seconds:.1f} s; +10%: {grown.seconds:.1f} s")
    ratio = median(grow) / median(full)
    return Row(
        "e",
        f"raise n_trials {trials} -> {trials + trials // 10} after a full run "
        f"(everything, chunk_size {chunk})",
        f"{median(grow):.1f} s vs {median(full):.1f} s: ratio {ratio:.2f}",
        "<= 0.15",
        ratio <= 0.15,
    )


MERGE_SNIPPET = """
import sys
from pathlib import Path
from simstudy.merge import merge_trials
root = Path(sys.argv[1])
chunks = sorted(str(p) for p in (root / "chunks").rglob("*.csv"))
merge_trials(chunks, root / "trials.csv", manifest=root / "manifest.csv",
             n_trials=int(sys.argv[2]), metrics=["ari"])
"""


def synthetic_chunks(root: Path, trials: int, chunk: int) -> None:
    """Chunk files of two methods holding ``trials`` trials each: 2 x trials rows."""
    import numpy as np

    from simstudy.layout import chunk_files
    from simstudy.seeding import trial_seeds
    from simstudy.tables import trial_columns, write_manifest, write_table

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
                "spec": "synthetic",
                "status": "ok",
                "error": "",
            }
            for t in range(start, stop)
        )
        write_table(path, trial_columns(["ari"]), rows)


def merge_million(root: Path, reps: int) -> Row:
    data = root / "merge"
    if not (data / "manifest.csv").exists():
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
        "f",
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
            snakemake(workdir, target, "--cores", "1")
            with open(workdir / f"results/benchmarks/run_chunk/aniso/kmeans/0-{size}.tsv") as f:
                values.append(float(next(csv.DictReader(f, delimiter="\t"))["max_rss"]))
        peaks[size] = median(values)
        log(f"chunk of {size} trials: peak {peaks[size]:.0f} MB")
    growth = peaks[10_000] / peaks[100]
    return Row(
        "g",
        "peak memory of one chunk job (1 worker) at chunk_size 100 / 1,000 / 10,000",
        " / ".join(f"{peaks[s]:.0f}" for s in peaks) + f" MB (x{growth:.2f})",
        "flat",
        growth <= 1.2,
    )


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", default="a,b,c,d,e,f,g")
    parser.add_argument("--trials", type=int, default=400, help="trials for a, b and c")
    parser.add_argument("--grow-trials", type=int, default=2000, help="full run size for e")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    if args.reps < 3:
        parser.error("--reps must be at least 3: medians need repetitions")
    wanted = set(args.only.split(","))
    root = Path(args.workdir or tempfile.mkdtemp(prefix="simstudy-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    log(f"scratch folder: {root}")
    rows: list[Row] = []
    steps: list[tuple[str, Callable[[], None]]] = []
    last_a = {}

    def step_a():
        row, workdir = compare_with_plain(root, args.reps, args.trials, cores=2)
        rows.append(row)
        last_a["workdir"] = workdir

    steps.append(("a", step_a))
    steps.append(
        ("b", lambda: rows.append(compare_with_plain(root, args.reps, args.trials, 1)[0]))
    )

    def step_c():
        workdir = last_a.get("workdir")
        if workdir is None:
            workdir = workdir_with(study_config(n_trials=args.trials), root, "rerun")
        rows.append(up_to_date_rerun(workdir, args.reps))

    steps.append(("c", step_c))
    steps.append(
        ("d", lambda: rows.extend(dry_run(root, args.reps, n) for n in (100_000, 1_000_000)))
    )
    steps.append(
        ("e", lambda: rows.append(grow_by_ten_percent(root, args.reps, args.grow_trials)))
    )
    steps.append(("f", lambda: rows.append(merge_million(root, args.reps))))
    steps.append(("g", lambda: rows.append(chunk_memory(root, args.reps))))
    for key, step in steps:
        if key in wanted:
            step()
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
    text = "\n".join(table) + "\n"
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.md").write_text(text)


if __name__ == "__main__":
    main()
