"""Rule plot_difference: draw the per-trial ARI differences of the compared methods."""

from simstudy.figures import draw_difference
from simstudy.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        draw_difference(
            smk.params.config,
            trials=smk.input.trials,
            summary=smk.input.summary,
            output=smk.output.figure,
        )
        logger.info("wrote %s", smk.output.figure)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
