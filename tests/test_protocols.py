"""How each kind of method runs in a trial, checked against the same steps done by hand.

An estimator runs by its scikit-learn task: a clusterer on all the data, a classifier or
regressor fitted on a training part and scored on the held-out rest, split from the
trial's data stream right after the data. A function gets the data and, by its
parameter's name, a Generator (``rng``), a RandomState (``random_state``) or nothing.
"""

from __future__ import annotations

import math

import functions_for_tests
import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score

from simstudy import component_checks, components, seeding
from simstudy.spec import Method, Scenario, TrialSpec
from simstudy.trials import run_trial

SEED = 123456789123456789
CLASSIFICATION = Scenario("clf", "sklearn.datasets.make_classification", {"n_samples": 80})
REGRESSION = Scenario("reg", "sklearn.datasets.make_regression", {"n_samples": 60})


def spec(scenario, *methods, metrics=("accuracy",), values=(), test_size=0.25):
    return TrialSpec(
        seeding="spawn",
        seed=1,
        scenario=scenario,
        methods=methods,
        metrics=metrics,
        values=values,
        test_size=test_size,
    )


def held_out(n: int, test_size: float, data_stream) -> tuple[np.ndarray, np.ndarray]:
    """The split, written out: the permutation's first ceil(test_size * n) are held out."""
    order = data_stream.permutation(n)
    n_test = math.ceil(test_size * n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def test_a_classifier_is_scored_on_the_held_out_part_of_the_trials_data():
    method = Method("logistic", "sklearn.linear_model.LogisticRegression", task="classifier")
    outcome = run_trial(spec(CLASSIFICATION, method), 3, SEED)
    assert not outcome.errors

    stream = seeding.data_stream(SEED)
    X, y = make_classification(n_samples=80, random_state=stream)
    train, test = held_out(80, 0.25, stream)
    model = LogisticRegression(random_state=seeding.method_stream(SEED, "logistic"))
    expected = accuracy_score(y[test], model.fit(X[train], y[train]).predict(X[test]))
    assert outcome.scores["logistic"] == {"accuracy": expected}
    assert len(outcome.split[1]) == 20


def test_every_classifier_of_a_trial_gets_the_same_split_in_any_chunk():
    forest = Method("forest", "sklearn.ensemble.RandomForestClassifier", {"n_estimators": 5})
    knn = Method("knn", "sklearn.neighbors.KNeighborsClassifier", task="classifier")
    alone = run_trial(spec(CLASSIFICATION, knn), 0, SEED)
    together = run_trial(spec(CLASSIFICATION, forest, knn), 0, SEED)
    for part in (0, 1):
        assert np.array_equal(alone.split[part], together.split[part])
    assert alone.scores["knn"] == together.scores["knn"]


def test_a_regressor_and_a_metric_by_dotted_path():
    method = Method("ridge", "sklearn.linear_model.Ridge", task="regressor")
    metrics = ("r2", "sklearn.metrics.max_error")
    outcome = run_trial(spec(REGRESSION, method, metrics=metrics, test_size=0.5), 1, SEED)
    stream = seeding.data_stream(SEED)
    X, y = make_regression(n_samples=60, random_state=stream)
    train, test = held_out(60, 0.5, stream)
    predicted = Ridge().fit(X[train], y[train]).predict(X[test])
    assert outcome.scores["ridge"]["r2"] == r2_score(y[test], predicted)
    assert set(outcome.scores["ridge"]) == {"r2", "max_error"}


@pytest.mark.parametrize(
    ("path", "task"),
    [
        ("sklearn.cluster.KMeans", "clusterer"),
        ("sklearn.mixture.GaussianMixture", "clusterer"),  # a density estimator with fit_predict
        ("sklearn.linear_model.LogisticRegression", "classifier"),
        ("sklearn.linear_model.Ridge", "regressor"),
    ],
)
def test_an_estimators_task_comes_from_its_tags(path, task):
    assert component_checks.estimator_task(path, {}) == task


def test_a_task_can_be_overridden_but_not_to_one_the_estimator_cannot_do():
    assert (
        component_checks.estimator_task("sklearn.cluster.KMeans", {}, "classifier") == "classifier"
    )
    with pytest.raises(ValueError, match="fit_predict"):
        component_checks.estimator_task("sklearn.linear_model.Ridge", {}, "clusterer")
    with pytest.raises(ValueError, match="neither fit_predict nor predict"):
        components.load_estimator("sklearn.preprocessing.StandardScaler")


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("def f(data, rng):\n    return {'kind': float(isinstance(rng, Generator))}", "rng"),
        (
            "def f(data, random_state):\n"
            "    return {'kind': float(isinstance(random_state, RandomState))}",
            "random_state",
        ),
        ("def f(data):\n    return {'kind': 1.0}", None),
    ],
)
def test_a_function_gets_the_stream_its_parameter_names(tmp_path, monkeypatch, source, kind):
    name = f"streams_for_test_{kind}"  # a module of its own per case: imports are cached
    module = tmp_path / f"{name}.py"
    module.write_text("from numpy.random import Generator, RandomState\n\n" + source + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    method = Method("f", function=f"{name}.f")
    assert components.stream_parameter(components.import_object(f"{name}.f")) == kind
    outcome = run_trial(spec(CLASSIFICATION, method, metrics=(), values=("kind",)), 0, SEED)
    assert outcome.scores["f"] == {"kind": 1.0}


def test_a_function_may_return_numpy_scalars_and_booleans():
    method = Method("f", function="functions_for_tests.numpy_decision")
    values = ("p", "reject", "count")
    outcome = run_trial(spec(CLASSIFICATION, method, metrics=(), values=values), 0, SEED)
    assert outcome.scores["f"] == {"p": 0.01, "reject": 1.0, "count": 3.0}
    assert all(type(value) is float for value in outcome.scores["f"].values())


def test_a_generator_may_return_a_dataframe_which_a_function_method_gets_as_it_is():
    scenario = Scenario("frame", "functions_for_tests.frame", {"n": 30})
    method = Method("gap", function="functions_for_tests.frame_group_gap")
    outcome = run_trial(spec(scenario, method, metrics=(), values=("gap",)), 2, SEED)
    data = functions_for_tests.frame(seeding.stream_of_kind(SEED, "data", "rng"), n=30)
    assert outcome.scores["gap"] == functions_for_tests.frame_group_gap(data)


def test_a_function_that_changes_its_names_or_gives_nan_fails_its_trial(tmp_path, monkeypatch):
    module = tmp_path / "shifty_for_test.py"
    module.write_text(
        "import math\n\n"
        "def other_names(data):\n    return {'estimate': 1.0, 'extra': 2.0}\n\n"
        "def nan(data):\n    return {'estimate': math.nan}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name, message in [("other_names", "same names on every trial"), ("nan", "NaN")]:
        method = Method("m", function=f"shifty_for_test.{name}")
        outcome = run_trial(spec(CLASSIFICATION, method, metrics=(), values=("estimate",)), 0, 1)
        assert message in outcome.errors["m"]
        assert "m" not in outcome.scores
