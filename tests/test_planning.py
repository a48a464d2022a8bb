"""Commands that only plan or inspect rewrite and remove nothing; a real run does what it needs.

Snakemake reads the workflow the same way for every command, and says what the command
does only once it builds the DAG. So the workflow writes the settings files, removes
the products the study does not make and starts the warm process only then, and only
for a real run (prepare_command in workflow/rules/command.smk); a command that only
plans creates the settings files that are missing, and changes none. Each test runs the
real ``snakemake`` command on a copy of the shared finished study, given a changed study
(whose settings files differ) and holding a stray figure (which a real run removes).
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest

from conftest import ONE_WORKER, finished_config, fresh_copy, snakemake

pytestmark = pytest.mark.e2e

#: On the search path of the commands: leaves a file named by its process id in the
#: folder $WARM_SPY for each warm process that starts (``python -m simstudy.warm``),
#: holding its command line, one argument a line.
SPY = """\
import os
import sys

if sys.orig_argv[1:3] == ["-m", "simstudy.warm"] and os.environ.get("WARM_SPY"):
    with open(os.path.join(os.environ["WARM_SPY"], str(os.getpid())), "w") as spy:
        spy.write("\\n".join(sys.orig_argv))
"""


def warm_later_modules(started: Path) -> list[str]:
    """The modules the one warm process that started was told to import between jobs."""
    (record,) = started.iterdir()
    arguments = record.read_text().splitlines()
    return arguments[arguments.index("--") + 1 :]


STRAY = "results/figures/an_old_figure.png"

#: Commands that only plan or inspect, among them some no list of options would name:
#: a dry run set in a profile, and an option shortened as argparse allows.
PLANNING = {
    "dry-run": ["--dry-run"],
    "dry-run-in-a-profile": ["--profile", "{profile}"],
    "shortened-summary": ["--summ"],
    "lint": ["--lint"],
    "list-rules": ["--list-rules"],
    "summary": ["--summary"],
    "dag": ["--dag"],
    "list-changes": ["--list-changes", "params"],
    "report": ["--report", "results/report.html"],
}


def _study_copy(finished_study, tmp_path: Path) -> tuple[Path, dict, dict[str, str]]:
    """A copy of the finished study with a stray figure; a changed study; the spy's env."""
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    shutil.copy2(workdir / "results/figures/ari_difference.png", workdir / STRAY)
    changed = copy.deepcopy(finished_config("spawn"))
    changed["methods"]["kmeans"]["params"]["n_init"] = 3
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(SPY)
    (tmp_path / "started").mkdir()
    search_path = os.pathsep.join(filter(None, [str(spy), os.environ.get("PYTHONPATH")]))
    env = {"PYTHONPATH": search_path, "WARM_SPY": str(tmp_path / "started")}
    return workdir, changed, env


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its content and mtime."""
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("command", PLANNING.values(), ids=PLANNING.keys())
def test_a_command_that_only_plans_changes_nothing_and_starts_nothing(
    finished_study, tmp_path, command
):
    workdir, changed, env = _study_copy(finished_study, tmp_path)
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "config.yaml").write_text("dry-run: true\n")
    before = _files(workdir / "results")

    args = [arg.format(profile=profile) for arg in command]
    snakemake(workdir, *args, config=changed, env=env)

    after = _files(workdir / "results")
    if "--report" in command:
        assert after.pop("report.html")[1] > before.pop("report.html", (b"", 0))[1]
    assert STRAY.removeprefix("results/") in after  # no product removed
    assert after == before  # no settings file rewritten, no output removed
    assert list((tmp_path / "started").iterdir()) == [], "a warm process started"


def test_reading_the_workflow_alone_writes_nothing(tmp_path):
    """--lint and --list-rules build no DAG: a fresh folder gets no results/ folder."""
    for command in ("--lint", "--list-rules"):
        snakemake(tmp_path, command)
        assert not (tmp_path / "results").exists(), command


def test_a_real_run_rewrites_the_settings_cleans_up_and_starts_the_warm_process(
    finished_study, tmp_path
):
    workdir, changed, env = _study_copy(finished_study, tmp_path)
    settings = workdir / "results/.settings/run_chunk"
    before = _files(settings)

    snakemake(workdir, "--cores", "2", *ONE_WORKER, config=changed, env=env)

    after = _files(settings)
    rewritten = sorted(
        name for name in after if name.endswith(".json") and after[name] != before[name]
    )
    assert rewritten == ["aniso/kmeans.json", "round/kmeans.json"]
    assert not (workdir / STRAY).exists()
    assert "simstudy.figure_rules" in warm_later_modules(tmp_path / "started")


def test_a_run_for_the_trials_alone_does_not_import_what_the_figures_need(
    finished_study, tmp_path
):
    # Imported between jobs, they would take a core from the chunk jobs for a second or two.
    workdir, changed, env = _study_copy(finished_study, tmp_path)
    snakemake(workdir, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=changed, env=env)
    assert warm_later_modules(tmp_path / "started") == []
