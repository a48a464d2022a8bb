"""Config checks: defaults, coercion of --config strings, and one clear error per mistake."""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml

from simstudy.config import check_config
from simstudy.schema import load_schema
from simstudy.study_files import ConfigError, read_study_file

from bad_configs import BAD_CONFIGS
from conftest import REPO, TINY_CONFIG, forget_code_digests, replay, write_config

SCHEMA = load_schema()


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_each_bad_config_is_refused_naming_key_and_value(name):
    config, fragments = BAD_CONFIGS[name]
    with pytest.raises(ConfigError) as caught:
        check_config(config, SCHEMA)
    for fragment in fragments:
        assert fragment in str(caught.value), (fragment, str(caught.value))


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("seed: 1\nn_trials: 4\nseed: 2\n", ["line 3", "duplicate key 'seed'"]),
        ("methods: {a: {params: {x: 1, x: 2}}}\n", ["line 1", "duplicate key 'x'"]),
        ('{"seed": 1, "seed": 2}', ["duplicate key 'seed'"]),
        ("seed: !!python/tuple [1, 2]\n", ["YAML tags are not allowed", "!!python/tuple"]),
        ("seed: !!python/object/apply:os.system [echo]\n", ["YAML tags are not allowed"]),
        ("seed: !custom 3\n", ["YAML tags are not allowed", "!custom"]),
        ("params: !!set {a, b}\n", ["a YAML set is not allowed"]),
        ("params: {when: 2024-01-01}\n", ["'2024-01-01' reads as a date", "quote it"]),
        ("- just\n- a list\n", ["must hold a mapping"]),
    ],
)
def test_study_files_are_read_strictly(tmp_path, text, fragments):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_study_file(path)
    for fragment in [str(path), *fragments]:
        assert fragment in str(caught.value)


def test_a_json_study_file_may_be_indented_with_tabs(tmp_path):
    path = tmp_path / "study.json"
    path.write_text(
        json.dumps({"seed": 3, "methods": {"km": {"params": {"tol": 0.5}}}}, indent="\t")
    )
    assert read_study_file(path) == {"seed": 3, "methods": {"km": {"params": {"tol": 0.5}}}}


def test_shipped_config_is_the_blogs_study():
    with open(REPO / "config/config.yaml", encoding="utf-8") as handle:
        config = check_config(yaml.safe_load(handle), SCHEMA)
    assert config["seed"] == 8888
    assert config["n_trials"] == 40
    assert config["seeding"] == "spawn"
    assert config["scenarios"]["aniso"] == {
        "generator": "simstudy.data.anisotropic_blobs",
        "params": {
            "n_samples": 300,
            "centers": 3,
            "cluster_std": 2.5,
            "transformation": [[0.6, -0.6], [-0.4, 0.8]],
        },
    }
    assert config["methods"]["gmm"]["estimator"] == "sklearn.mixture.GaussianMixture"
    assert config["methods"]["gmm"]["params"] == {
        "n_components": 3,
        "covariance_type": "full",
        "n_init": 20,
    }
    assert config["methods"]["kmeans"]["estimator"] == "sklearn.cluster.KMeans"
    assert config["methods"]["kmeans"]["params"] == {"n_clusters": 3, "n_init": 20}
    assert config["metrics"] == ["ari"]
    assert config["comparison"] == ["gmm", "kmeans"]


def test_defaults_are_filled_in_from_the_schema():
    config = copy.deepcopy(TINY_CONFIG)
    del config["chunk_size"], config["seeding"], config["metrics"]
    resolved = check_config(config, SCHEMA)
    assert resolved["chunk_size"] == SCHEMA["properties"]["chunk_size"]["default"]
    assert resolved["seeding"] == "spawn"
    assert resolved["metrics"] == ["ari"]
    assert resolved["on_error"] == "raise"
    assert resolved["figures"] == {
        "example_scenario": "aniso",
        "example_trial": 0,
        "dpi": 150,
        "nested_loop_measure": "bias",
    }
    assert config == {k: v for k, v in TINY_CONFIG.items() if k in config}, "input was modified"


def test_every_schema_key_has_type_description_and_default_or_is_required():
    required = set(SCHEMA["required"])
    for key, entry in SCHEMA["properties"].items():
        assert "type" in entry, key
        assert entry.get("description"), key
        assert "default" in entry or key in required, key


def test_nested_command_line_values_arrive_as_text_and_are_read_as_numbers():
    # What `--config 'methods={kmeans: {params: {n_init: 5}}}'` gives the Snakefile.
    config = copy.deepcopy(TINY_CONFIG)
    config["methods"]["kmeans"]["params"] = {"n_clusters": "3", "n_init": "5", "tol": "1e-3"}
    config["scenarios"]["aniso"]["params"]["transformation"] = [["1.0", "0"], ["0", "1"]]
    resolved = check_config(config, SCHEMA)
    assert resolved["methods"]["kmeans"]["params"] == {"n_clusters": 3, "n_init": 5, "tol": 0.001}
    assert resolved["scenarios"]["aniso"]["params"]["transformation"] == [[1.0, 0], [0, 1]]


