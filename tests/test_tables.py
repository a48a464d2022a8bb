"""Atomic writes: complete or absent, never half-written, with the usual permissions."""

from __future__ import annotations

import stat

import pytest

from simstudy.integrity import atomic_write, remove_stale_temporaries
from simstudy.tables import format_value


def test_a_finished_write_replaces_the_file_with_the_permissions_open_gives(tmp_path):
    target = tmp_path / "deep" / "table.csv"
    with atomic_write(target) as handle:
        handle.write("a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    # The file, and the record of its SHA-256 (see test_edited_tables.py); no temporary.
    assert sorted(p.name for p in target.parent.iterdir()) == [".table.csv.sha256", "table.csv"]
    # tempfile.mkstemp alone gives 0o600; results must be as readable as any file the
    # user writes (under the usual umask 022, by the group and others too).
    plain = tmp_path / "plain.csv"
    plain.write_text("")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(target) as handle:
        handle.write("new, half")
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_stale_temporaries_are_removed_and_results_kept(tmp_path):
    (tmp_path / "chunks").mkdir()
    stale = tmp_path / "chunks" / ".0-3.csv.abc123.tmp"
    stale.write_text("half")
    kept = tmp_path / "chunks" / "0-3.csv"
    kept.write_text("whole")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and kept.read_text() == "whole"


def test_cells_are_written_so_that_they_read_back_exactly():
    import numpy as np

    assert format_value(np.float64(0.1) + np.float64(0.2)) == "0.30000000000000004"
    assert format_value(np.float32(0.5)) == "0.5"
    assert float(format_value(1 / 3)) == 1 / 3
    assert format_value(float("nan")) == "" and format_value(None) == ""
    assert format_value(7) == "7" and format_value("ok") == "ok"
