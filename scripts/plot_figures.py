"""Rule plot_figures: draw every figure of the study."""

from simstudy.figures import draw_all
from simstudy.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        draw_all(
            smk.params.config,
            manifest=smk.input.manifest,
            trials=smk.input.trials,
            summary=smk.input.summary,
            outputs=dict(smk.output.items()),
        )
        logger.info("wrote %s", ", ".join(smk.output))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
