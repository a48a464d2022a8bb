"""The workflow deployed as a Snakemake module, from a folder of the user's own.

The folder is laid out as snakedeploy lays out a deployment: ``workflow/Snakefile``
reads the user's study file and hands it to the module with ``config: config``, then
``use rule * from simstudy``. The study differs from the shipped default in every key
that shows in the results, so that running the default study by mistake cannot pass.
"""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, SNAKEMAKE, run_snakemake, write_config

pytestmark = pytest.mark.e2e

USER_SNAKEFILE = """\
configfile: "config/{study}"


onstart:
    open("user-onstart-ran", "w").close()


onsuccess:
    import gc

    with open("user-onsuccess-ran", "w") as handle:
        handle.write(str(gc.get_freeze_count()))


module simstudy:
    snakefile:
        "{repo}/Snakefile"
    config:
        config


use rule * from simstudy as simstudy_*
"""

USER_METHODS = '''"""A user's own clusterer, in the user's own folder."""
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans


class TwoStartKMeans(ClusterMixin, BaseEstimator):
    def __init__(self, n_clusters=3, random_state=None):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit_predict(self, X, y=None):
        model = KMeans(n_clusters=self.n_clusters, n_init=2, random_state=self.random_state)
        return model.fit_predict(X)
'''

#: A study unlike the default one: its own seed, scenario, methods and trial count.
USER_STUDY = {
    "seed": 31,
    "n_trials": 5,
    "chunk_size": 3,
    "scenarios": {"tight": {"params": {"n_samples": 45, "centers": 3, "cluster_std": 1.0}}},
    "methods": {
        "mine": {"estimator": "mymethods.TwoStartKMeans", "params": {"n_clusters": 3}},
        "ward": {
            "estimator": "sklearn.cluster.AgglomerativeClustering",
            "params": {"n_clusters": 3},
        },
    },
    "comparison": ["mine", "ward"],
}


def deployment(root: Path, study_file: str = "config.yaml") -> Path:
    """A user's deployment folder: workflow/Snakefile, config/<study_file>, their module."""
    (root / "workflow").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "workflow" / "Snakefile").write_text(
        USER_SNAKEFILE.format(study=study_file, repo=REPO)
    )
    write_config(root / "config" / study_file, USER_STUDY)
    (root / "code").mkdir()
    (root / "code" / "mymethods.py").write_text(USER_METHODS)
    return root


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    """``snakemake ARGS`` typed in the deployment folder, the user's module importable.

    The command runs through the snakemake server (see conftest.py), as the executable
    would, in that folder and with that environment; it saves the second of start-up.
    """
    env = {**os.environ, "PYTHONPATH": str(root / "code")}
    return run_snakemake([str(SNAKEMAKE), *args], root, env, timeout=600)


def rows(root: Path) -> list[dict[str, str]]:
    with open(root / "results" / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_config_given_to_the_module_is_the_study(tmp_path):
    root = deployment(tmp_path / "mine", study_file="study.yaml")  # no config/config.yaml
    result = run(root, "--cores", "2", "--config", "n_trials=4")
    assert result.returncode == 0, result.stdout + result.stderr
    got = rows(root)
    assert {(r["scenario"], r["method"]) for r in got} == {("tight", "mine"), ("tight", "ward")}
    assert sorted({int(r["trial"]) for r in got}) == [0, 1, 2, 3]  # --config reached it
    assert {r["status"] for r in got} == {"ok"}
    manifest = (root / "results" / "manifest.csv").read_text().splitlines()
    assert len(manifest) == 1 + 4
    for figure in ("ari_difference.png", "paired_scatter.png"):
        assert (root / "results" / "figures" / figure).stat().st_size > 0

    # A second run has nothing to do; a changed study file reruns what it changes.
    again = run(root, "--cores", "2", "--config", "n_trials=4")
    assert "Nothing to be done" in again.stdout + again.stderr
    # Only the trials are compared, so only they are asked for: no figure or report jobs.
    write_config(root / "config" / "study.yaml", {**USER_STUDY, "seed": 32})
    changed = run(root, "results/trials.csv", "--cores", "2", "--config", "n_trials=4")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert {r["seed"] for r in rows(root)}.isdisjoint({r["seed"] for r in got})
    assert (root / "user-onstart-ran").exists()  # the user's own handlers ran too
    # ... after the module's, which left the finished run's objects out of the last
    # garbage collection (command.smk, skip_final_collection).
    assert int((root / "user-onsuccess-ran").read_text()) > 0

    # The module's handlers run: a failed run leaves no product of the previous study.
    products = ("trials.csv", "summary.csv", "figures/ari_difference.png")
    assert all((root / "results" / product).exists() for product in products)
    methods = root / "code" / "mymethods.py"
    methods.write_text(methods.read_text().replace("return model", "raise ValueError(); model"))
    failed = run(root, "--cores", "2", "--config", "n_trials=4")
    assert failed.returncode != 0
    for product in products:
        assert not (root / "results" / product).exists(), product


def test_a_module_given_no_config_says_so(tmp_path):
    root = deployment(tmp_path / "mine")
    snakefile = root / "workflow" / "Snakefile"
    snakefile.write_text(snakefile.read_text().replace("    config:\n        config\n", ""))
    result = run(root, "--dry-run")
    assert result.returncode != 0
    assert "given no study" in result.stdout + result.stderr
    assert not (root / "results" / "trials.csv").exists()


def test_a_bad_study_given_to_the_module_is_refused_before_any_job(tmp_path):
    root = deployment(tmp_path / "mine")
    write_config(root / "config" / "config.yaml", {**USER_STUDY, "comparison": ["mine", "nope"]})
    result = run(root, "--cores", "2")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "comparison" in output and "nope" in output
    assert not (root / "results").exists()
