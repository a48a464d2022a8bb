"""Every file a rule reads is checked against the SHA-256 recorded when it was written.

The unit tests show the mechanism in :mod:`simstudy.tables`: :func:`atomic_write` keeps a
record beside each file, and :func:`checked_inputs` refuses a file that no longer
matches it or has none. The end-to-end tests take the path a user takes: edit a table of
a finished study by hand, run ``snakemake`` again, read the message, do what it says.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from simstudy.integrity import (
    ChangedFileError,
    atomic_write,
    checked_inputs,
    record_path,
    verify_recorded,
    write_if_changed,
    write_table,
)

from conftest import ONE_WORKER, REPO, finished_config, fresh_copy, snakemake

# -- the mechanism ------------------------------------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_written_file_has_its_sha256_recorded_beside_it_and_only_there(tmp_path):
    target = tmp_path / "results" / "trials.csv"
    write_table(target, ("a", "b"), [{"a": 1, "b": 0.5}])
    assert target.read_text() == "a,b\n1,0.5\n", "the file holds what was written, no more"
    record = record_path(target)
    assert record == tmp_path / "results" / ".trials.csv.sha256"
    assert record.read_text() == f"{sha(target)}  trials.csv\n"
    verify_recorded([target])
    if shutil.which("sha256sum"):  # the record is in sha256sum's format
        check = subprocess.run(
            ["sha256sum", "-c", record.name], cwd=target.parent, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_a_changed_file_is_refused_naming_it_and_how_to_redo_it(tmp_path):
    target = tmp_path / "summary.csv"
    with atomic_write(target) as handle:
        handle.write("n\n40\n")
    target.write_text("n\n41\n")
    with pytest.raises(ChangedFileError) as caught:
        verify_recorded([target])
    message = str(caught.value)
    assert f"{target} changed after the workflow wrote it" in message
    assert "(edited by hand or by another program)" in message
    assert f"rm {target}, then run snakemake again as before" in message


@pytest.mark.parametrize(
    ("record", "says"),
    [
        (None, "has no record of the SHA-256 it was written with"),
        ("not a digest\n", "is not a SHA-256 record of it"),
        (f"{'0' * 64}  other.csv\n", "is not a SHA-256 record of it"),
    ],
    ids=["missing", "corrupt", "of another file"],
)
def test_a_file_without_a_valid_record_is_refused(tmp_path, record, says):
    target = tmp_path / "manifest.csv"
    target.write_text("trial,seed\n0,1\n")  # not written by the workflow
    if record is not None:
        record_path(target).write_text(record)
    with pytest.raises(ChangedFileError, match=re.escape(says)) as caught:
        verify_recorded([target])
    assert f"rm {target}, then run snakemake again" in str(caught.value)


def test_failed_and_removed_writes_leave_records_that_do_no_harm(tmp_path):
    target = tmp_path / "timings.csv"
    with atomic_write(target) as handle:
        handle.write("old\n")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("new, half")
        raise RuntimeError("the job failed")
    verify_recorded([target])  # the old file, with its own record
    target.unlink()  # as Snakemake deletes a failed job's output: the record stays
    with pytest.raises(FileNotFoundError):
        verify_recorded([target])
    with atomic_write(target, binary=True) as handle:
        handle.write(b"remade\n")
    verify_recorded([target])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".timings.csv.sha256", "timings.csv"]
    with atomic_write(tmp_path / "plain.txt", record=False) as handle:
        handle.write("no record asked for\n")
    assert not record_path(tmp_path / "plain.txt").exists()


def test_settings_files_rewritten_when_changed_get_records_too(tmp_path):
    settings = tmp_path / ".settings" / "summarize.json"
    assert write_if_changed(settings, "{}\n")
    assert not write_if_changed(settings, "{}\n")
    verify_recorded([settings])


def test_a_rule_checks_its_inputs_but_settings_and_chunks_and_names_every_bad_one(tmp_path):
    good, edited, unrecorded = (tmp_path / name for name in ("a.json", "b.json", "c.csv"))
    for path in (good, edited):
        with atomic_write(path) as handle:
            handle.write("{}\n")
    edited.write_text('{"stopped": true}\n')
    unrecorded.write_text("x\n")
    settings, chunk = tmp_path / "settings.json", tmp_path / "0-4.csv"
    settings.write_text("{}\n")
    chunk.write_text("a\n")  # the merge checks chunks against their JSON records
    checked_inputs({"settings": str(settings), "chunks": [str(chunk)], "previous": str(good)})
    with pytest.raises(ChangedFileError) as caught:
        checked_inputs({"decisions": [str(good), str(edited)], "table": str(unrecorded)})
    message = str(caught.value)
    assert f"{edited} changed after" in message and f"{unrecorded} has no record" in message
    assert f"{good} " not in message
    assert f"rm {edited} {unrecorded}, then run snakemake again" in message


# Rules whose only input is their settings file, so they have nothing to check.
READ_NOTHING = {"run_chunk.py", "run_example.py", "seed_manifest.py"}


@pytest.mark.parametrize(
    "script",
    sorted(p.name for p in (REPO / "scripts").glob("*.py") if p.name not in READ_NOTHING),
)
def test_every_rule_script_checks_its_inputs_before_it_reads_one(script):
    source = (REPO / "scripts" / script).read_text()
    check = source.find("checked_inputs(smk.input)")
    assert check != -1, f"{script} does not check its inputs"
    assert "smk.input" not in source[:check], f"{script} reads an input before checking"


# -- end to end ---------------------------------------------------------------------------

#: What the rules that read trials.csv, summary.csv and the example file make.
PRODUCTS = [
    "results/summary.csv",
    "results/provenance.json",
    "results/report/summary.html",
    "results/figures/example_data.png",
    "results/figures/ari_difference.png",
    "results/figures/score_vs_time.png",
]


def snapshot(workdir: Path) -> dict[str, bytes]:
    return {path: (workdir / path).read_bytes() for path in ["results/trials.csv", *PRODUCTS]}


def none_made_from_the_edit(workdir: Path, before: dict[str, bytes], edited: str) -> None:
    """Each product but the edited file is gone (removed for its rerun) or still the one
    made before the edit."""
    for path in PRODUCTS:
        if path != edited and (workdir / path).exists():
            assert (workdir / path).read_bytes() == before[path], f"{path} was remade"


def scale(table: Path, line: int, column: str, factor: float) -> None:
    """Edit a table as a user would: change one number, the rest of the file untouched."""
    lines = table.read_text().splitlines()
    cells = lines[line].split(",")
    index = lines[0].split(",").index(column)
    cells[index] = repr(float(cells[index]) * factor)
    lines[line] = ",".join(cells)
    table.write_text("\n".join(lines) + "\n")


def follow_the_advice(output: str, workdir: Path) -> list[str]:
    """Run the ``rm`` the message gives; return the files it removed."""
    advice = re.search(r"To make (?:it|them) again: rm (.+?), then run snakemake again", output)
    assert advice, output
    removed = advice.group(1).split()
    subprocess.run(["rm", *removed], cwd=workdir, check=True)
    return removed


@pytest.mark.e2e
def test_an_edited_trials_csv_stops_every_rule_that_reads_it_until_it_is_remade(
    finished_study, tmp_path
):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    config = finished_config("spawn")
    before = snapshot(workdir)
    scale(workdir / "results/trials.csv", 4, "ari", 0.5)  # trial 1: not the example trial

    result = snakemake(workdir, "--cores", "2", *ONE_WORKER, config=config, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "results/trials.csv changed after the workflow wrote it (edited by hand" in output
    assert "rm results/trials.csv, then run snakemake again as before" in output
    # Snakemake removed summary.csv to remake it, and the failed job wrote nothing.
    assert not (workdir / "results/summary.csv").exists()
    none_made_from_the_edit(workdir, before, "results/trials.csv")

    assert follow_the_advice(output, workdir) == ["results/trials.csv"]
    snakemake(workdir, "--cores", "2", *ONE_WORKER, config=config)
    after = snapshot(workdir)
    for path in ("results/trials.csv", "results/summary.csv"):
        assert after[path] == before[path], path


@pytest.mark.e2e
def test_an_edited_summary_and_example_stop_the_figures_and_report_until_remade(
    finished_study, tmp_path
):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    config = finished_config("spawn")
    before = snapshot(workdir)
    example = workdir / "results/example/trial.json"
    original_example = example.read_bytes()
    # A point of the example's dataset (its scores still match trials.csv, so only the
    # record shows the edit), and a mean in the summary.
    example.write_bytes(re.sub(rb'"X":\[\[[^,]+', b'"X":[[0.125', original_example, count=1))
    assert example.read_bytes() != original_example
    scale(workdir / "results/summary.csv", 1, "mean", 1.01)

    # --keep-going: every rule that reads them runs, and each must refuse.
    run = ("--cores", "2", *ONE_WORKER)
    result = snakemake(workdir, *run, "--keep-going", config=config, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    figures = re.search(
        r"results/example/trial\.json changed after.*?--configfile and --config\)", output
    )
    assert figures and "results/summary.csv changed after" in figures.group(0), output
    for rule in ("plot_figures", "plot_timings", "report_tables"):
        log = (workdir / f"results/logs/{rule}.log").read_text()
        assert "results/summary.csv changed after the workflow wrote it" in log, rule
    none_made_from_the_edit(workdir, before, "results/summary.csv")

    assert sorted(follow_the_advice(figures.group(0), workdir)) == [
        "results/example/trial.json",
        "results/summary.csv",
    ]
    snakemake(workdir, *run, config=config)
    assert example.read_bytes() == original_example
    after = snapshot(workdir)
    assert after["results/summary.csv"] == before["results/summary.csv"]
    assert after["results/trials.csv"] == before["results/trials.csv"]
