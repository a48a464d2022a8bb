"""The merge: sorted, exact, byte-stable output, and a clear error for every bad chunk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from simstudy import seeding
from simstudy.chunks import run_chunk
from simstudy.config import check_config
from simstudy.integrity import file_sha256, write_manifest
from simstudy.layout import Chunk, chunk_files, group_key
from simstudy.merge import MergeError, merge_trials
from simstudy.plan import StudyPlan
from simstudy.provenance import chunk_record, write_json
from simstudy.schema import load_schema

from conftest import TINY_CONFIG

SCHEMA = load_schema()
N_TRIALS = 5


def study_config() -> dict:
    config = check_config({**TINY_CONFIG, "n_trials": N_TRIALS}, SCHEMA)
    config["scenarios"]["blobs"] = config["scenarios"]["aniso"]
    return config


#: "<scenario>/<group>" -> spec digest, as the workflow passes them to the merge.
SPECS = {
    group_key(s, g): StudyPlan(study_config()).spec(s, g).digest
    for s in ("aniso", "blobs")
    for g in ("gmm", "kmeans")
}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """Chunk files (with records) of two scenarios x two methods, chunk size 3, a manifest."""
    root = tmp_path_factory.mktemp("study")
    config = study_config()
    for path in chunk_files(["aniso", "blobs"], ["gmm", "kmeans"], N_TRIALS, 3, root / "chunks"):
        chunk = Chunk(*Path(path).parts[-3:-1], *map(int, Path(path).stem.split("-")))
        spec = StudyPlan(config).spec(chunk.scenario, chunk.group)
        rows = run_chunk(spec, chunk.start, chunk.stop, path)
        record = chunk_record(
            spec, chunk.start, chunk.stop, n_jobs=1, started=0.0, rows=rows, rows_path=path
        )
        write_json(Path(path).with_suffix(".json"), record)
    write_manifest(root / "manifest.csv", seeding.trial_seeds(config["seed"], "spawn", 0, 12))
    return root


def rewrite_record_only(path: str) -> None:
    record_path = Path(path).with_suffix(".json")
    record = json.loads(record_path.read_text())
    record["sha256"] = file_sha256(path)
    record_path.write_text(json.dumps(record))


def rewrite(path: str, text: str) -> None:
    """Give a chunk new content, as a chunk job that wrote it would: record included."""
    Path(path).write_text(text)
    rewrite_record_only(path)


def copy_study(study: Path, tmp_path: Path) -> tuple[list[str], Path]:
    shutil.copytree(study, tmp_path / "s")
    chunks = chunk_files(["aniso", "blobs"], ["gmm", "kmeans"], N_TRIALS, 3, tmp_path / "s/chunks")
    return chunks, tmp_path / "s/manifest.csv"


def merge(
    chunks, manifest, output, n_trials=N_TRIALS, on_error="raise", specs=SPECS, method_values=None
):
    return merge_trials(
        chunks,
        output,
        manifest=manifest,
        n_trials=n_trials,
        values=["ari"],
        specs=specs,
        method_values=method_values,
        on_error=on_error,
    )


def test_merge_is_sorted_complete_and_byte_stable(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    assert merge(chunks, manifest, tmp_path / "a.csv") == 2 * N_TRIALS * 2
    assert merge(list(reversed(chunks)), manifest, tmp_path / "b.csv") == 20
    text = (tmp_path / "a.csv").read_bytes()
    assert text == (tmp_path / "b.csv").read_bytes()
    lines = text.decode().splitlines()
    assert lines[0] == "scenario,trial,method,ari,seed,spec,status,error,n_warnings,warning"
    keys = [
        (line.split(",")[0], int(line.split(",")[1]), line.split(",")[2]) for line in lines[1:]
    ]
    assert keys == sorted(keys)
    assert len(set(keys)) == 20


def test_merge_copies_cells_verbatim(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    merge(chunks, manifest, tmp_path / "t.csv")
    merged = set((tmp_path / "t.csv").read_text().splitlines()[1:])
    original = {line for c in chunks for line in Path(c).read_text().splitlines()[1:]}
    assert merged == original


def test_fewer_trials_keeps_only_the_trials_below_the_count(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    assert merge(chunks, manifest, tmp_path / "t.csv", n_trials=4) == 16
    trials = {
        int(line.split(",")[1]) for line in (tmp_path / "t.csv").read_text().splitlines()[1:]
    }
    assert trials == {0, 1, 2, 3}


def expect_error(chunks, manifest, tmp_path, *fragments, **options):
    output = tmp_path / "out.csv"
    output.write_text("previous content\n")
    with pytest.raises(MergeError) as caught:
        merge(chunks, manifest, output, **options)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)
    assert output.read_text() == "previous content\n", "a failed merge must not touch the output"
    assert not list(tmp_path.glob(".out.csv.*")), "no temporary file may be left"
    return str(caught.value)


def test_a_value_its_method_does_not_give_is_named(study, tmp_path):
    # In a chunk of several methods (methods_per_chunk: all), each method's rows have
    # its own values and nothing in the columns of the others.
    chunks, manifest = copy_study(study, tmp_path)
    given = {"gmm": ["ari"], "kmeans": ["ari"]}
    assert merge(chunks, manifest, tmp_path / "t.csv", method_values=given) == 20
    expect_error(
        chunks,
        manifest,
        tmp_path,
        "ari",
        "is set, but method 'kmeans' does not give ari",
        method_values={"gmm": ["ari"], "kmeans": []},
    )


def test_missing_chunk_file_is_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    Path(chunks[1]).unlink()
    expect_error(chunks, manifest, tmp_path, chunks[1], "missing")


def test_chunk_left_out_of_the_list_is_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    expect_error(chunks[1:], manifest, tmp_path, "aniso/gmm/0-3.csv", "missing")
    expect_error(chunks[:1] + chunks[2:], manifest, tmp_path, "aniso/gmm/3-*.csv", "trials 3-4")


def test_duplicated_chunk_is_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    expect_error([*chunks, chunks[0]], manifest, tmp_path, chunks[0], "listed twice")
    overlapping = str(Path(chunks[0]).with_name("2-5.csv"))
    shutil.copy(chunks[1], overlapping)
    expect_error([*chunks, overlapping], manifest, tmp_path, "2-5.csv", "duplicated")


def test_truncated_chunk_is_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    data = Path(chunks[2]).read_text()
    rewrite(chunks[2], data[: len(data) - 30])
    expect_error(chunks, manifest, tmp_path, chunks[2], "truncated")


def test_chunk_cut_at_a_line_end_is_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    lines = Path(chunks[2]).read_text().splitlines(keepends=True)
    rewrite(chunks[2], "".join(lines[:-1]))
    expect_error(chunks, manifest, tmp_path, chunks[2], "truncated")


def cut_fields(text: str) -> str:
    lines = text.splitlines()
    lines[-1] = ",".join(lines[-1].split(",")[:-2])  # the last row lost its last cells
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("cut", "fragment"),
    [
        (cut_fields, "truncated or corrupt chunk"),
        (lambda text: "".join(text.splitlines(keepends=True)[:-1]), "the chunk is truncated"),
        (lambda text: text[:-1], "the chunk is truncated"),  # no final line end
    ],
)
def test_a_truncated_chunk_says_how_to_redo_it(study, tmp_path, cut, fragment):
    chunks, manifest = copy_study(study, tmp_path)
    rewrite(chunks[2], cut(Path(chunks[2]).read_text()))
    message = expect_error(chunks, manifest, tmp_path, chunks[2], fragment, "Redo the chunk")
    assert f"rm {chunks[2]} {Path(chunks[2]).with_suffix('.json')}, then run" in message


def test_unreadable_chunk_is_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    Path(chunks[3]).write_bytes(b"\xff\xfe\x00garbage")
    rewrite_record_only(chunks[3])
    expect_error(chunks, manifest, tmp_path, chunks[3], "unreadable")


def test_chunk_with_a_wrong_seed_is_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    text = Path(chunks[0]).read_text().splitlines()
    cells = text[2].split(",")
    cells[4] = str(int(cells[4]) + 1)
    text[2] = ",".join(cells)
    rewrite(chunks[0], "\n".join(text) + "\n")
    expect_error(chunks, manifest, tmp_path, chunks[0], "trial 1 has seed", f"remove {manifest}")


def test_recorded_failure_stops_a_raise_mode_merge(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    text = Path(chunks[0]).read_text().splitlines()
    cells = text[1].split(",")
    cells[3], cells[6], cells[7] = "", "error", "ValueError: boom"
    text[1] = ",".join(cells)
    rewrite(chunks[0], "\n".join(text) + "\n")
    expect_error(
        chunks, manifest, tmp_path, "trial=0", "method=gmm", "ValueError: boom", "simstudy replay"
    )
    assert merge(chunks, manifest, tmp_path / "ok.csv", on_error="record") == 20


def test_a_changed_value_is_caught_by_the_checksum_and_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    lines = Path(chunks[0]).read_text().splitlines()
    cells = lines[2].split(",")  # trial 1: not the example trial
    cells[3] = repr(float(cells[3]) / 2)
    lines[2] = ",".join(cells)
    Path(chunks[0]).write_text("\n".join(lines) + "\n")
    message = expect_error(chunks, manifest, tmp_path, chunks[0], "SHA-256", "Redo the chunk")
    assert f"rm {chunks[0]} {Path(chunks[0]).with_suffix('.json')}" in message


def test_a_row_naming_another_spec_is_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    lines = Path(chunks[1]).read_text().splitlines()
    cells = lines[1].split(",")
    cells[5] = "0123456789abcdef"
    lines[1] = ",".join(cells)
    rewrite(chunks[1], "\n".join(lines) + "\n")
    expect_error(chunks, manifest, tmp_path, chunks[1], "0123456789abcdef", "Redo the chunk")


def test_a_chunk_of_another_spec_is_named(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    specs = {**SPECS, "aniso/gmm": "fedcba9876543210"}
    expect_error(chunks, manifest, tmp_path, chunks[0], "fedcba9876543210", specs=specs)


@pytest.mark.parametrize("content", ["{not json", '{"spec": "x"}', ""])
def test_a_corrupt_chunk_record_is_named(study, tmp_path, content):
    chunks, manifest = copy_study(study, tmp_path)
    record = Path(chunks[2]).with_suffix(".json")
    record.write_text(content)
    expect_error(chunks, manifest, tmp_path, str(record), "chunk record", "Redo the chunk")


def test_chunks_must_cover_exactly_the_configured_groups(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    kmeans_less = [c for c in chunks if "/kmeans/" not in c]
    expect_error(kmeans_less, manifest, tmp_path, "aniso/kmeans", "blobs/kmeans")
    extra = {k: v for k, v in SPECS.items() if k != "blobs/gmm"}
    expect_error(chunks, manifest, tmp_path, "blobs/gmm", specs=extra)


def test_each_scenario_keeps_its_own_number_of_trials(study, tmp_path):
    chunks, manifest = copy_study(study, tmp_path)
    # a precision-driven study stopped aniso at 5 trials and blobs at 2: blobs' 0-3 chunk
    # holds one trial more, which is checked and left out
    kept = [c for c in chunks if "/blobs/" not in c or c.endswith("/0-3.csv")]
    assert merge(kept, manifest, tmp_path / "t.csv", n_trials={"aniso": 5, "blobs": 2}) == 14
    rows = [line.split(",")[:2] for line in (tmp_path / "t.csv").read_text().splitlines()[1:]]
    assert sorted({int(t) for s, t in rows if s == "blobs"}) == [0, 1]
    expect_error(
        chunks,
        manifest,
        tmp_path,
        "chunk is not needed, trials stop at 2",
        n_trials={"aniso": 5, "blobs": 2},
    )
