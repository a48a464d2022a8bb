"""Rule run_chunk: run one chunk of seeded trials with joblib, n_jobs = the job's threads."""

# In a local run, the run's warm process runs this script in this job's place, with its
# imports already done (see simstudy/warm.py); elsewhere this returns and the job goes on.
from simstudy.warm import hand_over

hand_over()

import os
import time

from simstudy.chunks import run_chunk
from simstudy.logs import logged
from simstudy.provenance import chunk_record, write_json
from simstudy.spec import TrialSpec

#: Environment variable: seconds between the progress and in-flight lines of a chunk's
#: log (default 10). Read here rather than from the config, so that it reruns nothing.
PROGRESS_INTERVAL_VARIABLE = "SIMSTUDY_PROGRESS_INTERVAL"


def progress_interval() -> float:
    """Seconds between progress lines: ``$SIMSTUDY_PROGRESS_INTERVAL``, or 10."""
    text = os.environ.get(PROGRESS_INTERVAL_VARIABLE, "10")
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:
        raise ValueError(f"{PROGRESS_INTERVAL_VARIABLE}={text!r} must be a number of seconds > 0")
    return seconds


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
            timings=smk.output.timings,
            n_jobs=smk.threads,
            # Deliberately not params: switching them must not rerun finished chunks
            # (the merge enforces on_error: raise on recorded failures instead; a time
            # limit changes no result of a trial that keeps within it).
            on_error=smk.config["on_error"],
            time_limit=smk.config["trial_time_limit"],
            progress_interval=progress_interval(),
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
