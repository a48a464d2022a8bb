"""Rule plot_design: draw the difference by scenario and the paired scatter."""

from simstudy.figures import draw_design
from simstudy.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        draw_design(
            smk.params.config,
            trials=smk.input.trials,
            summary=smk.input.summary,
            by_scenario=smk.output.by_scenario,
            paired=smk.output.paired,
        )
        logger.info("wrote %s and %s", smk.output.by_scenario, smk.output.paired)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
