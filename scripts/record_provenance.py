"""Rule record_provenance: write results/provenance.json for the finished trials."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

from pathlib import Path

from simstudy.integrity import checked_inputs
from simstudy.logs import logged
from simstudy.provenance import study_record, write_json


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        checked_inputs(smk.input)  # nothing is read before this
        record = study_record(
            smk.params.config,
            specs=smk.params.specs,
            chunk_records=smk.input.records,
            source_dir=Path(smk.scriptdir).parent,  # the workflow's checkout
        )
        write_json(smk.output.provenance, record)
        logger.info("recorded %d chunk jobs in %s", len(record["chunks"]), smk.output.provenance)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
