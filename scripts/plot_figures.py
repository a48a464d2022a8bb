"""Rules plot_figures, plot_timings and plot_stopping: draw the figures the catalog
gives the rule (simstudy/catalog.py), from the tables it names as inputs."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

from simstudy.figure_rules import draw_figures
from simstudy.integrity import checked_inputs
from simstudy.logs import logged
from simstudy.plan import StudyPlan


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        checked_inputs(smk.input)  # nothing is read before this
        draw_figures(
            StudyPlan(smk.params.config),
            smk.params.figure_rule,  # the catalog's name (smk.rule is prefixed in a module)
            inputs=dict(smk.input.items()),
            outputs=dict(smk.output.items()),
        )
        logger.info("wrote %s", ", ".join(smk.output))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
