"""The repeat check: a chunk runs its first trial again, and its rows must not change.

Methods and a generator with randomness of their own (tests/unrepeatable.py) fail their
chunk, naming themselves and the likely causes; well-behaved ones pass, under both
seeding schemes, and their rows are exactly those of single trials.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest
import unrepeatable

from simstudy import seeding
from simstudy.chunks import iter_chunk_rows
from simstudy.components import DEFAULT_GENERATOR
from simstudy.failures import trial_rows
from simstudy.hints import unrepeatable_hint
from simstudy.repeat import NotRepeatableError, RunPrint, check_repeated, run_print
from simstudy.spec import Method, Scenario, TrialSpec
from simstudy.tables import TIMING_COLUMNS, trial_columns
from simstudy.trials import run_trial

from conftest import ONE_WORKER, REPO, TINY_CONFIG, snakemake

TINY_PARAMS = TINY_CONFIG["scenarios"]["aniso"]["params"]
KMEANS = ("kmeans", "sklearn.cluster.KMeans")
GMM = ("gmm", "sklearn.mixture.GaussianMixture")

#: Each cause of unrepeatable results, as a class of tests/unrepeatable.py.
UNREPEATABLE = [
    "UnseededRngKMeans",
    "RandomModuleKMeans",
    "ClockKMeans",
    "UrandomKMeans",
    "CountingKMeans",
]


def make_spec(
    *methods: tuple[str, str], seeding_scheme: str = "spawn", generator: str = DEFAULT_GENERATOR
) -> TrialSpec:
    """The tiny study's scenario with the given (name, estimator) methods, in that order."""

    def params(estimator: str) -> dict:
        if estimator == GMM[1]:
            return {"n_components": 3, "n_init": 1}
        if estimator.split(".")[-1] in UNREPEATABLE:  # they take no n_init
            return {"n_clusters": 3}
        return {"n_clusters": 3, "n_init": 1}

    return TrialSpec(
        seeding=seeding_scheme,
        seed=TINY_CONFIG["seed"],
        scenario=Scenario("aniso", generator, dict(TINY_PARAMS)),
        methods=tuple(Method(name, path, params(path)) for name, path in methods),
        metrics=("ari",),
    )


def seed_of(spec: TrialSpec, trial: int) -> int:
    return seeding.trial_seeds(spec.seed, spec.seeding, trial, trial + 1)[0]


def without_timings(rows: list[dict]) -> list[dict]:
    timings = set(TIMING_COLUMNS) - {"scenario", "trial", "method", "status"}
    return [{k: v for k, v in row.items() if k not in timings} for row in rows]


# --- The comparison ---------------------------------------------------------------------


def test_prints_leave_out_fit_times_and_memory_addresses():
    spec = make_spec(KMEANS)
    outcome = run_trial(spec, 0, seed_of(spec, 0))
    first = run_print(spec, outcome)
    outcome.timings = {"kmeans": (123.0, 45.0)}
    assert run_print(spec, outcome) == first

    failing = make_spec(("broken", "unrepeatable.AddressErrorKMeans"))
    one, two = (run_trial(failing, 0, seed_of(failing, 0)) for _ in range(2))
    assert one.errors["broken"] != two.errors["broken"]  # two objects, two addresses
    assert run_print(failing, one) == run_print(failing, two)
    error = trial_columns(failing.metrics).index("error")
    assert "0x..." in run_print(failing, one).cells["broken"][error]


def cells(method: str, ari: str) -> tuple[str, ...]:
    """A row's cells, as a print holds them: all but the method and the ARI made up."""
    row = {"scenario": "aniso", "trial": "3", "method": method, "ari": ari, "seed": "17"}
    return tuple(row.get(column, "x") for column in trial_columns(["ari"]))


def test_check_repeated_names_the_method_the_cells_and_the_causes():
    spec = make_spec(KMEANS, ("rogue", "unrepeatable.ClockKMeans"))
    cells_ = {"kmeans": cells("kmeans", "0.5"), "rogue": cells("rogue", "0.25")}
    changed = {**cells_, "rogue": cells("rogue", "0.75")}
    assert check_repeated(spec, 3, 17, RunPrint(cells_, "d"), RunPrint(dict(cells_), "d"))
    with pytest.raises(NotRepeatableError) as caught:
        check_repeated(spec, 3, 17, RunPrint(cells_, "d"), RunPrint(changed, "d"))
    message = str(caught.value)
    assert message.splitlines()[0].startswith(
        "not repeatable: scenario=aniso trial=3 method=rogue seed=17: method 'rogue' "
        "(unrepeatable.ClockKMeans) gave other values"
    )
    assert "differ between two runs of the same seed" in message
    assert "  rogue ari: '0.25' on the first run, '0.75' on the second" in message
    assert unrepeatable_hint() in message
    assert message.endswith(
        "Replay it with: simstudy replay --scenario aniso --trial 3 --method rogue"
    )


