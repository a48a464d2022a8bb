"""Command line: ``simstudy replay --scenario S --trial I --method M``.

Exit status of ``replay``: 0 when the trial reproduces its row of ``trials.csv`` (or
runs, when there is no row), 1 when it does not (scores, seed, or failure differ), 2 for
a bad request (or no study or results where it looked), 3 when the trial fails again as
recorded (or fails, with no row). Run it from the study's folder, where snakemake ran.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from simstudy.metrics import value_label


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simstudy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    replay = commands.add_parser(
        "replay",
        help="rerun one trial from the manifest and compare it with its row in trials.csv",
        description="Rerun one trial from RESULTS/manifest.csv and compare it with its row "
        "in RESULTS/trials.csv. Run it from the study's folder (where snakemake ran it).",
    )
    replay.add_argument("--scenario", required=True)
    replay.add_argument("--trial", required=True, type=int)
    replay.add_argument("--method", required=True)
    replay.add_argument(
        "--configfile",
        help="study config to use (default: the one recorded in RESULTS/provenance.json, "
        "else config/config.yaml)",
    )
    replay.add_argument("--results", default="results", help="results folder (default: results)")
    replay.add_argument(
        "--plot",
        metavar="PNG",
        help="also draw the true and the predicted clusters (a clusterer's trial only)",
    )
    return parser


#: Exit statuses of ``simstudy replay`` (docs/failures.md lists them).
REPRODUCED, DIFFERS, BAD_REQUEST, FAILED_AS_RECORDED = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv
        The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit status of ``replay``: :data:`REPRODUCED`, :data:`DIFFERS`,
        :data:`BAD_REQUEST` (the config or the request cannot be used, or there is no
        study or results where it looked) or
        :data:`FAILED_AS_RECORDED` (the trial failed, as its row records or with no row).
    """
    args = _parser().parse_args(argv)
    from simstudy.replay import load_config, replay_trial
    from simstudy.rows import warning_cells

    try:
        config, source = load_config(args.configfile, args.results)
        replay = replay_trial(config, args.scenario, args.trial, args.method, results=args.results)
    except (OSError, ValueError) as error:
        print(f"simstudy replay: {error}", file=sys.stderr)
        return BAD_REQUEST
    spec = replay.spec
    print(f"config: {source}")
    print(
        f"scenario {spec.scenario.name}, trial {args.trial}, method {args.method} "
        f"(seeding {spec.seeding}, methods run: {', '.join(spec.method_names)})"
    )
    print(f"seed {replay.seed}")
    trials = f"{args.results}/trials.csv"
    if replay.recorded is not None and replay.recorded_seed != replay.seed:
        print(
            f"the seeds differ: the manifest gives seed {replay.seed}, the row in {trials} "
            f"holds {replay.recorded_seed}. The manifest was rebuilt (another seed, seeding or "
            f"root seed) after trials.csv was written: run snakemake to bring them together."
        )
    if replay.recorded is not None and replay.recorded["spec"] != spec.digest:
        print(
            f"the row in {trials} was made by spec {replay.recorded['spec']}, but the config "
            f"and code now give spec {spec.digest}: a difference below may come from that "
            f"change (the specs are in {args.results}/provenance.json)"
        )
    if replay.scores is None:
        print(f"the trial FAILED:\n{replay.outcome.errors[args.method]}")
    else:
        for name, value in replay.scores.items():
            print(f"{value_label(name)} = {value!r}")
    caught = warning_cells(replay.outcome.warnings.get(args.method, []))
    if caught["n_warnings"]:
        print(f"warnings: {caught['n_warnings']}, the first: {caught['warning']}")
    verdict = replay.matches()
    if verdict is None:
        print(f"no row for this trial in {trials} to compare with")
    elif verdict and replay.scores is None:
        print(f"matches {trials}: yes: the trial failed, as recorded: {replay.recorded['error']}")
    else:
        print(f"matches {trials}: {'yes' if verdict else 'NO'}")
        if not verdict:
            print(f"recorded row: {replay.recorded}")
    if args.plot and replay.scores is not None:
        print(_plot(replay, args, config))
    if verdict is False:
        return DIFFERS
    return FAILED_AS_RECORDED if replay.scores is None else REPRODUCED


def _plot(replay, args, config) -> str:
    """Draw a clusterer's clusters of the trial's dataset; say what was done."""
    from simstudy import plots
    from simstudy.plan import StudyPlan
    from simstudy.plots_examples import example_clusterings_figure

    outcome = replay.outcome
    if args.method not in outcome.labels or outcome.X is None:
        return (
            f"--plot draws a clusterer's clusters of its dataset; method {args.method} is "
            f"not a clusterer, so {args.plot} was not written"
        )
    label = StudyPlan(config).method_label(args.method)
    shown, score = next(iter(replay.scores.items()))  # its first value (ARI by default)
    plots.save(
        example_clusterings_figure(
            outcome.X,
            outcome.y,
            {"true clusters": outcome.y, label: outcome.labels[args.method]},
            {"true clusters": 1.0, label: score},
            scenario=args.scenario,
            trial=args.trial,
            metric_label=value_label(shown),
            title=f"Replay of scenario '{args.scenario}', trial {args.trial}: true clusters "
            f"and {label}'s clusters (colours matched)",
        ),
        args.plot,
    )
    return f"wrote {args.plot}"


if __name__ == "__main__":
    sys.exit(main())
