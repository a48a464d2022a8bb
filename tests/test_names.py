"""Names, labels and paths: matched whole, no control characters, no stray whitespace,
no two scenarios or methods under one label."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import pytest

from simstudy.config import check_config
from simstudy.schema import Validator, check_text, load_schema
from simstudy.study_files import ConfigError, read_study

from conftest import TINY_CONFIG, finished_config, fresh_copy, snakemake, write_config

SCHEMA = load_schema()


def schema_patterns(node=SCHEMA, where="") -> dict[str, str]:
    """Every ``pattern`` of the schema, by where it is."""
    found = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern":
                found[where] = value
            else:
                found.update(schema_patterns(value, f"{where}/{key}"))
    return found


#: A text each pattern of the schema accepts, by where the pattern is.
VALID = {
    "/$defs/name": "kmeans_2",
    "/$defs/scenario_name": "aniso.v2",
    "/$defs/dotted_path": "sklearn.cluster.KMeans",
}


def test_every_pattern_of_the_schema_is_tested_here():
    assert set(schema_patterns()) == set(VALID)


@pytest.mark.parametrize("where", sorted(VALID))
@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\t", "\n\n", "\x00"])
def test_each_pattern_matches_the_whole_text(where, suffix):
    validator = Validator({"type": "string", "pattern": schema_patterns()[where]})
    assert validator.is_valid(VALID[where])
    assert not validator.is_valid(VALID[where] + suffix), repr(VALID[where] + suffix)
    assert not validator.is_valid(suffix + VALID[where]), repr(suffix + VALID[where])


def edited(change) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    change(config)
    return config


def rename(section: str, old: str, new: str):
    def change(config):
        config[section] = {new if k == old else k: v for k, v in config[section].items()}
        if section == "methods":
            config["comparison"] = [new if m == old else m for m in config["comparison"]]

    return change


def set_in(*path_and_value):
    *path, key, value = path_and_value

    def change(config):
        node = config
        for part in path:
            node = node[part]
        node[key] = value

    return change


# Each config holds one bad text; the error must name the key path and show the value.
BAD_TEXT = {
    "scenario_name_newline": (rename("scenarios", "aniso", "aniso\n"), "'scenarios'", "aniso\\n"),
    "method_name_newline": (rename("methods", "gmm", "gmm\n"), "'methods'", "gmm\\n"),
    "method_name_trailing_space": (rename("methods", "gmm", "gmm "), "'methods'", "'gmm '"),
    "label_newline": (set_in("methods", "gmm", "label", "GMM\n"), "methods.gmm.label", "GMM\\n"),
    "label_trailing_space": (
        set_in("methods", "gmm", "label", "GMM "),
        "methods.gmm.label",
        "'GMM '",
    ),
    "label_leading_space": (set_in("scenarios", "aniso", "label", " A"), "aniso.label", "' A'"),
    "label_tab_inside": (set_in("methods", "gmm", "label", "G\tM"), "methods.gmm.label", "G\\tM"),
    "label_only_spaces": (set_in("methods", "gmm", "label", "   "), "methods.gmm.label", "'   '"),
    "label_line_separator": (
        set_in("methods", "gmm", "label", "G\u2028M"),
        "methods.gmm.label",
        "G\\u2028M",
    ),
    "estimator_newline": (
        set_in("methods", "kmeans", "estimator", "sklearn.cluster.KMeans\n"),
        "methods.kmeans.estimator",
        "KMeans\\n",
    ),
    "generator_trailing_space": (
        set_in("scenarios", "aniso", "generator", "simstudy.data.anisotropic_blobs "),
        "scenarios.aniso.generator",
        "anisotropic_blobs '",
    ),
    "comparison_newline": (set_in("comparison", ["gmm", "kmeans\n"]), "comparison.1", "kmeans\\n"),
    "example_scenario_newline": (
        set_in("figures", {"example_scenario": "aniso\n"}),
        "figures.example_scenario",
        "aniso\\n",
    ),
    "seeding_trailing_space": (set_in("seeding", "spawn "), "'seeding'", "'spawn '"),
    "param_value_escape": (
        set_in("methods", "gmm", "params", "covariance_type", "full\x1b"),
        "methods.gmm.params.covariance_type",
        "full\\x1b",
    ),
    "param_key_newline": (
        set_in("methods", "kmeans", "params", "n_init\n", 2),
        "methods.kmeans.params",
        "n_init\\n",
    ),
    "param_key_trailing_space": (
        set_in("methods", "kmeans", "params", "n_init ", 2),
        "methods.kmeans.params",
        "'n_init '",
    ),
    "nested_param_newline": (
        set_in("scenarios", "aniso", "params", "names", ["a", ["b", "c\r"]]),
        "scenarios.aniso.params.names.1.1",
        "c\\r",
    ),
    "top_level_key_newline": (set_in("seed\n", 3), "(top level)", "seed\\n"),
}


@pytest.mark.parametrize("name", sorted(BAD_TEXT))
def test_control_characters_and_stray_whitespace_are_refused_naming_key_and_value(name):
    change, key, value = BAD_TEXT[name]
    with pytest.raises(ConfigError) as caught:
        check_config(edited(change), SCHEMA)
    message = str(caught.value)
    assert key in message and value in message, message
    assert "control character" in message or "whitespace" in message, message


def test_text_values_inside_params_may_start_or_end_with_spaces():
    params = {"note": "  two words, spaced  ", "names": [" a", "b "]}
    check_text({**TINY_CONFIG, "methods": {"gmm": {"params": params}}})  # no error
    with pytest.raises(ConfigError, match=r"methods\.gmm\.params\.note"):
        check_text({"methods": {"gmm": {"params": {"note": "two\twords"}}}})


def test_a_name_with_a_newline_is_refused_from_a_study_file(tmp_path):
    path = write_config(tmp_path / "study.yaml", edited(rename("scenarios", "aniso", "abc\n")))
    with pytest.raises(ConfigError) as caught:
        check_config(read_study([path]), SCHEMA)
    assert "config key 'scenarios' has the key 'abc\\n'" in str(caught.value)


def drop_label(section: str, name: str):
    return lambda config: config[section][name].pop("label", None)


# Two entries shown under one label: (change, fragments of the error).
SAME_LABEL = {
    "two_method_labels": (
        set_in("methods", "kmeans", "label", "GMM"),
        ["methods.gmm", "methods.kmeans", "'GMM'"],
    ),
    "method_label_is_another_key": (
        lambda c: (
            set_in("methods", "gmm", "label", "kmeans")(c),
            drop_label("methods", "kmeans")(c),
        ),
        ["methods.gmm", "methods.kmeans", "'kmeans'", "no label"],
    ),
    "scenario_label_is_another_key": (
        lambda c: c["scenarios"].update(round={"label": "aniso"}),
        ["scenarios.aniso", "scenarios.round", "'aniso'", "no label"],
    ),
    "two_scenario_labels": (
        lambda c: (
            c["scenarios"]["aniso"].update(label="Blobs"),
            c["scenarios"].update(round={"label": "Blobs"}),
        ),
        ["scenarios.aniso", "scenarios.round", "'Blobs'"],
    ),
}


@pytest.mark.parametrize("name", sorted(SAME_LABEL))
def test_two_entries_under_one_label_are_refused_naming_both(name):
    change, fragments = SAME_LABEL[name]
    with pytest.raises(ConfigError) as caught:
        check_config(edited(change), SCHEMA)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


def test_labels_may_repeat_across_scenarios_and_methods():
    config = edited(set_in("scenarios", "aniso", "label", "GMM"))
    assert check_config(config, SCHEMA)["scenarios"]["aniso"]["label"] == "GMM"


def fingerprint(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file below ``folder``: its modification time and SHA-256."""
    return {
        str(path.relative_to(folder)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["configfile", "config"])
def test_a_name_ending_in_a_newline_stops_before_any_job_and_keeps_the_results(
    finished_study, tmp_path, how
):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    before = fingerprint(workdir / "results")
    config = finished_config("spawn")
    if how == "configfile":
        config["scenarios"]["abc\n"] = config["scenarios"].pop("round")
        result = snakemake(workdir, "--cores", "1", config=config, check=False)
        fragments = ["config key 'scenarios' has the key 'abc\\n'"]
    else:  # a double-quoted YAML string on the command line: "\n" is a newline
        override = 'methods={gmm: {label: "GMM\\n"}}'
        args = ("--cores", "1", "--config", override)
        result = snakemake(workdir, *args, config=config, check=False)
        fragments = ["config key 'methods.gmm.label' = 'GMM\\n'"]
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    for fragment in [*fragments, "control character"]:
        assert fragment in output, (fragment, output[-3000:])
    assert "Building DAG" not in output, "the error must come before any job is planned"
    assert fingerprint(workdir / "results") == before, "the earlier results must stay as they were"
