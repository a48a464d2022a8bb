"""Trial guards: the global generator under spawn, dying workers, time limits, heartbeat."""

from __future__ import annotations

import copy
import csv
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from simstudy import seeding
from simstudy.chunks import iter_chunk_rows
from simstudy.components import DEFAULT_GENERATOR
from simstudy.failures import TrialError, trial_rows
from simstudy.guard import GlobalGeneratorGuard
from simstudy.parallel import WorkerDiedError, ordered_map
from simstudy.seeding import trial_seeds
from simstudy.spec import Method, Scenario, TrialSpec
from simstudy.trials import run_trial, trial_time_limit

from conftest import REPO, SNAKEMAKE, TINY_CONFIG, write_config

SEEDS = trial_seeds(TINY_CONFIG["seed"], "spawn", 0, 7)
TINY_PARAMS = TINY_CONFIG["scenarios"]["aniso"]["params"]

# Which trials of the tiny study each misbehaving method picks (see tests/misbehaving.py).
GLOBAL_DRAW_TRIALS = {0, 2, 4}
SLEEPY_TRIAL = 1


def make_spec(
    *methods: tuple[str, str],
    seeding_scheme: str = "spawn",
    generator: str = DEFAULT_GENERATOR,
    scenario_params: dict | None = None,
) -> TrialSpec:
    """The tiny study's scenario with the given (name, estimator) methods, in that order."""
    return TrialSpec(
        seeding=seeding_scheme,
        seed=TINY_CONFIG["seed"],
        scenario=Scenario("aniso", generator, {**TINY_PARAMS, **(scenario_params or {})}),
        methods=tuple(
            Method(
                name,
                estimator,
                {"n_clusters": 3} if "NoSeed" in estimator else {"n_clusters": 3, "n_init": 1},
            )
            for name, estimator in methods
        ),
        metrics=("ari",),
    )


def seed_of(spec: TrialSpec, trial: int) -> int:
    return seeding.trial_seeds(spec.seed, spec.seeding, trial, trial + 1)[0]


def global_state() -> dict:
    state = np.random.get_state(legacy=False)  # noqa: NPY002 - what the guard protects
    return {**state, "state": {**state["state"], "key": state["state"]["key"].tolist()}}


KMEANS = ("kmeans", "sklearn.cluster.KMeans")


# --- The global generator under spawn ---------------------------------------------------


@pytest.mark.parametrize(
    "estimator",
    [
        "misbehaving.GlobalDrawKMeans",
        "misbehaving.NoSeedKMeans",
        "misbehaving.SeedsGlobalKMeans",
    ],
)
def test_a_method_drawing_from_the_global_generator_fails_under_spawn(estimator):
    spec = make_spec(("rogue", estimator), KMEANS)
    before = global_state()
    outcome = run_trial(spec, 0, seed_of(spec, 0))
    assert global_state() == before, "the guard must undo the draw"
    assert set(outcome.errors) == {"rogue"}
    assert "rogue" not in outcome.scores
    with pytest.raises(TrialError) as caught:
        trial_rows(spec, outcome, on_error="raise")
    message = str(caught.value)
    for fragment in (
        f"trial failed: scenario=aniso trial=0 method=rogue seed={seed_of(spec, 0)}",
        f"method 'rogue' ({estimator}) drew from NumPy's global random generator",
        "depend on what ran before it in the same worker process",
        "random_state",
        "Replay it with: simstudy replay --scenario aniso --trial 0 --method rogue",
    ):
        assert fragment in message


def test_the_guard_leaves_the_other_methods_and_later_trials_as_they_would_be():
    together = make_spec(("rogue", "misbehaving.GlobalDrawKMeans"), KMEANS)
    alone = make_spec(KMEANS)
    for trial in range(4):
        seed = seed_of(alone, trial)
        mixed, clean = run_trial(together, trial, seed), run_trial(alone, trial, seed)
        assert mixed.scores["kmeans"] == clean.scores["kmeans"]
        assert ("rogue" in mixed.errors) == (trial in GLOBAL_DRAW_TRIALS)


def test_a_single_cached_normal_draw_is_seen_too():
    """A legacy normal deviate can come from a cache without moving the generator."""
    np.random.seed(1)  # noqa: NPY002 - leaves a cached deviate behind
    np.random.standard_normal()  # noqa: NPY002
    assert np.random.get_state(legacy=False)["has_gauss"]  # noqa: NPY002
    spec = make_spec(("rogue", "misbehaving.OneNormalKMeans"))
    outcome = run_trial(spec, 3, seed_of(spec, 3))
    assert "drew from NumPy's global random generator" in outcome.errors["rogue"]


