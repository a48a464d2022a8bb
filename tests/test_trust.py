"""Ordinary user paths that must never give a silently wrong or stale result.

Each test runs the real ``snakemake`` command in a folder laid out as a user's checkout
is (with ``config/config.yaml`` present), takes the path a user takes, and checks what
ends up in ``results/``.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import (
    ONE_WORKER,
    REPO,
    SNAKEMAKE,
    TINY_CONFIG,
    finished_config,
    fresh_copy,
    replay,
    run_snakemake,
    snakemake,
    write_config,
)

pytestmark = pytest.mark.e2e

PRODUCTS = [
    "results/summary.csv",
    "results/provenance.json",
    "results/figures/ari_difference.png",
    "results/report/summary.html",
]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def chunk_hashes(workdir: Path) -> dict[str, str]:
    root = workdir / "results" / "chunks"
    return {str(p.relative_to(root)): sha(p) for p in sorted(root.rglob("*.csv"))}


def trial_rows(workdir: Path) -> list[dict[str, str]]:
    with open(workdir / "results" / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the repository as a user has it: Snakefile, workflow, config, ..."""
    root = tmp_path_factory.mktemp("checkout")
    for name in ("Snakefile", "workflow", "scripts", "simstudy", "config", "profiles"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    return root


def run_in(checkout: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``snakemake ARGS`` typed in the checkout, as the README shows it.

    The command runs through the snakemake server (see conftest.py), as the executable
    would, in the checkout, with this environment; it saves the second of start-up.
    """
    command = [str(SNAKEMAKE), *args]
    result = run_snakemake(command, checkout, dict(os.environ), timeout=600)
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def planned_outputs(result: subprocess.CompletedProcess) -> list[str]:
    return [
        line.split("output:", 1)[1].strip()
        for line in result.stdout.splitlines()
        if line.strip().startswith("output:")
    ]


def test_a_study_file_given_with_configfile_is_the_whole_study(checkout, tmp_path):
    grid = run_in(checkout, "--dry-run", "--configfile", "config/grid.yaml")
    chunks = [o for o in planned_outputs(grid) if o.startswith("results/chunks/")]
    assert len(chunks) == 30, "10 scenarios x 3 methods, one chunk each"
    assert not [c for c in chunks if c.startswith("results/chunks/aniso/")]

    # A study of its own methods, leaving out keys: those take the schema's defaults
    # (n_trials 40, chunk_size 500), and nothing of config/config.yaml leaks in.
    study = {
        "scenarios": {"wide": {"params": {"n_samples": 60, "cluster_std": 4.0}}},
        "methods": {
            "ward": {"estimator": "sklearn.cluster.AgglomerativeClustering", "params": {}},
            "birch": {"estimator": "sklearn.cluster.Birch", "params": {}},
        },
        "comparison": ["ward", "birch"],
    }
    own = write_config(tmp_path / "own.yaml", study)
    plan = planned_outputs(run_in(checkout, "--dry-run", "--configfile", str(own)))
    assert sorted(o for o in plan if o.startswith("results/chunks/")) == [
        "results/chunks/wide/birch/0-40.csv, results/chunks/wide/birch/0-40.json, "
        "results/timings/wide/birch/0-40.csv",
        "results/chunks/wide/ward/0-40.csv, results/chunks/wide/ward/0-40.json, "
        "results/timings/wide/ward/0-40.csv",
    ]
    # --config still overrides single keys, on top of a study file or of the default one.
    plan = planned_outputs(
        run_in(checkout, "--dry-run", "--configfile", str(own), "--config", "n_trials=7")
    )
    assert (
        "results/chunks/wide/ward/0-7.csv, results/chunks/wide/ward/0-7.json, "
        "results/timings/wide/ward/0-7.csv"
    ) in plan
    plan = planned_outputs(run_in(checkout, "--dry-run", "--config", "chunk_size=25"))
    assert (
        "results/chunks/aniso/gmm/25-40.csv, results/chunks/aniso/gmm/25-40.json, "
        "results/timings/aniso/gmm/25-40.csv"
    ) in plan


USER_MODULE = '''"""A user's own clusterer, written the way docs/designing.md describes."""
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans


class MyKMeans(ClusterMixin, BaseEstimator):
    def __init__(self, n_clusters=3, random_state=None):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit_predict(self, X, y=None):
        model = KMeans(n_clusters=self.n_clusters, n_init=2, random_state=self.random_state)
        return model.fit_predict(X)
'''


def test_a_users_own_estimator_runs_and_editing_it_reruns_only_its_chunks(tmp_path):
    modules = tmp_path / "mycode"
    modules.mkdir()
    module = modules / "mycluster.py"
    module.write_text(USER_MODULE)
    env = {"PYTHONPATH": str(modules)}
    config = copy.deepcopy(TINY_CONFIG)
    config["chunk_size"] = 4  # two chunks per method
    del config["methods"]["gmm"]
    config["methods"]["mine"] = {"estimator": "mycluster.MyKMeans", "params": {"n_clusters": 3}}
    config["comparison"] = ["kmeans", "mine"]
    workdir = tmp_path / "study"
    workdir.mkdir()
    snakemake(workdir, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=config, env=env)
    rows = trial_rows(workdir)
    assert {r["status"] for r in rows if r["method"] == "mine"} == {"ok"}
    assert len([r for r in rows if r["method"] == "mine"]) == 7

    target = ("results/trials.csv",)
    module.write_text(module.read_text() + "\n# a comment: nothing to rerun\n")
    result = snakemake(workdir, *target, "--dry-run", config=config, env=env)
    assert "Nothing to be done" in result.stdout, result.stdout
    module.write_text(module.read_text().replace("n_init=2", "n_init=3"))
    result = snakemake(workdir, *target, "--dry-run", config=config, env=env)
    planned = [o for o in planned_outputs(result) if o.startswith("results/chunks/")]
    assert len(planned) == 2 and all("/mine/" in o for o in planned), planned

    before = chunk_hashes(workdir)
    snakemake(workdir, *target, "--cores", "2", *ONE_WORKER, config=config, env=env)
    after = chunk_hashes(workdir)
    assert {k: v for k, v in after.items() if "/mine/" not in k} == {
        k: v for k, v in before.items() if "/mine/" not in k
    }


def change_a_score(chunk: Path, line: int = 2) -> None:
    lines = chunk.read_text().splitlines()
    cells = lines[line].split(",")
    cells[3] = repr(float(cells[3]) * 0.5)
    lines[line] = ",".join(cells)
    chunk.write_text("\n".join(lines) + "\n")


def test_a_tampered_chunk_stops_the_merge_and_leaves_nothing_stale(finished_study, tmp_path):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    config = finished_config("spawn")
    original = (workdir / "results/trials.csv").read_bytes()
    chunk = workdir / "results/chunks/aniso/kmeans/0-4.csv"
    change_a_score(chunk)  # trial 1, not the example trial
    (workdir / "results/report.html").write_text("<html>the report `make report` built</html>")

    result = snakemake(workdir, "--cores", "2", *ONE_WORKER, config=config, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "results/chunks/aniso/kmeans/0-4.csv" in output and "SHA-256" in output
    hint = "rm results/chunks/aniso/kmeans/0-4.csv results/chunks/aniso/kmeans/0-4.json"
    assert hint in output
    assert not (workdir / "results/trials.csv").exists()
    for product in [*PRODUCTS, "results/report.html"]:  # nothing may pose as current
        assert not (workdir / product).exists(), product

    # Following the hint redoes that chunk, and the study is whole again.
    chunk.unlink()
    chunk.with_suffix(".json").unlink()
    snakemake(workdir, "--cores", "2", *ONE_WORKER, config=config)
    assert (workdir / "results/trials.csv").read_bytes() == original
    assert all((workdir / product).exists() for product in PRODUCTS)
    # A broken chunk record is named the same way: test_merge.py.


def test_results_match_the_config_whatever_snakemake_metadata_holds(finished_study, tmp_path):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    config = finished_config("spawn")
    original = (workdir / "results/trials.csv").read_bytes()
    # Previewing another study changes nothing, even without Snakemake's metadata.
    shutil.rmtree(workdir / ".snakemake")
    snakemake(workdir, "--dry-run", config={**config, "seed": 99, "n_trials": 3})
    real = snakemake(workdir, "--cores", "2", config=config)
    assert "Nothing to be done" in real.stdout + real.stderr

    # Only the trials are checked from here on, so only they are asked for: no figure or
    # report jobs.
    trials = ("results/trials.csv", "--cores", "2", *ONE_WORKER)
    snakemake(workdir, *trials, config={**config, "n_trials": 5})
    assert {r["trial"] for r in trial_rows(workdir)} == {"0", "1", "2", "3", "4"}

    shutil.rmtree(workdir / ".snakemake")
    snakemake(workdir, *trials, config=config)
    assert (workdir / "results/trials.csv").read_bytes() == original


def test_a_changed_method_reruns_its_chunks_without_snakemake_metadata(finished_study, tmp_path):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    config = finished_config("spawn")
    original = (workdir / "results/trials.csv").read_bytes()
    shutil.rmtree(workdir / ".snakemake")
    changed = copy.deepcopy(config)
    changed["methods"]["kmeans"]["params"]["n_init"] = 3
    before = chunk_hashes(workdir)
    # The chunks and the trials are compared, so the run asks for the trials alone.
    snakemake(workdir, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=changed)
    after = chunk_hashes(workdir)
    assert [k for k in after if after[k] != before.get(k)] == [k for k in after if "kmeans" in k]
    specs = {r["method"]: r["spec"] for r in trial_rows(workdir) if r["scenario"] == "aniso"}
    old = {
        r["method"]: r["spec"]
        for r in csv.DictReader(original.decode().splitlines())
        if r["scenario"] == "aniso"
    }
    assert specs["kmeans"] != old["kmeans"] and specs["gmm"] == old["gmm"]


@pytest.mark.parametrize(
    ("where", "text", "fragments"),
    [
        ("--configfile", "seed: 1\nn_trials: 4\nseed: 2\n", ["duplicate key 'seed'", "line 3"]),
        ("--configfile", "n_trials: !!python/tuple [1, 2]\n", ["YAML tags are not allowed"]),
        (
            "config/config.yaml",
            "seed: !!python/object/apply:os.system ['echo hacked']\n",
            ["YAML tags are not allowed", "config/config.yaml"],
        ),
        (
            "--config",
            "n_trials=100000000 chunk_size=2",
            ["'n_trials' = 100000000", "'chunk_size' = 2", "chunk_size 200000"],
        ),
    ],
    ids=["duplicate key", "python tag", "tag in the default study", "too many chunks"],
)
def test_bad_study_files_are_refused_naming_the_problem(tmp_path, where, text, fragments):
    args = []
    if where == "--configfile":
        args = ["--configfile", str(tmp_path / "study.yaml")]
        (tmp_path / "study.yaml").write_text(text)
    elif where == "--config":
        args = ["--config", *text.split()]
    else:
        (tmp_path / "config").mkdir()
        (tmp_path / "config/config.yaml").write_text(text)
    result = snakemake(tmp_path, "--dry-run", *args, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in output, output[-2000:]
    assert "Building DAG" not in output and "hacked" not in output


def test_an_infinite_param_works(tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    config["methods"]["optics"] = {
        "estimator": "sklearn.cluster.OPTICS",
        "params": {"max_eps": float("inf"), "min_samples": 5},
    }
    snakemake(tmp_path, "results/chunks/aniso/optics/0-3.csv", "--cores", "1", config=config)
    rows = (tmp_path / "results/chunks/aniso/optics/0-3.csv").read_text().splitlines()
    assert len(rows) == 4 and all(",ok," in row for row in rows[1:])


def test_replay_says_when_the_seeds_differ(finished_study, tmp_path):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    manifest = workdir / "results/manifest.csv"
    lines = manifest.read_text().splitlines()
    trial, seed = lines[4].split(",")
    lines[4] = f"{trial},{int(seed) + 1}"
    manifest.write_text("\n".join(lines) + "\n")
    result = replay(workdir, "--scenario", "aniso", "--trial", "3", "--method", "gmm")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the seeds differ" in result.stdout
    assert f"holds {seed}" in result.stdout and f"seed {int(seed) + 1}" in result.stdout
