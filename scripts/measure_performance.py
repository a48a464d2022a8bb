"""Rule measure_performance: write results/performance.csv from results/trials.csv."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

from simstudy.integrity import checked_inputs
from simstudy.logs import logged
from simstudy.performance import performance, write_performance
from simstudy.summary import read_trials


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        checked_inputs(smk.input)  # nothing is read before this
        table = performance(
            read_trials(smk.input.trials),
            estimands=smk.params.estimands,
            scenarios=smk.params.scenarios,
            comparison=smk.params.comparison,
            method_values=smk.params.method_values,
        )
        rows = write_performance(table, smk.output.performance)
        logger.info("wrote %d performance rows to %s", rows, smk.output.performance)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