def test_check_repeated_blames_the_generator_for_other_data_and_skips_timeouts():
    spec = make_spec(KMEANS, generator="unrepeatable.noisy_blobs")
    same = {"kmeans": cells("kmeans", "0.5")}
    with pytest.raises(NotRepeatableError) as caught:
        check_repeated(spec, 3, 17, RunPrint(same, "d1"), RunPrint(same, "d2"))
    first_line = str(caught.value).splitlines()[0]
    assert first_line.startswith(
        "not repeatable: scenario=aniso trial=3 generator=unrepeatable.noisy_blobs seed=17: "
        "data generator unrepeatable.noisy_blobs of scenario 'aniso' drew a different dataset"
    )
    assert unrepeatable_hint() in str(caught.value)
    # Where a time limit stopped a run depends on the clock: such runs are not compared.
    timed_out = RunPrint(same, "d2", timed_out=True)
    assert check_repeated(spec, 3, 17, RunPrint(same, "d1"), timed_out) is False


def test_the_hint_lists_the_causes_and_the_fix():
    hint = unrepeatable_hint()
    for cause in (
        "np.random.default_rng()",
        "random module",
        "time.time()",
        "os.urandom",
        "class attribute, a module global or a cache",
        "multithreaded",
        "draw every random number from the random_state the workflow passes in",
    ):
        assert cause in hint


# --- Chunks, in this process (fast) -----------------------------------------------------


@pytest.mark.parametrize("on_error", ["raise", "record"])
@pytest.mark.parametrize("estimator", UNREPEATABLE)
def test_a_method_that_does_not_repeat_fails_its_chunk(estimator, on_error):
    spec = make_spec(KMEANS, ("rogue", f"unrepeatable.{estimator}"))
    with pytest.raises(NotRepeatableError) as caught:
        list(iter_chunk_rows(spec, 2, 5, on_error=on_error))
    message = str(caught.value)
    assert message.splitlines()[0].startswith(
        f"not repeatable: scenario=aniso trial=2 method=rogue seed={seed_of(spec, 2)}: "
        f"method 'rogue' (unrepeatable.{estimator}) gave other values when the trial ran "
        f"a second time with the same seed"
    )
    assert "  rogue ari: " in message and "kmeans" not in message
    assert unrepeatable_hint() in message
    assert "worker process died" not in message and "trial failed" not in message


def test_a_function_method_that_does_not_repeat_is_named_by_its_path():
    spec = make_spec(KMEANS)
    spec = TrialSpec(
        seeding=spec.seeding,
        seed=spec.seed,
        scenario=spec.scenario,
        methods=(Method("jitter", function="unrepeatable.jittered_mean", values=("estimate",)),),
        metrics=(),
        values=("estimate",),
    )
    with pytest.raises(NotRepeatableError) as caught:
        list(iter_chunk_rows(spec, 0, 2))
    assert "method 'jitter' (unrepeatable.jittered_mean) gave other values" in str(caught.value)


def test_a_generator_that_does_not_repeat_fails_its_chunk():
    spec = make_spec(KMEANS, GMM, generator="unrepeatable.noisy_blobs")
    with pytest.raises(NotRepeatableError) as caught:
        list(iter_chunk_rows(spec, 0, 2, on_error="record"))
    assert "generator=unrepeatable.noisy_blobs" in str(caught.value)
    assert "drew a different dataset" in str(caught.value)


def test_randomness_of_its_own_is_caught_with_worker_processes_too():
    # State kept between calls is not caught for sure with workers: the second run may
    # land in a worker that ran no trial yet (docs/failures.md, "When a trial fails").
    spec = make_spec(("rogue", "unrepeatable.UnseededRngKMeans"))
    with pytest.raises(NotRepeatableError, match="method=rogue"):
        list(iter_chunk_rows(spec, 0, 4, n_jobs=2))


def test_a_one_trial_chunk_runs_its_trial_twice():
    spec = make_spec(("counter", "unrepeatable.CountingKMeans"))
    with pytest.raises(NotRepeatableError, match="trial=6 method=counter"):
        list(iter_chunk_rows(spec, 6, 7))


def test_randomness_of_its_own_is_caught_under_legacy_seeding_too():
    spec = make_spec(KMEANS, ("rogue", "unrepeatable.RandomModuleKMeans"), seeding_scheme="legacy")
    with pytest.raises(NotRepeatableError, match="method=rogue"):
        list(iter_chunk_rows(spec, 0, 3))


