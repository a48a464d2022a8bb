"""Rule summarize: write results/summary.csv from results/trials.csv."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

from simstudy.integrity import checked_inputs
from simstudy.logs import logged
from simstudy.summary import read_trials, summarize, write_summary


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        checked_inputs(smk.input)  # nothing is read before this
        table = summarize(
            read_trials(smk.input.trials),
            values=smk.params.values,
            method_values=smk.params.method_values,
            comparison=smk.params.comparison,
        )
        rows = write_summary(table, smk.output.summary)
        logger.info("wrote %d summary rows to %s", rows, smk.output.summary)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
