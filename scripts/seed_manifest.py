"""Rule seed_manifest: write results/manifest.csv, one seed per trial."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.integrity import write_manifest
from simstudy.warm import hand_over

hand_over()

from simstudy.logs import logged
from simstudy.seeding import trial_seeds


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        params = smk.params
        seeds = trial_seeds(params.seed, params.seeding, 0, params.n_trials)
        write_manifest(smk.output.manifest, seeds)
        logger.info(
            "wrote %d %s seeds from root seed %d to %s",
            len(seeds),
            params.seeding,
            params.seed,
            smk.output.manifest,
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