@pytest.mark.parametrize("seeding_scheme", ["spawn", "legacy"])
def test_well_behaved_methods_repeat_and_keep_the_rows_of_single_trials(seeding_scheme, caplog):
    spec = make_spec(GMM, KMEANS, seeding_scheme=seeding_scheme)
    with caplog.at_level(logging.INFO, logger="simstudy"):
        rows = list(iter_chunk_rows(spec, 1, 4))
    single = [
        row
        for trial in range(1, 4)
        for row in trial_rows(spec, run_trial(spec, trial, seed_of(spec, trial)))
    ]
    assert without_timings(rows) == without_timings(single)
    assert "trial 1 ran a second time and gave the same rows" in caplog.text


def test_a_warning_on_a_process_first_fit_only_is_no_false_alarm():
    unrepeatable._warned = False  # the next fit is this process's first
    spec = make_spec(("once", "unrepeatable.WarnsOnceKMeans"))
    rows = list(iter_chunk_rows(spec, 0, 2))
    assert unrepeatable._warned and {row["n_warnings"] for row in rows} == {0}


def test_failures_with_memory_addresses_are_no_false_alarm_in_record_mode():
    spec = make_spec(KMEANS, ("broken", "unrepeatable.AddressErrorKMeans"))
    rows = list(iter_chunk_rows(spec, 0, 2, on_error="record"))
    assert {row["status"] for row in rows if row["method"] == "broken"} == {"error"}


def test_a_trial_that_ran_out_of_time_is_not_compared(caplog):
    spec = TrialSpec(
        seeding="spawn",
        seed=TINY_CONFIG["seed"],
        scenario=Scenario("aniso", "misbehaving.slow_blobs", {**TINY_PARAMS, "delay": 5}),
        methods=(Method(*KMEANS, {"n_clusters": 3, "n_init": 1}),),
        metrics=("ari",),
    )
    with caplog.at_level(logging.INFO, logger="simstudy"):
        rows = list(iter_chunk_rows(spec, 0, 1, on_error="record", time_limit=0.2))
    assert [row["status"] for row in rows] == ["error"]
    assert "whether its rows repeat was not checked" in caplog.text


# --- End to end ---------------------------------------------------------------------------


@pytest.mark.e2e
def test_unrepeatable_methods_and_generator_fail_the_run_naming_them(tmp_path):
    """One run, one chunk per scenario and method: every unrepeatable one fails its job."""
    config = copy.deepcopy(TINY_CONFIG)
    config.update(n_trials=3, chunk_size=3)
    config["scenarios"]["noisy"] = {
        "generator": "unrepeatable.noisy_blobs",
        "params": dict(TINY_PARAMS),
    }
    names = {estimator: estimator.removesuffix("KMeans").lower() for estimator in UNREPEATABLE}
    config["methods"] = {
        "kmeans": {"estimator": KMEANS[1], "params": {"n_clusters": 3, "n_init": 1}},
        **{
            name: {"estimator": f"unrepeatable.{estimator}", "params": {"n_clusters": 3}}
            for estimator, name in names.items()
        },
    }
    config["comparison"] = ["kmeans", "clock"]
    result = snakemake(
        tmp_path,
        *("results/trials.csv", "--cores", "2", *ONE_WORKER, "--keep-going"),
        config=config,
        env={"PYTHONPATH": str(REPO / "tests")},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert not (tmp_path / "results/trials.csv").exists()

    def log(scenario: str, method: str) -> str:
        return (tmp_path / f"results/logs/run_chunk/{scenario}/{method}/0-3.log").read_text()

    for estimator, name in names.items():
        text = log("aniso", name)
        assert (
            f"scenario=aniso trial=0 method={name} seed=" in text
            and f"method '{name}' (unrepeatable.{estimator}) gave other values" in text
        ), text[-3000:]
        assert "differ between two runs of the same seed" in text
        assert unrepeatable_hint() in text
        assert not (tmp_path / f"results/chunks/aniso/{name}/0-3.csv").exists()
    assert "method 'clock' (unrepeatable.ClockKMeans) gave other values" in output
    for name in ["kmeans", *names.values()]:
        text = log("noisy", name)
        assert "generator=unrepeatable.noisy_blobs" in text, text[-3000:]
        assert "drew a different dataset" in text
    # The well-behaved method passed the check and wrote its chunk.
    assert Path(tmp_path / "results/chunks/aniso/kmeans/0-3.csv").exists()
    assert "gave the same rows" in log("aniso", "kmeans")


@pytest.mark.e2e
@pytest.mark.parametrize("seeding_scheme", ["spawn", "legacy"])
def test_every_chunk_of_a_finished_study_repeated_its_first_trial(finished_study, seeding_scheme):
    logs = sorted((finished_study(seeding_scheme) / "results/logs/run_chunk").rglob("*.log"))
    assert logs
    for path in logs:
        first = path.stem.split("-")[0]
        assert f"trial {first} ran a second time and gave the same rows" in path.read_text()
