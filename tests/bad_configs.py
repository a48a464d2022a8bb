"""Bad study configs, each with the fragments its error message must contain."""

from __future__ import annotations

import copy
from collections.abc import Callable

from conftest import TINY_CONFIG


def _edit(change: Callable[[dict], None]) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    change(config)
    return config


def _set(key, value):
    return lambda config: config.__setitem__(key, value)


def _method(name, entry):
    return lambda config: config["methods"].__setitem__(name, entry)


# name -> (config, fragments that the error must name: the key and the bad value)
BAD_CONFIGS = {
    "n_trials_zero": (_edit(_set("n_trials", 0)), ["n_trials", "0"]),
    "n_trials_negative": (_edit(_set("n_trials", -5)), ["n_trials", "-5"]),
    "chunk_size_zero": (_edit(_set("chunk_size", 0)), ["chunk_size", "0"]),
    "seed_not_integer": (_edit(_set("seed", 1.5)), ["seed", "1.5"]),
    "seed_text": (_edit(_set("seed", "abc")), ["seed", "abc"]),
    "unknown_seeding": (_edit(_set("seeding", "shuffled")), ["seeding", "shuffled"]),
    "misspelt_key": (
        _edit(lambda c: c.__setitem__("n_trial", c.pop("n_trials"))),
        ["n_trial", "7", "n_trials"],
    ),
    "unknown_metric": (_edit(_set("metrics", ["ari", "f2"])), ["metrics", "f2"]),
    "metric_path_does_not_import": (
        _edit(_set("metrics", ["ari", "sklearn.metrics.no_such_score"])),
        ["metrics", "sklearn.metrics.no_such_score", "no attribute"],
    ),
    "function_with_wrong_signature": (
        _edit(_method("gmm", {"function": "functions_for_tests.no_data", "params": {}})),
        ["methods.gmm.function", "functions_for_tests.no_data", "first parameter"],
    ),
    "function_that_rejects_its_params": (
        _edit(_method("gmm", {"function": "functions_for_tests.mean", "params": {"k": 1}})),
        ["methods.gmm.params", "{'k': 1}", "unexpected keyword"],
    ),
    "function_returning_a_list": (
        _edit(_method("gmm", {"function": "functions_for_tests.a_list", "params": {}})),
        ["methods.gmm.function", "functions_for_tests.a_list", "mapping of named numbers"],
    ),
    "function_returning_text": (
        _edit(_method("gmm", {"function": "functions_for_tests.text_value", "params": {}})),
        ["methods.gmm.function", "'estimate'", "real number"],
    ),
    "function_returning_a_complex_number": (
        _edit(_method("gmm", {"function": "functions_for_tests.complex_value", "params": {}})),
        ["methods.gmm.function", "'estimate'", "(1", "real number"],
    ),
    "function_returning_a_column_name": (
        _edit(_method("gmm", {"function": "functions_for_tests.seed_value", "params": {}})),
        ["methods.gmm.function", "'seed'", "column of trials.csv"],
    ),
    "both_estimator_and_function": (
        _edit(
            _method(
                "gmm",
                {"estimator": "sklearn.cluster.KMeans", "function": "functions_for_tests.mean"},
            )
        ),
        ["methods.gmm", "exactly one of estimator", "function"],
    ),
    "function_with_a_task": (
        _edit(_method("gmm", {"function": "functions_for_tests.mean", "task": "classifier"})),
        ["methods.gmm.task", "classifier", "only an estimator"],
    ),
    "generator_without_a_stream": (
        _edit(
            lambda c: c["scenarios"]["aniso"].update(
                generator="functions_for_tests.no_stream", params={}
            )
        ),
        ["scenarios.aniso.generator", "functions_for_tests.no_stream", "rng", "random_state"],
    ),
    "estimator_on_data_without_labels": (
        _edit(
            lambda c: c["scenarios"]["aniso"].update(
                generator="functions_for_tests.numbers", params={}
            )
        ),
        ["scenarios.aniso.generator", "functions_for_tests.numbers", "(X, y)", "estimator"],
    ),
    "function_under_legacy_seeding": (
        _edit(
            lambda c: c.update(
                seeding="legacy",
                methods={**c["methods"], "gmm": {"function": "functions_for_tests.mean"}},
            )
        ),
        ["seeding", "legacy", "clusterer", "'gmm'"],
    ),
    "estimator_does_not_import": (
        _edit(_method("gmm", {"estimator": "sklearn.mixture.GaussianMixtur", "params": {}})),
        ["methods.gmm.estimator", "sklearn.mixture.GaussianMixtur"],
    ),
    "estimator_module_missing": (
        _edit(_method("gmm", {"estimator": "sklearnx.cluster.KMeans", "params": {}})),
        ["methods.gmm.estimator", "sklearnx.cluster.KMeans"],
    ),
    "not_an_estimator": (
        _edit(_method("gmm", {"estimator": "os.system", "params": {}})),
        ["methods.gmm.estimator", "os.system", "not a scikit-learn estimator"],
    ),
    "estimator_without_fit_predict": (
        _edit(_method("gmm", {"estimator": "sklearn.decomposition.PCA", "params": {}})),
        ["methods.gmm.estimator", "sklearn.decomposition.PCA", "fit_predict"],
    ),
    "param_name_rejected": (
        _edit(
            _method("kmeans", {"estimator": "sklearn.cluster.KMeans", "params": {"n_clusterz": 3}})
        ),
        ["methods.kmeans.params", "n_clusterz"],
    ),
    "param_value_rejected": (
        _edit(
            _method(
                "gmm",
                {
                    "estimator": "sklearn.mixture.GaussianMixture",
                    "params": {"covariance_type": "fuller"},
                },
            )
        ),
        ["methods.gmm.params", "fuller"],
    ),
    "random_state_in_params": (
        _edit(
            _method(
                "kmeans", {"estimator": "sklearn.cluster.KMeans", "params": {"random_state": 0}}
            )
        ),
        ["methods.kmeans.params", "random_state"],
    ),
    "comparison_names_missing_method": (
        _edit(_set("comparison", ["gmm", "spectral"])),
        ["comparison", "spectral"],
    ),
    "empty_methods": (_edit(_set("methods", {})), ["methods", "{}"]),
    "legacy_seed_too_big": (
        _edit(lambda c: c.update(seeding="legacy", seed=2**32)),
        ["seed", "4294967296", "legacy"],
    ),
    "methods_per_chunk_unknown": (
        _edit(_set("methods_per_chunk", "some")),
        ["methods_per_chunk", "some"],
    ),
    "methods_per_chunk_all_with_too_long_names": (
        _edit(
            lambda c: c.update(
                methods_per_chunk="all",
                methods={
                    f"kmeans_{'x' * 30}_{i}": {"estimator": "sklearn.cluster.KMeans"}
                    for i in range(6)
                },
                comparison=[f"kmeans_{'x' * 30}_{i}" for i in range(2)],
            )
        ),
        ["methods", "methods_per_chunk 'all'", "200 characters"],
    ),
    "generator_param_rejected": (
        _edit(lambda c: c["scenarios"]["aniso"]["params"].update(transformation=[[1, 0]])),
        ["scenarios.aniso.params", "transformation"],
    ),
    "example_trial_out_of_range": (
        _edit(_set("figures", {"example_trial": 7})),
        ["figures.example_trial", "7"],
    ),
    "scenario_name_ending_in_newline": (
        _edit(lambda c: c.__setitem__("scenarios", {"abc\n": c["scenarios"]["aniso"]})),
        ["config key 'scenarios' has the key 'abc\\n'", "control character"],
    ),
    "label_with_trailing_space": (
        _edit(lambda c: c["methods"]["gmm"].__setitem__("label", "GMM ")),
        ["methods.gmm.label", "'GMM '", "whitespace"],
    ),
    "two_methods_with_one_label": (
        _edit(lambda c: c["methods"]["kmeans"].__setitem__("label", "GMM")),
        ["methods.gmm", "methods.kmeans", "same label 'GMM'"],
    ),
    "estimand_that_is_not_a_value": (
        _edit(_set("estimands", {"theta": {"truth": 0.5}})),
        ["estimands.theta", "'theta' is not one of the study's named values (ari)"],
    ),
    "estimand_without_truth": (
        _edit(_set("estimands", {"ari": {"alpha": 0.05}})),
        ["estimands.ari", "'truth' is a required property"],
    ),
    "estimand_truth_as_text": (
        _edit(_set("estimands", {"ari": {"truth": "high"}})),
        ["estimands.ari.truth", "'high'", "'number', 'object'"],
    ),
    "estimand_truth_not_finite": (
        _edit(_set("estimands", {"ari": {"truth": float("inf")}})),
        ["estimands.ari.truth", "inf", "finite number"],
    ),
    "estimand_truth_param_a_scenario_lacks": (
        _edit(_set("estimands", {"ari": {"truth": {"param": "shift"}}})),
        ["estimands.ari.truth.param", "'shift'", "scenario 'aniso' has no such param"],
    ),
    "estimand_truth_param_not_a_number": (
        _edit(_set("estimands", {"ari": {"truth": {"param": "transformation"}}})),
        ["estimands.ari.truth.param", "scenarios.aniso.params.transformation", "real number"],
    ),
    "estimand_alpha_out_of_range": (
        _edit(_set("estimands", {"ari": {"truth": 1.0, "alpha": 1.5}})),
        ["estimands.ari.alpha", "1.5"],
    ),
    "estimand_column_that_is_not_a_value": (
        _edit(_set("estimands", {"ari": {"truth": 1.0, "columns": {"se": "ari_stderr"}}})),
        ["estimands.ari.columns.se", "'ari_stderr'", "named values (ari)"],
    ),
    "estimand_column_of_an_unknown_kind": (
        _edit(_set("estimands", {"ari": {"truth": 1.0, "columns": {"ci_low": "ari"}}})),
        ["estimands.ari.columns.ci_low", "known keys here: se, lower, upper, p"],
    ),
    "stopping_on_mcse_without_estimands": (
        _edit(_set("stopping", {"measure": "cover", "mcse": 0.01, "max_trials": 100})),
        ["stopping.mcse", "0.01", "estimands"],
    ),
    "stopping_on_both_rules": (
        _edit(_set("stopping", {"half_width": 0.1, "mcse": 0.01, "max_trials": 100})),
        ["stopping", "exactly one of half_width", "mcse"],
    ),
    "stopping_with_too_many_rounds": (
        _edit(_set("stopping", {"half_width": 0.01, "batch": 10, "max_trials": 10**7})),
        ["'stopping.batch' = 10", "'stopping.max_trials' = 10000000", "chunk jobs"],
    ),
}
