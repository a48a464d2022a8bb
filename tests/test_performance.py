"""Performance measures and their Monte Carlo SEs (simstudy.performance).

Each measure is checked against the formula of Morris, White and Crowther (2019, Table 6)
written out again here with plain loops, on a small made-up table, and against known
answers on many simulated trials: the coverage of exact t intervals, the bias and
empirical SE of a mean, the power of a z-test and the precision of the median relative to
the mean. Trials without an estimate are counted, never dropped silently.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simstudy.performance import (
    MEASURES,
    PERFORMANCE_COLUMNS,
    estimand_columns,
    measure_mcse,
    performance,
    write_performance,
)

# The formulas of Table 6, straight from the paper ---------------------------------------


def mean(xs):
    return sum(xs) / len(xs)


def sample_variance(xs):
    m = mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def book_bias(t, theta):
    n, m = len(t), mean(t)
    return m - theta, math.sqrt(sum((x - m) ** 2 for x in t) / (n * (n - 1)))


def book_empse(t):
    e = math.sqrt(sample_variance(t))
    return e, e / math.sqrt(2 * (len(t) - 1))


def book_mse(t, theta):
    n = len(t)
    m = sum((x - theta) ** 2 for x in t) / n
    return m, math.sqrt(sum(((x - theta) ** 2 - m) ** 2 for x in t) / (n * (n - 1)))


def book_modelse(s):
    n = len(s)
    modse = math.sqrt(sum(x * x for x in s) / n)
    return modse, math.sqrt(sample_variance([x * x for x in s]) / (4 * n * modse**2))


def book_relerror(t, s):
    n = len(t)
    emp, mod = book_empse(t)[0], book_modelse(s)[0]
    var_s2 = sample_variance([x * x for x in s])
    root = math.sqrt(var_s2 / (4 * n * mod**4) + 1 / (2 * (n - 1)))
    return 100 * (mod / emp - 1), 100 * (mod / emp) * root


def book_share(hits):
    p = sum(1 for h in hits if h) / len(hits)
    return p, math.sqrt(p * (1 - p) / len(hits))


def book_cover(lower, upper, target):
    return book_share([lo <= target <= hi for lo, hi in zip(lower, upper, strict=True)])


def book_relprec(t_m, t_b):
    """Precision of m relative to the reference B, over the paired trials."""
    n = len(t_m)
    e_m, e_b = book_empse(t_m)[0], book_empse(t_b)[0]
    m_m, m_b = mean(t_m), mean(t_b)
    covariance = sum((a - m_m) * (b - m_b) for a, b in zip(t_m, t_b, strict=True)) / (n - 1)
    rho = covariance / (e_m * e_b)
    ratio = (e_b / e_m) ** 2
    return 100 * (ratio - 1), 200 * ratio * math.sqrt((1 - rho**2) / (n - 1))


def z(alpha):
    return float(stats.norm.ppf(1 - alpha / 2))


# A small made-up study -------------------------------------------------------------------
# Scenario "a" (true value mu = 1) and "b" (mu = 0). Method "wald" gives an estimate and
# its SE; "interval" its own limits and a p-value; "plain" the estimate only. B is "wald".

EST = {
    "wald": [1.3, 0.6, 1.1, 2.0, 0.2, 1.4, 0.9, 1.05],
    "interval": [1.2, 0.8, 1.0, 1.9, 0.5, 1.3, 0.7, 1.1],
    "plain": [0.9, 1.7, 1.2, 0.4, 1.6, 1.1, 1.3, 0.75],
}
SE = [0.3, 0.5, 0.2, 0.4, 0.35, 0.25, 0.45, 0.3]
LOWER = [0.9, 0.1, 0.95, 1.1, -0.2, 1.0, 0.1, 0.6]
UPPER = [1.5, 1.5, 1.05, 2.7, 1.0, 1.6, 1.3, 1.6]
P = [0.01, 0.2, 0.049, 0.001, 0.3, 0.05, 0.04, 0.002]
PARAMS = {"a": {"mu": 1}, "b": {"mu": 0.0}}
METHOD_VALUES = {
    "wald": ["est", "est_se"],
    "interval": ["est", "est_lower", "est_upper", "est_p"],
    "plain": ["est"],
}
VALUES = ["est", "est_se", "est_lower", "est_upper", "est_p"]


def made_up_trials() -> pd.DataFrame:
    rows = []
    for scenario, shift in (("a", 0.0), ("b", -1.0)):
        for trial in range(8):
            for method in ("interval", "plain", "wald"):
                row = dict.fromkeys(VALUES, math.nan)
                row.update(scenario=scenario, trial=trial, method=method, status="ok")
                row["est"] = EST[method][trial] + shift
                if method == "wald":
                    row["est_se"] = SE[trial]
                if method == "interval":
                    row["est_lower"] = LOWER[trial] + shift
                    row["est_upper"] = UPPER[trial] + shift
                    row["est_p"] = P[trial]
                rows.append(row)
    return pd.DataFrame(rows, columns=["scenario", "trial", "method", *VALUES, "status"])


def measured(table, scenario, method, measure, estimand="est"):
    row = table[
        (table["scenario"] == scenario)
        & (table["method"] == method)
        & (table["estimand"] == estimand)
        & (table["measure"] == measure)
    ]
    assert len(row) == 1, (scenario, method, measure, len(row))
    return float(row["value"].iloc[0]), float(row["mcse"].iloc[0]), int(row["n"].iloc[0])


def study(trials, alpha=0.05, **entry):
    return performance(
        trials,
        estimands={"est": {"truth": {"param": "mu"}, "alpha": alpha, **entry}},
        scenarios=PARAMS,
        comparison=["plain", "wald"],
        method_values=METHOD_VALUES,
    )


def close(found, expected):
    assert found[0] == pytest.approx(expected[0], rel=1e-12, abs=1e-12)
    assert found[1] == pytest.approx(expected[1], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_every_measure_and_mcse_is_table_6s_formula(alpha):
    table = study(made_up_trials(), alpha)
    assert list(table.columns) == list(PERFORMANCE_COLUMNS)
    t, t_i, t_p = EST["wald"], EST["interval"], EST["plain"]
    theta = 1
    for method, estimates in EST.items():
        close(measured(table, "a", method, "bias"), book_bias(estimates, theta))
        close(measured(table, "a", method, "empse"), book_empse(estimates))
        close(measured(table, "a", method, "mse"), book_mse(estimates, theta))
    close(measured(table, "a", "wald", "modelse"), book_modelse(SE))
    close(measured(table, "a", "wald", "relerror"), book_relerror(t, SE))
    lower = [e - z(alpha) * s for e, s in zip(t, SE, strict=True)]
    upper = [e + z(alpha) * s for e, s in zip(t, SE, strict=True)]
    close(measured(table, "a", "wald", "cover"), book_cover(lower, upper, theta))
    close(measured(table, "a", "wald", "becover"), book_cover(lower, upper, mean(t)))
    wald = [abs(e / s) > z(alpha) for e, s in zip(t, SE, strict=True)]
    close(measured(table, "a", "wald", "power"), book_share(wald))
    close(measured(table, "a", "interval", "cover"), book_cover(LOWER, UPPER, theta))
    close(measured(table, "a", "interval", "becover"), book_cover(LOWER, UPPER, mean(t_i)))
    close(measured(table, "a", "interval", "power"), book_share([p < alpha for p in P]))
    close(measured(table, "a", "plain", "relprec"), book_relprec(t_p, t))
    close(measured(table, "a", "interval", "relprec"), book_relprec(t_i, t))
    assert measured(table, "a", "wald", "relprec") == (0.0, 0.0, 8)  # B against itself


def test_the_truth_of_each_scenario_is_its_param():
    table = study(made_up_trials())
    for method, estimates in EST.items():
        shifted = [e - 1.0 for e in estimates]
        close(measured(table, "b", method, "bias"), book_bias(shifted, 0.0))
        close(measured(table, "b", method, "mse"), book_mse(shifted, 0.0))
    # The interval covers 0 in "b" where it covered 1 in "a": the same share.
    assert measured(table, "b", "interval", "cover") == measured(table, "a", "interval", "cover")


def test_a_measure_is_there_only_when_its_inputs_are():
    table = study(made_up_trials())
    given = {
        method: table[(table["scenario"] == "a") & (table["method"] == method)]["measure"].tolist()
        for method in EST
    }
    assert given["wald"] == list(MEASURES)
    assert given["interval"] == [m for m in MEASURES if m not in ("modelse", "relerror")]
    assert given["plain"] == ["bias", "empse", "mse", "relprec", "n_missing"]
    assert (table["measure"] == "n_missing").sum() == 6  # 2 scenarios x 3 methods
    assert set(table[table["measure"] == "n_missing"]["value"]) == {0.0}


def test_only_methods_that_give_the_estimand_have_rows_and_without_b_no_relprec():
    trials = made_up_trials()
    values = {**METHOD_VALUES, "plain": ["other"]}
    table = performance(
        trials,
        estimands={"est": {"truth": 1.0}},  # alpha and columns by default
        scenarios=PARAMS,
        comparison=["wald", "plain"],  # B does not give "est"
        method_values=values,
    )
    assert set(table["method"]) == {"wald", "interval"}
    assert "relprec" not in set(table["measure"])
    close(
        measured(table, "a", "wald", "power"),
        book_share([abs(e / s) > z(0.05) for e, s in zip(EST["wald"], SE, strict=True)]),
    )


def test_configured_columns_replace_the_default_names():
    assert estimand_columns("theta", {}) == {
        "se": "theta_se",
        "lower": "theta_lower",
        "upper": "theta_upper",
        "p": "theta_p",
    }
    trials = made_up_trials().rename(columns={"est_se": "stderr"})
    table = performance(
        trials,
        estimands={"est": {"truth": 1, "columns": {"se": "stderr"}}},
        scenarios=PARAMS,
        comparison=["plain", "wald"],
        method_values={**METHOD_VALUES, "wald": ["est", "stderr"]},
    )
    close(measured(table, "a", "wald", "modelse"), book_modelse(SE))


def test_missing_and_failed_estimates_are_counted_and_left_out_of_every_measure():
    trials = made_up_trials()
    wald = (trials["scenario"] == "a") & (trials["method"] == "wald")
    failed = wald & trials["trial"].isin([1, 4])
    trials.loc[failed, "status"] = "error"
    trials.loc[failed, ["est", "est_se"]] = math.nan
    trials.loc[wald & (trials["trial"] == 6), "est_se"] = math.nan  # an estimate, no SE
    trials = trials[~(wald & (trials["trial"] == 7))]  # no row at all
    table = study(trials)
    kept = [0, 2, 3, 5]
    t = [EST["wald"][i] for i in kept]
    s = [SE[i] for i in kept]
    assert measured(table, "a", "wald", "n_missing")[::2] == (4.0, 4)
    assert math.isnan(measured(table, "a", "wald", "n_missing")[1])
    close(measured(table, "a", "wald", "bias"), book_bias(t, 1))
    close(measured(table, "a", "wald", "relerror"), book_relerror(t, s))
    assert measured(table, "a", "wald", "cover")[2] == 4
    plain = [EST["plain"][i] for i in kept]
    close(measured(table, "a", "plain", "relprec"), book_relprec(plain, t))
    assert measured(table, "a", "plain", "relprec")[2] == 4  # the pairs
    assert measured(table, "a", "plain", "n_missing")[::2] == (0.0, 8)
    assert measured(table, "b", "wald", "n_missing")[::2] == (0.0, 8)


def test_one_measure_of_one_scenario_from_chunk_style_text_rows():
    trials = made_up_trials()
    table = study(trials)
    rows = trials[trials["scenario"] == "a"].copy()
    for column in VALUES:  # as chunk files hold them: text, empty when missing
        rows[column] = ["" if math.isnan(v) else repr(v) for v in rows[column]]
    settings = {
        "estimands": {"est": {"truth": {"param": "mu"}}},
        "params": PARAMS["a"],
        "comparison": ["plain", "wald"],
        "method_values": METHOD_VALUES,
    }
    for measure in ("bias", "cover", "relprec"):
        found = measure_mcse(rows, measure, "est", **settings)
        for method, result in found.items():
            assert tuple(result) == measured(table, "a", method, measure)
    assert set(measure_mcse(rows, "modelse", "est", **settings)) == {"wald"}
    with pytest.raises(ValueError, match="unknown measure 'coverage'"):
        measure_mcse(rows, "coverage", "est", **settings)
    with pytest.raises(ValueError, match="'theta' is not an estimand"):
        measure_mcse(rows, "bias", "theta", **settings)
    with pytest.raises(ValueError, match="more than one scenario"):
        measure_mcse(trials, "bias", "est", **settings)


def test_the_table_is_written_with_exact_floats_and_integer_counts(tmp_path):
    table = study(made_up_trials())
    path = tmp_path / "performance.csv"
    assert write_performance(table, path) == len(table)
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(text.columns) == list(PERFORMANCE_COLUMNS)
    for written, value in zip(text["value"], table["value"], strict=True):
        assert (float(written) if written else math.nan) == value or math.isnan(value)
    for written, value in zip(text["mcse"], table["mcse"], strict=True):
        assert written == ("" if math.isnan(value) else repr(float(value)))
    missing = text[text["measure"] == "n_missing"]
    assert set(missing["value"]) == {"0"} and set(missing["mcse"]) == {""}
    assert set(text["n"]) == {"8"}


# Known answers, on many simulated trials ---------------------------------------------------


def simulated(estimates: dict[str, np.ndarray], extra: dict[str, dict] | None = None):
    """A one-scenario trials table: each method's estimates (and extra columns) by trial."""
    frames = []
    for method, values in estimates.items():
        columns = {"est": values, **(extra or {}).get(method, {})}
        frame = pd.DataFrame(columns)
        frame.insert(0, "method", method)
        frame.insert(0, "trial", np.arange(len(values)))
        frame.insert(0, "scenario", "s")
        frame["status"] = "ok"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def within_three_mcse(table, method, measure, expected):
    value, mcse, _ = measured(table, "s", method, measure)
    assert abs(value - expected) <= 3 * mcse, (measure, value, expected, mcse)


