"""Checkpoint stopping_round: decide whether a scenario stops after a round of trials."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

from simstudy.integrity import checked_inputs
from simstudy.logs import logged
from simstudy.stopping import decide_round, read_decision, write_decision


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        checked_inputs(smk.input)  # nothing is read before this
        stopping = smk.params.stopping
        previous = smk.input.get("previous")
        # round 0 has n_trials (never above max_trials: the config check sees to it)
        trials = (
            smk.params.n_trials if previous is None else read_decision(previous)["next_trials"]
        )
        decision = decide_round(
            smk.input.chunks,
            scenario=smk.wildcards.scenario,
            round_=int(smk.wildcards.round),
            trials=trials,
            specs=smk.params.specs,
            values=smk.params.values,
            group_values=smk.params.group_values,
            method_values=smk.params.method_values,
            performance=smk.params.performance,
            comparison=smk.params.comparison,
            stopping=stopping,
        )
        write_decision(smk.output.decision, decision)
        logger.info(
            "%s round %s: %d trials, %s %s (target %g): %s",
            decision["scenario"],
            decision["round"],
            decision["trials"],
            "MCSE" if "mcse" in stopping else "half-width",
            decision["mcse"] if "mcse" in stopping else decision["half_width"],
            decision["target"],
            f"stopped ({decision['reason']})"
            if decision["stopped"]
            else f"{decision['next_trials']} trials next",
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
