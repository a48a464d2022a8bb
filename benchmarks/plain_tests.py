"""The baseline for cheap trials: the testing example's trials as one plain script.

The study in ``examples/testing`` compares Welch's t-test with the Wilcoxon-Mann-Whitney
test on two samples of 30 numbers, in four scenarios: a trial takes about a
millisecond, so a comparison with this script measures what the workflow adds to each
trial. The script does the work of the workflow's chunk jobs for that study, written by
hand around the study's own functions (its ``twosample`` module, which must be
importable): one 128-bit seed per trial from NumPy's SeedSequence, the data drawn once
per trial from its ``"data"`` stream (a ``Generator``, which the generator asks for by
naming its parameter ``rng``), both tests on those data, ``joblib.Parallel`` over
batches of trials, and a CSV of every value the tests return. It reads the study's
seed, scenarios and methods from its YAML file and imports nothing from this project.

    PYTHONPATH=examples/testing python benchmarks/plain_tests.py \\
        --study examples/testing/study.yaml --trials 5000 --n-jobs 2 --output plain.csv
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import inspect

import numpy as np
import yaml
from joblib import Parallel, delayed, parallel_config


def trial_seed(root: int, trial: int) -> int:
    """Trial ``trial``'s 128-bit seed: 4 words of ``SeedSequence(root, spawn_key=(trial,))``."""
    words = np.random.SeedSequence(root, spawn_key=(trial,)).generate_state(4, np.uint32)
    return int.from_bytes(words.astype("<u4").tobytes(), "little")


#: The ``spawn_key`` of a trial's data stream: the SHA-256 of ``"data"``, as 4 words.
DATA_KEY = tuple(
    int.from_bytes(hashlib.sha256(b"data").digest()[i : i + 4], "little") for i in range(0, 16, 4)
)


def data_rng(seed: int) -> np.random.Generator:
    """The trial's data stream: a PCG64 Generator from the trial seed and the data's key."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=DATA_KEY)))


def function(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def batch(study: dict, scenario: str, start: int, stop: int) -> list[tuple]:
    """Rows ``(scenario, trial, method, {name: value})`` of trials ``start`` to ``stop - 1``."""
    setting = study["scenarios"][scenario]
    generate = function(setting["generator"])
    methods = [
        (name, function(method["function"]), method.get("params") or {})
        for name, method in study["methods"].items()
    ]
    rows = []
    for trial in range(start, stop):
        data = generate(rng=data_rng(trial_seed(study["seed"], trial)), **setting["params"])
        for name, test, params in methods:
            values = {key: float(value) for key, value in test(data, **params).items()}
            rows.append((scenario, trial, name, values))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="examples/testing/study.yaml")
    parser.add_argument("--trials", type=int, default=5000, help="trials per scenario")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500, help="trials per task")
    parser.add_argument("--output", default="plain-tests.csv")
    args = parser.parse_args()
    with open(args.study, encoding="utf-8") as handle:
        study = yaml.safe_load(handle)
    for name, method in study["methods"].items():  # what this script knows how to run
        takes = inspect.signature(function(method["function"])).parameters
        if "rng" in takes or "random_state" in takes:
            parser.error(f"method {name} takes a random stream; this script passes none")
    tasks = [
        (scenario, start, min(start + args.batch, args.trials))
        for scenario in study["scenarios"]
        for start in range(0, args.trials, args.batch)
    ]
    with parallel_config(backend="loky", inner_max_num_threads=1):
        batches = Parallel(n_jobs=args.n_jobs)(delayed(batch)(study, *task) for task in tasks)
    rows = [row for rows in batches for row in rows]
    names = list(dict.fromkeys(key for *_, values in rows for key in values))
    with open(args.output, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["scenario", "trial", "method", *names])
        for scenario, trial, method, values in rows:
            cells = (repr(values[key]) if key in values else "" for key in names)
            writer.writerow([scenario, trial, method, *cells])


if __name__ == "__main__":
    main()
