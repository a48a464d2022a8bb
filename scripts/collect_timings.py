"""Rule collect_timings: gather the fit times into results/timings.csv, and summarise them."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

import pandas as pd

from simstudy.integrity import checked_inputs
from simstudy.logs import logged
from simstudy.tables import kept_trials
from simstudy.timings import collect_timings, summarize_timings, write_timing_summary


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        checked_inputs(smk.input)  # nothing is read before this
        rows = collect_timings(
            smk.input.timings,
            smk.output.timings,
            n_trials=kept_trials(smk.params.n_trials, smk.input.get("stopping")),
        )
        table = summarize_timings(pd.read_csv(smk.output.timings, keep_default_na=False))
        write_timing_summary(table, smk.output.summary)
        logger.info("wrote %d timings and %d summary rows", rows, len(table))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