def test_t_intervals_of_normal_means_cover_95_percent_and_the_mean_is_unbiased():
    rng = np.random.default_rng(20240501)
    n, sigma, mu = 10, 2.0, 3.0
    samples = rng.normal(mu, sigma, size=(4000, n))
    means, sds = samples.mean(axis=1), samples.std(axis=1, ddof=1)
    half = stats.t.ppf(0.975, n - 1) * sds / math.sqrt(n)
    extra = {"t": {"est_lower": means - half, "est_upper": means + half}}
    table = performance(
        simulated({"t": means}, extra),
        estimands={"est": {"truth": mu}},
        scenarios={"s": {}},
        comparison=["t", "t"],
        method_values={"t": ["est", "est_lower", "est_upper"]},
    )
    within_three_mcse(table, "t", "cover", 0.95)
    within_three_mcse(table, "t", "bias", 0.0)
    within_three_mcse(table, "t", "empse", sigma / math.sqrt(n))
    within_three_mcse(table, "t", "mse", sigma**2 / n)


def test_the_power_of_a_z_test_is_the_normal_formula():
    rng = np.random.default_rng(7)
    n, effect = 25, 0.5
    means = rng.normal(effect, 1.0, size=(4000, n)).mean(axis=1)
    se = np.full(len(means), 1 / math.sqrt(n))
    p = 2 * stats.norm.sf(np.abs(means / se))
    shift = effect * math.sqrt(n)
    expected = stats.norm.cdf(shift - z(0.05)) + stats.norm.cdf(-shift - z(0.05))
    table = performance(
        simulated({"wald": means, "test": means}, {"wald": {"est_se": se}, "test": {"est_p": p}}),
        estimands={"est": {"truth": effect}},
        scenarios={"s": {}},
        comparison=["wald", "test"],
        method_values={"wald": ["est", "est_se"], "test": ["est", "est_p"]},
    )
    within_three_mcse(table, "wald", "power", expected)
    within_three_mcse(table, "test", "power", expected)
    within_three_mcse(table, "wald", "cover", 0.95)
    within_three_mcse(table, "wald", "relerror", 0.0)  # the SE is the true one
    assert measured(table, "s", "wald", "modelse")[:2] == pytest.approx((0.2, 0.0))


@pytest.mark.parametrize(
    ("comparison", "method", "expected"),
    [
        (["median", "mean"], "median", 100 * (2 / math.pi - 1)),  # less precise than B
        (["mean", "median"], "mean", 100 * (math.pi / 2 - 1)),  # more precise than B
    ],
)
def test_the_precision_of_the_median_relative_to_the_mean_of_normal_data(
    comparison, method, expected
):
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(4000, 101))
    table = performance(
        simulated({"mean": samples.mean(axis=1), "median": np.median(samples, axis=1)}),
        estimands={"est": {"truth": 0}},
        scenarios={"s": {}},
        comparison=comparison,
        method_values={"mean": ["est"], "median": ["est"]},
    )
    value, mcse, n = measured(table, "s", method, "relprec")
    # 2/pi is the median's efficiency as n grows; at n = 101 it is within a point of it.
    assert abs(value - expected) <= 3 * mcse + 1, (value, expected, mcse)
    assert n == 4000
    assert measured(table, "s", comparison[1], "relprec") == (0.0, 0.0, 4000)