def test_a_data_generator_drawing_from_the_global_generator_fails_every_method():
    spec = make_spec(
        KMEANS, ("gmm", "sklearn.mixture.GaussianMixture"), generator="misbehaving.global_blobs"
    )
    outcome = run_trial(spec, 5, seed_of(spec, 5))
    assert set(outcome.errors) == {"kmeans", "gmm"} and not outcome.scores
    assert (
        "data generator misbehaving.global_blobs of scenario 'aniso' drew from NumPy's "
        "global random generator" in outcome.errors["gmm"]
    )
    rows = trial_rows(spec, outcome, on_error="record")
    assert [row["status"] for row in rows] == ["error", "error"]
    assert all("GlobalRandomStateError" in row["error"] for row in rows)


def test_legacy_seeding_has_no_guard():
    spec = make_spec(
        ("rogue", "misbehaving.GlobalDrawKMeans"),
        ("noseed", "misbehaving.NoSeedKMeans"),
        seeding_scheme="legacy",
    )
    outcome = run_trial(spec, 0, seed_of(spec, 0))
    assert not outcome.errors and set(outcome.scores) == {"rogue", "noseed"}


def test_record_mode_in_workers_records_global_draws_and_keeps_the_rest():
    spec = make_spec(("rogue", "misbehaving.GlobalDrawKMeans"), KMEANS)
    rows = list(iter_chunk_rows(spec, 0, 6, n_jobs=2, on_error="record"))
    failed = {row["trial"] for row in rows if row["status"] == "error"}
    assert failed == GLOBAL_DRAW_TRIALS
    assert {row["method"] for row in rows if row["status"] == "error"} == {"rogue"}
    assert all("GlobalRandomStateError" in row["error"] for row in rows if row["error"])


def test_the_guard_costs_microseconds():
    start = time.perf_counter()
    for _ in range(1000):
        GlobalGeneratorGuard().drawn()
    assert time.perf_counter() - start < 0.2  # 2 of ~3 per trial: far below 10 ms trials


# --- Dying workers ------------------------------------------------------------------------


def exit_on_three(item: int) -> int:
    if item == 3:
        os._exit(1)
    time.sleep(0.2)
    return item


def test_ordered_map_names_the_tasks_running_when_a_worker_died():
    with pytest.raises(WorkerDiedError) as caught:
        list(ordered_map(exit_on_three, range(8), n_jobs=2))
    assert 3 in [task.index for task in caught.value.running]
    assert "EXIT(1)" in caught.value.detail


def test_a_dying_worker_names_scenario_method_trials_seeds_and_replay():
    spec = make_spec(("crasher", "misbehaving.CrashingKMeans"))
    with pytest.raises(TrialError) as caught:
        list(iter_chunk_rows(spec, 0, 5, n_jobs=2, on_error="record"))
    message = str(caught.value)
    first = message.splitlines()[0]
    assert first.startswith(
        "worker process died while running trials of scenario=aniso method=crasher: "
    )
    assert f"trial 2 (seed {SEEDS[2]})" in first
    assert "simstudy replay --scenario aniso --trial 2 --method crasher" in message
    assert "os._exit" in message and "EXIT(1)" in message
    assert "on_error: record cannot turn this into error rows" in message


# --- Time limits and the heartbeat --------------------------------------------------------


def test_a_trial_past_its_time_limit_is_stopped_and_named():
    spec = make_spec(KMEANS, ("sleeper", "misbehaving.SleepyKMeans"))
    handler = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    outcome = run_trial(spec, SLEEPY_TRIAL, SEEDS[SLEEPY_TRIAL], time_limit=0.5)
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGALRM) is handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert set(outcome.errors) == {"sleeper"} and "kmeans" in outcome.scores
    error = outcome.errors["sleeper"]
    assert "misbehaving.py" in error, "the traceback shows where the trial hung"
    assert (
        f"trial {SLEEPY_TRIAL} ran past its time limit of 0.5 s while method 'sleeper' ran"
        in error
    )
    with pytest.raises(TrialError) as caught:
        trial_rows(spec, outcome, on_error="raise")
    assert f"method=sleeper seed={SEEDS[SLEEPY_TRIAL]}" in str(caught.value)
    assert "simstudy replay --scenario aniso --trial 1 --method sleeper" in str(caught.value)


def test_methods_after_the_one_that_ran_out_of_time_are_not_run():
    spec = make_spec(("sleeper", "misbehaving.SleepyKMeans"), KMEANS)
    outcome = run_trial(spec, SLEEPY_TRIAL, SEEDS[SLEEPY_TRIAL], time_limit=0.3)
    assert outcome.not_run == {"kmeans"}
    assert "not run: trial 1 reached its time limit of 0.3 s" in outcome.errors["kmeans"]
    with pytest.raises(TrialError) as caught:  # kmeans sorts first; sleeper is to blame
        trial_rows(spec, outcome, on_error="raise")
    assert "method=sleeper" in str(caught.value)


