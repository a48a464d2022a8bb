"""The study plan and the layout of its files: what runs in which job, and where."""

from __future__ import annotations

import copy

import pytest

from simstudy import layout
from simstudy.config import check_config
from simstudy.config_slices import drawing_config, results_config
from simstudy.plan import StudyPlan
from simstudy.spec import config_digest
from simstudy.study_layout import StudyLayout

from conftest import TINY_CONFIG


def plan_of(**changes) -> StudyPlan:
    config = copy.deepcopy(TINY_CONFIG)
    config.update(changes)
    return StudyPlan(check_config(config))


def test_each_method_is_a_group_under_spawn_and_all_share_one_under_legacy():
    assert plan_of().groups == ["gmm", "kmeans"]
    assert plan_of(seeding="legacy").groups == ["gmm+kmeans"]
    assert plan_of().pairs() == [("aniso", "gmm"), ("aniso", "kmeans")]
    assert plan_of(seeding="legacy").group_of("kmeans") == "gmm+kmeans"
    with pytest.raises(ValueError, match="'svm' is not in the study"):
        plan_of().group_of("svm")


def test_a_spec_ignores_what_cannot_change_results():
    base = plan_of()
    other = plan_of(n_trials=500, chunk_size=17, on_error="record", figures={"dpi": 80})
    assert base.spec("aniso", "gmm") == other.spec("aniso", "gmm")
    assert config_digest(base.config) != config_digest(other.config)
    assert base.group_digests() == other.group_digests()


def test_a_spec_changes_with_its_own_method_only():
    base = plan_of()
    methods = copy.deepcopy(TINY_CONFIG["methods"])
    methods["gmm"]["params"]["n_init"] = 3
    changed = plan_of(methods=methods)
    assert changed.spec("aniso", "gmm").digest != base.spec("aniso", "gmm").digest
    assert changed.spec("aniso", "kmeans") == base.spec("aniso", "kmeans")
    assert base.spec("aniso", "gmm").code, "a spec carries the digest of its code"


def test_a_spec_of_an_unknown_scenario_or_method_is_refused_by_name():
    with pytest.raises(ValueError, match="scenario 'blobs' is not in the study"):
        plan_of().spec("blobs", "gmm")
    with pytest.raises(ValueError, match=r"not in the study: \['svm'\]"):
        plan_of().spec("aniso", "gmm+svm")


def test_spec_records_map_every_digest_to_its_spec():
    plan = plan_of()
    records = plan.spec_records()
    assert sorted(records) == sorted(plan.group_digests().values())
    assert {r["methods"][0]["name"] for r in records.values()} == {"gmm", "kmeans"}


def test_the_example_runs_the_compared_methods_under_spawn_and_all_under_legacy():
    methods = copy.deepcopy(TINY_CONFIG["methods"])
    methods = {
        "kmeans": methods["kmeans"],
        "spare": {**methods["kmeans"], "label": "Spare"},
        "gmm": methods["gmm"],
    }
    spawn = plan_of(methods=methods, comparison=["gmm", "kmeans"], figures={"example_trial": 4})
    assert spawn.example.methods == ("kmeans", "gmm")  # config order
    assert [s.method_names for s in spawn.example_specs()] == [("kmeans",), ("gmm",)]
    assert (spawn.example.scenario, spawn.example.trial) == ("aniso", 4)
    legacy = plan_of(methods=methods, seeding="legacy")
    assert legacy.example.methods == ("kmeans", "spare", "gmm")
    assert legacy.example_specs() == [legacy.spec("aniso", legacy.groups[0])]
    # With every method in the same chunks, the example runs them all, as its chunk did.
    shared = plan_of(methods=methods, comparison=["gmm", "kmeans"], methods_per_chunk="all")
    assert [s.method_names for s in shared.example_specs()] == [("kmeans", "spare", "gmm")]


def test_results_config_leaves_out_labels_figures_and_run_only_keys():
    plan = plan_of(trial_time_limit=30)
    kept = results_config(plan.config)
    assert "figures" not in kept and "trial_time_limit" not in kept
    assert all("label" not in m for m in kept["methods"].values())
    assert drawing_config(plan.config)["figures"] == plan.config["figures"]
    assert "trial_time_limit" not in drawing_config(plan.config)
    assert plan.method_label("gmm") == "GMM" and plan.scenario_label("aniso") == "aniso"


def test_final_outputs_are_the_interface_files():
    outputs = StudyLayout(plan_of()).final_outputs()
    assert outputs[:2] == ["results/manifest.csv", "results/trials.csv"]
    for name in ("example_data", "example_clusterings", "ari_difference"):
        assert f"results/figures/{name}.png" in outputs
    assert "results/summary.csv" in outputs and len(set(outputs)) == len(outputs)


def test_chunk_paths_follow_the_rule_pattern_and_read_back():
    chunk = layout.Chunk("aniso", "gmm", 3, 6)
    assert chunk.path() == layout.CHUNK_FILE.format(scenario="aniso", group="gmm", start=3, stop=6)
    assert layout.parse_chunk_path(chunk.path()) == chunk
    with pytest.raises(ValueError, match="names an empty trial range"):
        layout.parse_chunk_path("results/chunks/aniso/gmm/6-6.csv")