def test_passed_component_checks_are_remembered_per_config_and_versions(tmp_path, monkeypatch):
    import simstudy.config as config_module

    cache = tmp_path / "checked"
    check_config(copy.deepcopy(TINY_CONFIG), SCHEMA, cache_dir=cache)
    assert len(list(cache.iterdir())) == 1

    def must_not_run(resolved):
        raise AssertionError("the cached checks ran again")

    monkeypatch.setattr(config_module, "_check_components", must_not_run)
    check_config(copy.deepcopy(TINY_CONFIG), SCHEMA, cache_dir=cache)  # a hit: no error
    changed = copy.deepcopy(TINY_CONFIG)
    changed["methods"]["kmeans"]["params"]["n_init"] = 4
    with pytest.raises(AssertionError, match="ran again"):
        check_config(changed, SCHEMA, cache_dir=cache)
    import simstudy.digests as digests

    monkeypatch.setattr(
        digests, "installed_version", lambda top: None if top == "simstudy" else f"{top}==0.0"
    )
    with pytest.raises(AssertionError, match="ran again"):  # another scikit-learn
        check_config(copy.deepcopy(TINY_CONFIG), SCHEMA, cache_dir=cache)


def test_components_from_a_users_own_module_are_fingerprinted_by_their_code(tmp_path, monkeypatch):
    from simstudy.config import components_fingerprint

    module = tmp_path / "my_local_module.py"
    module.write_text(
        "from sklearn.cluster import KMeans\n\n\nclass MyClusterer(KMeans):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    config = check_config(copy.deepcopy(TINY_CONFIG), SCHEMA)
    config["methods"]["mine"] = {"estimator": "my_local_module.MyClusterer", "params": {}}
    before = components_fingerprint(config)
    module.write_text(module.read_text() + "\n# a comment changes nothing\n")
    forget_code_digests()
    assert components_fingerprint(config) == before
    module.write_text(module.read_text().replace("pass", "n_init = 3"))
    forget_code_digests()
    assert components_fingerprint(config) != before


def stopping_config(chunk_size: int, batch: int, max_trials: int, scenarios: int = 1) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config.update(chunk_size=chunk_size)
    for index in range(1, scenarios):
        config["scenarios"][f"s{index}"] = copy.deepcopy(config["scenarios"]["aniso"])
    config["stopping"] = {"half_width": 0.01, "batch": batch, "max_trials": max_trials}
    return config


@pytest.mark.parametrize(
    ("chunk_size", "batch", "max_trials", "scenarios"),
    [
        (500, 100, 10**7, 1),  # the batch alone can fix it
        (3, 1, 10**6, 1),  # the chunk size must grow with the batch
        (10_000, 50, 10**8, 3),
        (7, 7, 200_000, 2),
    ],
)
def test_a_stopping_study_with_too_many_rounds_names_batch_and_max_trials_and_what_passes(
    tmp_path, chunk_size, batch, max_trials, scenarios
):
    config = stopping_config(chunk_size, batch, max_trials, scenarios)
    with pytest.raises(ConfigError) as caught:
        check_config(config, SCHEMA, cache_dir=tmp_path)
    message = str(caught.value)
    assert f"'stopping.batch' = {batch}" in message
    assert f"'stopping.max_trials' = {max_trials}" in message
    assert "'n_trials' = " not in message, "n_trials and chunk_size do not set this count"
    suggested = re.search(r"(?:chunk_size (\d+) and )?stopping\.batch (\d+) would give", message)
    changed = stopping_config(int(suggested[1] or chunk_size), int(suggested[2]), max_trials)
    changed["scenarios"] = config["scenarios"]
    check_config(changed, SCHEMA, cache_dir=tmp_path)  # passes
    fewer = re.search(r"stopping\.max_trials (\d+) \(at most\) would give", message)
    changed = stopping_config(chunk_size, batch, int(fewer[1]))
    changed["scenarios"] = config["scenarios"]
    check_config(changed, SCHEMA, cache_dir=tmp_path)  # passes
    changed["stopping"]["max_trials"] += batch  # one round more is too many
    with pytest.raises(ConfigError, match=r"stopping\.batch"):
        check_config(changed, SCHEMA, cache_dir=tmp_path)


def test_a_stopping_study_whose_first_round_is_too_large_names_n_trials_and_chunk_size():
    config = stopping_config(1, 10, 10**6)
    config["n_trials"] = 50_000
    with pytest.raises(ConfigError) as caught:
        check_config(config, SCHEMA)
    assert "'n_trials' = 50000 and 'chunk_size' = 1" in str(caught.value)


def test_any_metric_will_do_ari_included_or_not():
    config = copy.deepcopy(TINY_CONFIG)
    config["metrics"] = ["nmi", "sklearn.metrics.fowlkes_mallows_score"]
    resolved = check_config(config, SCHEMA)
    assert resolved["values"] == ["nmi", "fowlkes_mallows_score"]
    assert resolved["methods"]["gmm"]["values"] == ["nmi", "fowlkes_mallows_score"]
    assert resolved["methods"]["gmm"]["task"] == "clusterer"  # a density estimator's tag


def test_a_study_of_functions_finds_its_values_on_a_sample_trial():
    config = copy.deepcopy(TINY_CONFIG)
    config["scenarios"] = {"numbers": {"generator": "functions_for_tests.numbers"}}
    config["methods"] = {
        "mean": {"function": "functions_for_tests.mean"},
        "twice": {"function": "functions_for_tests.mean", "label": "Mean again"},
    }
    config["comparison"] = ["mean", "twice"]
    resolved = check_config(config, SCHEMA)
    assert resolved["values"] == ["estimate"]
    assert "task" not in resolved["methods"]["mean"]
    assert check_config(resolved, SCHEMA) == resolved  # provenance's record checks again


def test_estimands_are_none_by_default_and_each_gets_alpha_and_its_columns():
    assert check_config(copy.deepcopy(TINY_CONFIG), SCHEMA)["estimands"] == {}
    config = copy.deepcopy(TINY_CONFIG)
    config["metrics"] = ["ari", "nmi"]
    config["estimands"] = {"ari": {"truth": 1}, "nmi": {"truth": 1.0, "columns": {"se": "ari"}}}
    resolved = check_config(config, SCHEMA)
    assert resolved["estimands"] == {
        "ari": {"truth": 1, "alpha": 0.05, "columns": {}},
        "nmi": {"truth": 1.0, "alpha": 0.05, "columns": {"se": "ari"}},
    }
    assert check_config(resolved, SCHEMA) == resolved  # provenance's record checks again


def test_a_truth_by_param_must_be_given_by_every_scenario_a_default_does_not_count():
    config = copy.deepcopy(TINY_CONFIG)
    loose = copy.deepcopy(config["scenarios"]["aniso"])
    del loose["params"]["cluster_std"]  # the generator's default would do, but is unseen
    config["scenarios"]["loose"] = loose
    config["estimands"] = {"ari": {"truth": {"param": "cluster_std"}}}
    with pytest.raises(ConfigError) as caught:
        check_config(config, SCHEMA)
    message = str(caught.value)
    assert "'estimands.ari.truth.param' = 'cluster_std'" in message
    assert "scenario 'loose' has no such param" in message
    loose["params"]["cluster_std"] = 1.5
    assert check_config(config, SCHEMA)["estimands"]["ari"]["truth"] == {"param": "cluster_std"}


def test_estimand_settings_from_the_command_line_are_read_as_numbers():
    # What `--config 'estimands={ari: {truth: 1, alpha: 0.1}}'` gives the Snakefile.
    config = copy.deepcopy(TINY_CONFIG)
    config["estimands"] = {"ari": {"truth": "1", "alpha": "0.1"}}
    assert check_config(config, SCHEMA)["estimands"]["ari"] == {
        "truth": 1,
        "alpha": 0.1,
        "columns": {},
    }


def test_estimands_change_no_chunk_and_are_recorded_with_the_results():
    from simstudy.config_slices import results_config
    from simstudy.plan import StudyPlan

    plain = StudyPlan(check_config(copy.deepcopy(TINY_CONFIG), SCHEMA))
    config = copy.deepcopy(TINY_CONFIG)
    config["estimands"] = {"ari": {"truth": 0.9, "alpha": 0.1}}
    planned = StudyPlan(check_config(config, SCHEMA))
    assert planned.group_digests() == plain.group_digests()
    assert "estimands" not in json.dumps(planned.spec_records())
    assert results_config(planned.config)["estimands"] == {
        "ari": {"truth": 0.9, "alpha": 0.1, "columns": {}}
    }


# Where simstudy replay finds its study: the config recorded with the results, else the
# folder's config/config.yaml. Outside a study's folder there is neither.


def replay_here(*args: str) -> int:
    from simstudy.cli import main

    return main(["replay", "--scenario", "aniso", "--trial", "0", "--method", "gmm", *args])


def test_replay_outside_a_study_folder_says_there_is_no_study(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert replay_here() == 2
    message = capsys.readouterr().err
    for fragment in [
        "no study here",
        "results/provenance.json",
        "config/config.yaml",
        str(tmp_path),
        "from the study's folder",
    ]:
        assert fragment in message, message


def test_replay_without_results_says_there_are_none(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    write_config(tmp_path / "config/config.yaml", TINY_CONFIG)
    assert replay_here() == 2
    message = capsys.readouterr().err
    for fragment in ["no results here", "results/manifest.csv", "from the study's folder"]:
        assert fragment in message, message
    assert replay_here("--results", str(tmp_path / "elsewhere")) == 2
    assert f"{tmp_path / 'elsewhere' / 'manifest.csv'} does not exist" in capsys.readouterr().err


def test_replay_with_a_provenance_record_without_config_names_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results/provenance.json").write_text('{"seed": 1}')
    assert replay_here() == 2
    assert "results/provenance.json: not a provenance record" in capsys.readouterr().err


def test_replay_in_an_empty_folder_prints_no_traceback(tmp_path):
    result = replay(tmp_path, "--scenario", "aniso", "--trial", "0", "--method", "gmm")
    assert result.returncode == 2
    assert "no study here" in result.stderr and "Traceback" not in result.stderr