def test_a_slow_data_generator_fails_every_method_at_the_limit():
    spec = make_spec(KMEANS, generator="misbehaving.slow_blobs", scenario_params={"delay": 60})
    outcome = run_trial(spec, 0, SEEDS[0], time_limit=0.3)
    assert "while its data generator misbehaving.slow_blobs ran" in outcome.errors["kmeans"]


def test_the_time_limit_gives_back_the_previous_handler_and_timer():
    calls = []
    previous = signal.signal(signal.SIGALRM, lambda *_: calls.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with trial_time_limit(5):
            assert signal.getitimer(signal.ITIMER_REAL)[0] <= 5
        assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
        assert calls == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ValueError, match="positive"), trial_time_limit(0):
        pass
    failures = []
    worker = threading.Thread(target=lambda: failures.append(_limit_outside_main_thread()))
    worker.start()
    worker.join()
    assert failures == ["main thread"]


def _limit_outside_main_thread() -> str:
    try:
        with trial_time_limit(1):
            return "no error"
    except RuntimeError as error:
        return "main thread" if "main thread" in str(error) else str(error)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_hanging_trial_shows_in_the_log_and_is_recorded(caplog, n_jobs):
    spec = make_spec(("sleeper", "misbehaving.SleepyKMeans"))
    with caplog.at_level(logging.INFO, logger="simstudy"):
        rows = list(
            iter_chunk_rows(
                spec,
                0,
                4,
                n_jobs=n_jobs,
                on_error="record",
                progress_interval=0.2,
                time_limit=1.5,
            )
        )
    assert [row["status"] for row in rows] == ["ok", "error", "ok", "ok"]
    assert "time limit of 1.5 s" in rows[1]["error"]
    messages = [record.getMessage() for record in caplog.records]
    pattern = re.compile(rf"in flight: (trial .*, )?trial 1 \(seed {SEEDS[1]}, \d+ s\)")
    assert any(pattern.search(message) for message in messages), messages
    assert any("trial 1 method sleeper failed (recorded)" in message for message in messages)
    assert not [t for t in threading.enumerate() if t.name == "chunk-monitor"]


def test_the_heartbeat_reports_while_no_trial_finishes_and_stops_on_failure(caplog):
    spec = make_spec(KMEANS, generator="misbehaving.slow_blobs", scenario_params={"delay": 1})
    with caplog.at_level(logging.INFO, logger="simstudy"), pytest.raises(TrialError):
        # on_error raise: the first trial fails at its limit, after heartbeats
        list(iter_chunk_rows(spec, 0, 3, progress_interval=0.2, time_limit=0.8))
    lines = [r.getMessage() for r in caplog.records if "in flight" in r.getMessage()]
    assert lines and lines[0].startswith(
        f"aniso/kmeans trials 0-2: in flight: trial 0 (seed {SEEDS[0]}, 0 s); 0/3 trials done"
    )
    assert not [t for t in threading.enumerate() if t.name == "chunk-monitor"]


def test_a_trial_stuck_in_compiled_code_has_its_worker_killed():
    spec = make_spec(("stuck", "misbehaving.StuckKMeans"))
    started = time.monotonic()
    with pytest.raises(TrialError) as caught:
        list(iter_chunk_rows(spec, 0, 4, n_jobs=2, on_error="record", time_limit=0.5))
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert f"trial 1 (seed {SEEDS[1]})" in message.splitlines()[0]
    assert "past its time limit of 0.5 s, without stopping" in message
    assert "simstudy replay --scenario aniso --trial 1 --method stuck" in message


def test_a_bad_time_limit_is_refused():
    with pytest.raises(ValueError, match="positive"):
        list(iter_chunk_rows(make_spec(KMEANS), 0, 1, time_limit=-1))


# --- End to end ---------------------------------------------------------------------------

# Jobs import tests/misbehaving.py through PYTHONPATH; chunk logs report every 0.5 s.
JOB_ENV = {"PYTHONPATH": str(REPO / "tests"), "SIMSTUDY_PROGRESS_INTERVAL": "0.5"}


def e2e_config(on_error: str, methods: dict[str, str], comparison: list[str]) -> dict:
    """The tiny study, four trials in one chunk per method, a time limit of 2 s."""
    config = copy.deepcopy(TINY_CONFIG)
    config.update(n_trials=4, chunk_size=4, on_error=on_error, trial_time_limit=2)
    config["methods"] = {
        name: {"estimator": estimator, "params": {"n_clusters": 3, "n_init": 1}}
        for name, estimator in methods.items()
    }
    config["comparison"] = comparison
    return config


