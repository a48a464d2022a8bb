"""Packaging: pyproject.toml and environment.yml agree, and the installed package works."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_and_pyproject_agree_on_runtime_packages():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    from_pyproject = {_name(r) for r in pyproject["project"]["dependencies"]}
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    from_conda = {_name(d) for d in conda} - {"python", "pip"}
    assert from_pyproject == from_conda
    assert environment["channels"] == ["conda-forge"]


def test_every_runtime_dependency_has_a_minimum_version():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for requirement in pyproject["project"]["dependencies"]:
        assert ">=" in requirement, requirement


def test_the_slurm_plugin_is_only_in_the_slurm_extra_which_ci_installs():
    """make installs `.[dev]`; once installed the plugin makes every snakemake command wait
    10 s where Slurm exists without a controller, so only the cluster path installs it."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    plugin = "snakemake-executor-plugin-slurm"
    assert plugin in {_name(r) for r in extras["slurm"]}
    assert all(plugin not in _name(r) and "slurm" not in r for r in extras["dev"])
    assert "-e '.[dev]'" in (REPO / "Makefile").read_text()
    assert "-e '.[dev,slurm]'" in (REPO / ".ci/run").read_text()


@pytest.mark.e2e
def test_the_installed_command_works_from_any_folder(finished_study, tmp_path):
    """A wheel of the package carries the schema: `simstudy replay` needs no checkout."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "simstudy", source / "simstudy", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "wheel"]
    subprocess.run([*build, source], check=True)  # setuptools of the dev extra: offline
    (wheel,) = (tmp_path / "wheel").glob("simstudy-*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True)

    elsewhere = tmp_path / "elsewhere"  # no config/, no workflow/, no checkout
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import simstudy.schema as s; print(s.SCHEMA)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), "the checkout's copy was used"
    results = finished_study("spawn") / "results"
    command = [site / "bin" / "simstudy", "replay", "--results", results]
    result = subprocess.run(
        [*command, "--scenario", "aniso", "--trial", "1", "--method", "kmeans"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches" in result.stdout and ": yes" in result.stdout, result.stdout


def _rule_blocks() -> dict[str, str]:
    """Every rule and checkpoint of the workflow, by name: the text of its body."""
    header = re.compile(r"^(?P<indent>[ ]*)(?:rule|checkpoint)\s+(?P<name>\w+):\s*$")
    blocks: dict[str, str] = {}
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            match = header.match(line)
            if match is None:
                continue
            indent = len(match["indent"])
            body = []
            for following in lines[i + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
            blocks[match["name"]] = "\n".join(body)
    return blocks


def test_every_rule_names_the_one_environment_and_says_where_it_runs():
    """The Snakefile's comment on software: one `conda:` per rule that runs code, all
    naming workflow/envs/simstudy.yaml, and `localrule: True` on every rule but the
    chunk jobs, which are the only ones a cluster runs."""
    blocks = _rule_blocks()
    assert {"all", "run_chunk", "merge_trials", "summarize", "stopping_round"} <= set(blocks)
    for name, body in blocks.items():
        runs_code = re.search(r"^\s*(script|shell|run|notebook|wrapper):", body, re.M)
        envs = re.findall(r"^\s*conda:\s*\n\s*\"([^\"]+)\"", body, re.M)
        if runs_code:
            assert envs == ["../envs/simstudy.yaml"], f"rule {name}: conda {envs}"
        else:
            assert envs == [], f"rule {name} runs no code but names an environment"
        is_local = re.search(r"^\s*localrule:\s*True\s*$", body, re.M) is not None
        assert is_local == (name != "run_chunk"), f"rule {name}: localrule {is_local}"
    sources = [REPO / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]
    assert not any(re.search(r"^\s*localrules:", p.read_text(), re.M) for p in sources)
    assert not re.search(r"^conda:", (REPO / "Snakefile").read_text(), re.M)
    assert (REPO / "workflow" / "envs" / "simstudy.yaml").is_file()
    environment = REPO / "environment.yml"
    assert environment.is_symlink()
    assert environment.resolve() == (REPO / "workflow" / "envs" / "simstudy.yaml").resolve()


def test_the_rules_environment_cannot_be_a_top_level_conda_directive():
    """The Snakefile's reason for not declaring the environment once at the top level:
    Snakemake hands a top-level `conda:` to conda-inject, to add to its own running
    process under --sdm conda, and conda-inject refuses an environment file that names
    python, as workflow/envs/simstudy.yaml does (python>=3.11). It refuses it before it
    calls conda, so this runs where conda is not installed."""
    from conda_inject import inject_env_file

    with pytest.raises(ValueError, match="contains python"):
        inject_env_file(REPO / "workflow" / "envs" / "simstudy.yaml")


def test_the_checkouts_profile_sets_greedy_scheduling_when_run_from_another_folder(
    tmp_path, monkeypatch
):
    """The workflow profile, as Snakemake's own command line reads it from another folder:
    the default scheduler's solver sometimes waited 10 s before the first job."""
    from snakemake.cli import parse_args

    monkeypatch.chdir(tmp_path)  # a user's folder: only the Snakefile's profiles/ apply
    _, args = parse_args(["--snakefile", str(REPO / "Snakefile"), "--cores", "2"])
    assert args.scheduler == "greedy"
    assert args.rerun_incomplete and args.show_failed_logs