def test_the_plan_lists_one_chunk_per_slot_and_pair():
    files = StudyLayout(plan_of())  # 7 trials in chunks of 3
    assert files.chunk_files == [
        f"results/chunks/aniso/{group}/{span}.csv"
        for group in ("gmm", "kmeans")
        for span in ("0-3", "3-6", "6-7")
    ]
    assert files.chunk_records()[0] == "results/chunks/aniso/gmm/0-3.json"
    assert files.timing_files()[0] == "results/timings/aniso/gmm/0-3.csv"


def test_a_short_last_chunk_reuses_a_longer_finished_file_of_the_same_start():
    args = (["aniso"], ["gmm"], 7, 3)
    longer = {("aniso", "gmm"): {0: [3], 3: [6], 6: [9]}}
    # n_trials lowered from 9 to 7: the finished 6-9 holds trials 6 and 7, reuse it.
    assert layout.chunk_files(*args, finished=longer)[-1].endswith("/6-9.csv")
    # The exact file, once there, wins; so does a plain plan without a snapshot.
    exact = {("aniso", "gmm"): {6: [9, 7]}}
    assert layout.chunk_files(*args, finished=exact)[-1].endswith("/6-7.csv")
    assert layout.chunk_files(*args)[-1].endswith("/6-7.csv")
    # Only a file within one chunk size counts, and only of the same group.
    too_long = {("aniso", "gmm"): {6: [12]}, ("aniso", "kmeans"): {6: [9]}}
    assert layout.chunk_files(*args, finished=too_long)[-1].endswith("/6-7.csv")


def test_finished_chunks_reads_only_chunk_files(tmp_path):
    assert layout.finished_chunks(tmp_path / "missing") == {}
    group = tmp_path / "aniso" / "gmm"
    group.mkdir(parents=True)
    for name in ("0-3.csv", "3-6.csv", "3-5.csv", "6-9.json", ".6-9.csv.x1.tmp", "notes.txt"):
        (group / name).write_text("")
    assert layout.finished_chunks(tmp_path) == {("aniso", "gmm"): {0: [3], 3: [5, 6]}}


def test_a_study_layout_reads_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results/chunks/aniso/gmm").mkdir(parents=True)
    (tmp_path / "results/chunks/aniso/gmm/6-9.csv").write_text("")
    assert StudyLayout(plan_of()).chunk_files[2].endswith("/6-7.csv")


def test_rounds_get_chunk_files_of_their_own():
    # 4 trials, then rounds of 3, cut into chunks of 2; the cap cuts the last round short
    assert layout.round_slots(4, 3, 4, 2) == [(0, 2), (2, 4)]
    assert layout.round_slots(4, 3, 10, 2) == [(0, 2), (2, 4), (4, 6), (6, 7), (7, 9), (9, 10)]
    # a later round never changes the ranges of an earlier one
    assert layout.round_slots(4, 3, 7, 2) == layout.round_slots(4, 3, 10, 2)[:4]


def test_rounds_reuse_finished_files_that_fit():
    # max_trials raised after it cut round 2 short (7-9 of 7-10), or chunk_size changed
    finished = {0: [4], 4: [7], 7: [9]}
    assert layout.round_slots(4, 3, 10, 2, finished) == [(0, 4), (4, 7), (7, 9), (9, 10)]
    # max_trials lowered from 10 to 8: the last round reuses the longer 7-10 file
    longer = {0: [4], 4: [7], 7: [10]}
    assert layout.round_slots(4, 3, 8, 5, longer, max_trials=8) == [(0, 4), (4, 7), (7, 10)]
    # ... but only a round that ends at the cap, which no round can follow
    assert layout.round_slots(4, 3, 4, 10, {0: [10]}, max_trials=4) == [(0, 10)]
    assert layout.round_slots(4, 3, 4, 10, {0: [10]}, max_trials=20) == [(0, 4)]


def test_a_precision_driven_plan_lists_each_scenarios_files_and_a_full_manifest():
    config = check_config(
        {**TINY_CONFIG, "chunk_size": 5, "stopping": {"half_width": 0.1, "max_trials": 30}}
    )
    files = StudyLayout(StudyPlan(config))
    assert files.manifest_trials == 30
    assert files.scenario_chunk_files("aniso", 7) == [
        layout.Chunk("aniso", group, a, b).path()
        for group in ("gmm", "kmeans")
        for a, b in ((0, 5), (5, 7))
    ]
    assert layout.STOPPING in files.final_outputs()
    fixed = StudyLayout(StudyPlan(check_config(TINY_CONFIG)))
    assert layout.STOPPING not in fixed.final_outputs()
    assert fixed.manifest_trials == TINY_CONFIG["n_trials"]
    with pytest.raises(ValueError, match="for studies with a stopping section"):
        fixed.scenario_chunk_files("aniso", 7)
