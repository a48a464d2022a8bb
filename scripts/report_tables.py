"""Rule report_tables: render the summary and the config as HTML for the report."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

from pathlib import Path

from simstudy.integrity import atomic_write, checked_inputs
from simstudy.logs import logged
from simstudy.report import config_html, summary_html


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        checked_inputs(smk.input)  # nothing is read before this
        pages = {
            smk.output.summary: summary_html(smk.input.summary),
            smk.output.config: config_html(smk.params.config),
        }
        for path, page in pages.items():
            with atomic_write(path) as handle:
                handle.write(page)
            logger.info("wrote %s", Path(path))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
