"""Rule run_example: run the example trial of the figures, keep it as JSON."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

from simstudy.example import run_example, write_example
from simstudy.logs import logged
from simstudy.spec import TrialSpec


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        specs = [TrialSpec.from_json(text) for text in smk.params.specs]
        example = run_example(specs, smk.params.trial)
        write_example(smk.output.example, example)
        failed = ", ".join(example.errors) or "none"
        logger.info(
            "wrote trial %d of %s (seed %d) to %s; methods that failed: %s",
            example.trial,
            example.scenario,
            example.seed,
            smk.output.example,
            failed,
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
