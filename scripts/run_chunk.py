"""Rule run_chunk: run one chunk of seeded trials with joblib, n_jobs = the job's threads."""

import time

from simstudy.logs import logged
from simstudy.provenance import chunk_record, write_json
from simstudy.spec import TrialSpec
from simstudy.trials import run_chunk


def main(smk) -> None:
    with logged(smk.log[0], smk.rule) as logger:
        spec = TrialSpec.from_json(smk.params.spec)
        start, stop = int(smk.wildcards.start), int(smk.wildcards.stop)
        started = time.time()
        rows = run_chunk(
            spec,
            start,
            stop,
            smk.output.rows,
            n_jobs=smk.threads,
            # Deliberately not a param: switching it must not rerun finished chunks
            # (the merge enforces on_error: raise on recorded failures instead).
            on_error=smk.config["on_error"],
        )
        write_json(
            smk.output.record,
            chunk_record(
                spec,
                start,
                stop,
                n_jobs=smk.threads,
                started=started,
                rows=rows,
                rows_path=smk.output.rows,
            ),
        )
        logger.info("wrote %d rows to %s", rows, smk.output.rows)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - the object Snakemake injects into scripts