def run_workflow(workdir: Path, *args: str, config: dict, timeout: int = 180):
    """Run the real snakemake command as ``conftest.snakemake`` does, in its own session.

    A run that outlives ``timeout`` (a hang the guards should have stopped) is killed
    with all its jobs and workers, and the test fails.
    """
    default_study = workdir / "config" / "config.yaml"
    default_study.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "config" / "config.yaml", default_study)
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    command += [*args, "--configfile", str(write_config(workdir / "study.yaml", config))]
    run = subprocess.Popen(
        command,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **JOB_ENV},
        start_new_session=True,
    )
    try:
        stdout, stderr = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        stdout, stderr = run.communicate()
        pytest.fail(f"snakemake still ran after {timeout} s\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return run.returncode, stdout + stderr


def chunk_log(workdir: Path, method: str) -> str:
    return (workdir / f"results/logs/run_chunk/aniso/{method}/0-4.log").read_text()


def in_flight_line(trial: int) -> re.Pattern:
    return re.compile(rf"in flight: (trial .*, )?trial {trial} \(seed {SEEDS[trial]}, \d+ s\)")


@pytest.mark.e2e
def test_misbehaving_methods_fail_their_jobs_with_named_errors(tmp_path):
    """One run, two workers per chunk: a global draw, a dying worker, a hang past 2 s."""
    config = e2e_config(
        "raise",
        {
            "globaldraw": "misbehaving.GlobalDrawKMeans",
            "crasher": "misbehaving.CrashingKMeans",
            "sleeper": "misbehaving.SleepyKMeans",
        },
        ["globaldraw", "sleeper"],
    )
    code, output = run_workflow(
        tmp_path,
        *("results/trials.csv", "--cores", "2", "--set-threads", "run_chunk=2"),
        "--keep-going",
        config=config,
    )
    assert code != 0

    # Global generator: trials 0 and 2 of the chunk draw from it. With two workers,
    # whichever of them fails first stops the job (trial 0's worker may still be
    # importing when trial 2 fails), so either may be the one named.
    drawn = re.search(
        r"trial failed: scenario=aniso trial=(\d+) method=globaldraw seed=(\d+)", output
    )
    assert drawn, output[-4000:]
    trial = int(drawn[1])
    assert trial in (0, 2) and int(drawn[2]) == SEEDS[trial]
    assert "drew from NumPy's global random generator" in output
    assert f"simstudy replay --scenario aniso --trial {trial} --method globaldraw" in output

    # Dying worker: trial 2 killed it; whatever else was in flight is named with it.
    death = re.search(
        r"worker process died while running trials of scenario=aniso method=crasher: (.*)",
        output,
    )
    assert death, output[-4000:]
    assert f"trial 2 (seed {SEEDS[2]})" in death[1]
    assert "os._exit" in output and "EXIT(1)" in output
    assert "simstudy replay --scenario aniso --trial 2 --method crasher" in output

    # Hang: trial 1 is stopped at its limit and named with it.
    assert f"trial failed: scenario=aniso trial=1 method=sleeper seed={SEEDS[1]}" in output
    assert "time limit of 2 s" in output
    assert "simstudy replay --scenario aniso --trial 1 --method sleeper" in output
    assert in_flight_line(1).search(chunk_log(tmp_path, "sleeper"))

    assert not list((tmp_path / "results/chunks").rglob("*.csv"))


@pytest.mark.e2e
def test_record_mode_records_global_draws_and_hangs_as_error_rows(tmp_path):
    """In-process chunks (one worker): the guards record failures and the run goes on."""
    config = e2e_config(
        "record",
        {
            "kmeans": "sklearn.cluster.KMeans",
            "globaldraw": "misbehaving.GlobalDrawKMeans",
            "sleeper": "misbehaving.SleepyKMeans",
        },
        ["kmeans", "sleeper"],
    )
    code, output = run_workflow(
        tmp_path,
        *("results/trials.csv", "--cores", "2", "--set-threads", "run_chunk=1"),
        config=config,
    )
    assert code == 0, output[-4000:]
    with open(tmp_path / "results/trials.csv", newline="") as handle:
        rows = {(row["method"], row["trial"]): row for row in csv.DictReader(handle)}
    failed = {key for key, row in rows.items() if row["status"] == "error"}
    assert failed == {("globaldraw", "0"), ("globaldraw", "2"), ("sleeper", "1")}
    for key in [("globaldraw", "0"), ("globaldraw", "2")]:
        assert "drew from NumPy's global random generator" in rows[key]["error"]
        assert rows[key]["ari"] == ""
    assert "time limit of 2 s" in rows[("sleeper", "1")]["error"]
    log = chunk_log(tmp_path, "sleeper")
    assert in_flight_line(1).search(log)
    assert "trial 1 method sleeper failed (recorded)" in log
