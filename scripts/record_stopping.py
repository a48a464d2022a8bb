"""Rule record_stopping: write results/stopping.csv from every round's decision."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

from simstudy.integrity import checked_inputs
from simstudy.logs import logged
from simstudy.stopping import write_stopping_table


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        checked_inputs(smk.input)  # nothing is read before this
        rows = write_stopping_table(list(smk.input), smk.output.stopping)
        logger.info("wrote %d rounds to %s", rows, smk.output.stopping)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
