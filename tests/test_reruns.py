"""Partial reruns: each edit of a finished study redoes exactly the work it invalidates.

Every test starts from a copy of one finished tiny study (copying keeps mtimes and
Snakemake's metadata, so the copy is up to date), makes one edit, and checks what
``snakemake --dry-run`` plans and, where it matters, what a real run leaves on disk.
Each row of the table in docs/reruns.md, "What each edit reruns", is one test here.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from conftest import ONE_WORKER, REPO, finished_config, fresh_copy, planned_jobs, snakemake

pytestmark = pytest.mark.e2e

# What a new trials.csv reruns.
DOWNSTREAM = {
    "merge_trials",
    "record_provenance",
    "summarize",
    "plot_figures",
    "plot_timings",
    "report_tables",
}
FIGURES = {"plot_figures", "plot_timings"}
# What chunk jobs that ran again rerun: also the fit times they wrote.
NEW_CHUNKS = DOWNSTREAM | {"collect_timings"}
# What an edit that changes trial results reruns besides the chunks: the example trial too.
RESULTS = NEW_CHUNKS | {"run_example"}


study_config = finished_config


@pytest.fixture
def finished(finished_study):
    return {seeding: finished_study(seeding) for seeding in ("spawn", "legacy")}


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def chunk_fingerprints(workdir: Path) -> dict[str, tuple[str, int]]:
    root = workdir / "results" / "chunks"
    return {str(p.relative_to(root)): fingerprint(p) for p in sorted(root.rglob("*.csv"))}


def rows(workdir: Path, keep=lambda line: True) -> list[str]:
    lines = (workdir / "results" / "trials.csv").read_text().splitlines()[1:]
    return [line for line in lines if keep(line)]


def trial_of(line: str) -> int:
    return int(line.split(",")[1])


def method_of(line: str) -> str:
    return line.split(",")[2]


def test_a_finished_study_is_up_to_date(finished, tmp_path):
    workdir = fresh_copy(finished["spawn"], tmp_path)
    assert planned_jobs(workdir, config=study_config("spawn")) == {}


@pytest.mark.parametrize("seeding", ["spawn", "legacy"])
def test_more_trials_run_only_new_and_partial_chunks(finished, tmp_path, seeding):
    workdir = fresh_copy(finished[seeding], tmp_path)
    before = chunk_fingerprints(workdir)
    old_rows = rows(workdir)
    old_seeds = (workdir / "results/manifest.csv").read_text().splitlines()
    config = {**study_config(seeding), "n_trials": 10}
    groups = 2 * 2 if seeding == "spawn" else 1  # (scenario, method group) pairs
    # Trials 0-3 are a full chunk and stay; chunk 4-7 was partial and becomes 4-8; 8-10 is new.
    assert planned_jobs(workdir, config=config) == plan(2 * groups, 1, NEW_CHUNKS)
    # The run asks for what is compared after it: the trials (with their chunks and seeds).
    snakemake(workdir, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=config)
    after = chunk_fingerprints(workdir)
    full = [name for name in before if name.endswith("/0-4.csv")]
    assert len(full) == groups
    for name in full:
        assert after[name] == before[name], f"{name} was rewritten"
    assert (workdir / "results/manifest.csv").read_text().splitlines()[
        : len(old_seeds)
    ] == old_seeds
    assert rows(workdir, lambda line: trial_of(line) < 7) == old_rows
    assert len(rows(workdir)) == 10 * len(old_rows) // 7


def test_fewer_trials_rerun_no_trial_and_keep_only_the_first_ones(finished, tmp_path):
    workdir = fresh_copy(finished["spawn"], tmp_path)
    before = chunk_fingerprints(workdir)
    old_rows = rows(workdir)
    config = {**study_config("spawn"), "n_trials": 5}
    assert planned_jobs(workdir, config=config) == plan(0, 1, NEW_CHUNKS)
    tables = ("results/trials.csv", "results/summary.csv")  # what is compared after the run
    snakemake(workdir, *tables, "--cores", "2", *ONE_WORKER, config=config)
    assert chunk_fingerprints(workdir) == before
    assert rows(workdir) == [line for line in old_rows if trial_of(line) < 5]
    summary = (workdir / "results/summary.csv").read_text().splitlines()[1:]
    assert all(line.split(",")[4] == "5" for line in summary)
    # and back up again: the chunks written before still cover every trial
    assert "run_chunk" not in planned_jobs(workdir, config=study_config("spawn"))


def test_adding_a_method_runs_only_its_trials(finished, tmp_path):
    workdir = fresh_copy(finished["spawn"], tmp_path)
    before = chunk_fingerprints(workdir)
    old_rows = rows(workdir)
    config = study_config("spawn")
    config["methods"]["ward"] = {
        "estimator": "sklearn.cluster.AgglomerativeClustering",
        "params": {"n_clusters": 3},
    }
    # ward's two chunks in each of two scenarios, nothing else upstream
    assert planned_jobs(workdir, config=config) == plan(2 * 2, 0, NEW_CHUNKS)
    # The run asks for what is compared after it: the trials (with their chunks).
    snakemake(workdir, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=config)
    after = chunk_fingerprints(workdir)
    assert {name: after[name] for name in before} == before
    assert rows(workdir, lambda line: method_of(line) != "ward") == old_rows


def test_adding_a_method_in_legacy_mode_reruns_every_trial(finished, tmp_path):
    workdir = fresh_copy(finished["legacy"], tmp_path)
    config = study_config("legacy")
    config["methods"]["ward"] = {
        "estimator": "sklearn.cluster.AgglomerativeClustering",
        "params": {"n_clusters": 3},
    }
    # one method group "gmm+kmeans+ward" shares the global generator: both chunks rerun
    assert planned_jobs(workdir, config=config)["run_chunk"] == 2


def _set_kmeans_n_init(config: dict) -> None:
    config["methods"]["kmeans"]["params"]["n_init"] = 3


def _swap_kmeans_estimator(config: dict) -> None:
    config["methods"]["kmeans"]["estimator"] = "sklearn.cluster.MiniBatchKMeans"


def _set_round_spread(config: dict) -> None:
    config["scenarios"]["round"]["params"]["cluster_std"] = 2.0


def _swap_round_generator(config: dict) -> None:
    config["scenarios"]["round"] = {"generator": "flaky.two_moons", "params": {"n_samples": 60}}


@pytest.mark.parametrize(
    ("edit", "touched"),
    [
        (_set_kmeans_n_init, "/kmeans/"),
        (_swap_kmeans_estimator, "/kmeans/"),
        (_set_round_spread, "chunks/round/"),
        (_swap_round_generator, "chunks/round/"),
    ],
    ids=["method params", "method estimator", "scenario params", "scenario generator"],
)
def test_changing_params_reruns_only_that_method_or_scenario(finished, tmp_path, edit, touched):
    workdir = fresh_copy(finished["spawn"], tmp_path)
    config = study_config("spawn")
    edit(config)
    helpers = {"PYTHONPATH": str(REPO / "tests")}  # where flaky.two_moons lives
    assert planned_jobs(workdir, config=config, env=helpers)["run_chunk"] == 2 * 2
    result = snakemake(workdir, "--dry-run", config=config, env=helpers)
    planned = [line for line in result.stdout.splitlines() if "output: results/chunks" in line]
    assert planned and all(touched in line for line in planned)


def test_adding_a_scenario_runs_only_its_trials(finished, tmp_path):
    workdir = fresh_copy(finished["spawn"], tmp_path)
    config = study_config("spawn")
    config["scenarios"]["wide"] = {"params": {"n_samples": 60, "cluster_std": 4.0}}
    assert planned_jobs(workdir, config=config)["run_chunk"] == 2 * 2


def plan(chunks: int = 0, manifest: int = 0, others=frozenset()) -> dict[str, int]:
    """The dry-run plan expected: chunk jobs, manifest jobs and other rules (one job each)."""
    expected = {**dict.fromkeys(others, 1)}
    if chunks:
        expected["run_chunk"] = chunks
    if manifest:
        expected["seed_manifest"] = manifest
    if expected:
        expected["all"] = 1
    return expected


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("seed=99", plan(8, 1, RESULTS)),
        ("seeding=legacy", plan(2 * 2, 1, RESULTS)),  # one group per scenario
        ("chunk_size=3", plan(2 * 2 * 3, 0, NEW_CHUNKS)),  # same results, new split
        ("metrics=[ari,nmi]", plan(8, 0, RESULTS)),
        ("on_error=record", plan(0, 0, DOWNSTREAM)),
        ("trial_time_limit=100", plan()),
        # only classifiers' and regressors' chunks hold it; the record of the config changes
        ("test_size=0.5", plan(0, 0, {"record_provenance", "report_tables", *FIGURES})),
        (
            "comparison=[kmeans,gmm]",
            plan(0, 0, {"summarize", "record_provenance", "report_tables", *FIGURES}),
        ),
    ],
)
def test_study_wide_edits(finished, tmp_path, override, expected):
    workdir = fresh_copy(finished["spawn"], tmp_path)
    assert planned_jobs(workdir, "--config", override, config=study_config("spawn")) == expected


@pytest.mark.parametrize(
    ("override", "example"),
    [
        ("figures={dpi: 80}", False),
        ("figures={example_trial: 3}", True),
        ("figures={example_scenario: round}", True),
        ("methods={gmm: {label: Mixture}}", False),
        ("scenarios={round: {label: Round blobs}}", False),
    ],
)
def test_figure_settings_redraw_only_the_figures(finished, tmp_path, override, example):
    """Figure settings redraw; choosing another example trial also runs that trial."""
    workdir = fresh_copy(finished["spawn"], tmp_path)
    expected = FIGURES | ({"run_example"} if example else set())
    assert planned_jobs(workdir, "--config", override, config=study_config("spawn")) == plan(
        0, 0, expected
    )


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    """A copy of the workflow and library, to edit without touching the repository."""
    copy_root = tmp_path / "repo"
    for name in ("Snakefile", "workflow", "scripts", "simstudy", "profiles", "config"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy_root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            copy_root.mkdir(exist_ok=True)
            shutil.copy2(source, copy_root / name)
    return copy_root


def plan_with(repo_copy: Path, workdir: Path, config: dict) -> dict[str, int]:
    return planned_jobs(workdir, "--snakefile", str(repo_copy / "Snakefile"), config=config)


def append_code(path: Path, code: str) -> None:
    path.write_text(path.read_text() + code)


@pytest.mark.parametrize(
    ("module", "code", "expected"),
    [
        ("data.py", "\n\ndef _unused():\n    return 1\n", plan(8, 0, RESULTS)),
        ("seeding.py", "\n\nLIMIT = 3\n", plan(8, 1, RESULTS)),
        ("plots.py", "\n\nEXTRA = 1\n", plan(0, 0, FIGURES)),
        ("summary.py", "\n\nEXTRA = 1\n", plan(0, 0, {"summarize", "report_tables", *FIGURES})),
        ("merge.py", "\n\nEXTRA = 1\n", plan(0, 0, DOWNSTREAM)),
        ("trials.py", "\n# a comment only: the code does not change\n", plan()),
        ("rows.py", "\n\nEXTRA = 1\n", plan(8, 0, RESULTS)),  # it decides the rows' bytes
        # running chunks decides no value: workers, progress, hints, the repeat check
        ("chunks.py", "\n\nEXTRA = 1\n", plan()),
        ("parallel.py", "\n\nEXTRA = 1\n", plan()),
        ("hints.py", "\n\nEXTRA = 1\n", plan(0, 0, DOWNSTREAM)),  # the merge's messages
        ("config.py", "\n\nEXTRA = 1\n", plan()),  # it decides what runs; no digest has it
        ("plan.py", "\n\nEXTRA = 1\n", plan(0, 0, FIGURES)),  # the figures' labels
    ],
)
def test_library_edits_rerun_the_stages_that_run_that_code(
    finished, tmp_path, repo_copy, module, code, expected
):
    workdir = fresh_copy(finished["spawn"], tmp_path)
    config = study_config("spawn")  # the unedited copy plans nothing: see the trials.py case
    append_code(repo_copy / "simstudy" / module, code)
    assert plan_with(repo_copy, workdir, config) == expected


@pytest.mark.parametrize(
    ("module", "old", "new"),
    [
        ("seeding.py", '"""Seeds for trials', '"""Seeds, fixed typo, for trials'),
        ("trials.py", "    Under ``spawn`` seeding", "    With ``spawn`` seeding"),
        ("__init__.py", '__version__ = "', '__version__ = "9'),
    ],
    ids=["module docstring", "function docstring", "version"],
)
def test_docstrings_and_the_version_rerun_nothing(finished, tmp_path, repo_copy, module, old, new):
    workdir = fresh_copy(finished["spawn"], tmp_path)
    path = repo_copy / "simstudy" / module
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    assert plan_with(repo_copy, workdir, study_config("spawn")) == {}


def test_editing_a_rule_script_reruns_that_rule(finished, tmp_path, repo_copy):
    workdir = fresh_copy(finished["spawn"], tmp_path)
    script = repo_copy / "scripts" / "summarize.py"
    append_code(script, "\n")
    assert plan_with(repo_copy, workdir, study_config("spawn")) == plan(
        0, 0, {"summarize", "report_tables", *FIGURES}
    )


def test_editing_the_figure_script_reruns_every_figure_rule_that_runs_it(
    finished, tmp_path, repo_copy
):
    """docs/reruns.md: the figure rules share scripts/plot_figures.py, so an edit to it
    redraws all of them, and nothing else."""
    workdir = fresh_copy(finished["spawn"], tmp_path)
    append_code(repo_copy / "scripts" / "plot_figures.py", "\n")
    assert plan_with(repo_copy, workdir, study_config("spawn")) == plan(0, 0, FIGURES)
