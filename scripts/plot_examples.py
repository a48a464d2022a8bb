"""Rule plot_examples: draw the example trial's dataset and the compared clusterings."""

from simstudy.figures import draw_examples
from simstudy.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        draw_examples(
            smk.params.config,
            manifest=smk.input.manifest,
            trials=smk.input.trials,
            data_png=smk.output.data,
            clusterings_png=smk.output.clusterings,
        )
        logger.info("wrote %s and %s", smk.output.data, smk.output.clusterings)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
