"""Rule merge_trials: merge the chunk files into results/trials.csv."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

from simstudy.integrity import checked_inputs
from simstudy.logs import logged
from simstudy.merge import merge_trials
from simstudy.tables import kept_trials


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        checked_inputs(smk.input)  # nothing is read before this
        rows = merge_trials(
            smk.input.chunks,
            smk.output.trials,
            manifest=smk.input.manifest,
            n_trials=kept_trials(smk.params.n_trials, smk.input.get("stopping")),
            values=smk.params.values,
            specs=smk.params.specs,
            group_values=smk.params.group_values,
            method_values=smk.params.method_values,
            on_error=smk.params.on_error,
        )
        logger.info("merged %d chunk files into %d rows", len(smk.input.chunks), rows)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
