# What a snakemake command does around the jobs: before the first (prepare_command:
# settings files, cleaning up, the warm process) and after the last (the handlers).

#: The folders of results/ that hold the study's tables, figures and report pages, with
#: results/ itself; chunks, timings, decisions, settings and logs are kept for reuse.
PRODUCT_FOLDERS = [
    layout.RESULTS,
    *{str(Path(path).parent) for path in LAYOUT.final_outputs()},
]
PRODUCT_SUFFIXES = {".csv", ".json", ".png", ".html"}


def remove_products_not_made():
    """Remove every table, figure and page in results/ that this study does not make.

    A run that exits 0 then leaves only what the current study made: after `stopping:`
    is dropped, say, no stopping.csv stays behind. Runs as Snakemake builds the DAG
    of a real run (see prepare_command), so that a run with nothing to do cleans up
    too. The HTML report of `snakemake --report` is the one exception.
    """
    made = {Path(path) for path in [*LAYOUT.final_outputs(), layout.HTML_REPORT]}
    for folder in PRODUCT_FOLDERS:
        for path in sorted(Path(folder).glob("*")):
            if path.suffix in PRODUCT_SUFFIXES and path.is_file() and path not in made:
                path.unlink()
                logger.warning(f"removed {path}: the current study does not make it")


def remove_outputs_to_rebuild():
    """Remove the outputs of every job this run is going to run, before any job starts.

    Snakemake removes a job's old outputs only when that job starts, so a run that
    fails earlier would leave the previous config's trials.csv, summary and figures
    looking current. Removed up front, a failed run leaves nothing the current config
    would have rebuilt. `--touch` keeps them: it only marks them up to date.
    """
    if workflow.touch:
        return
    outputs = {path for job in workflow.dag.needrun_jobs() for path in job.output}
    if TRIALS in outputs:  # the report of `snakemake --report` shows the trials too
        outputs.add(layout.HTML_REPORT)
    for path in outputs:
        if Path(path).is_file():
            Path(path).unlink()


def command_runs_jobs():
    """Whether this snakemake command runs the study's jobs: a real run, or --touch.

    Snakemake knows it once it builds the DAG: it sets the command's executor just
    before, and only a real run has one that is not the dry run's. Commands that plan
    or inspect build the DAG with none (--summary, --dag, --report, --list-changes,
    --delete-all-output, ...) or with the dry run's (-n); --lint, --list-rules,
    --unlock and --cleanup-metadata build no DAG, so they never ask.
    """
    return workflow.executor_plugin is not None and not workflow.dryrun


#: What prepare_command did: whether it ran, and the warm process it started, if any.
COMMAND = {"prepared": False, "warm": None}


def prepare_command():
    """Make the settings files; for a real run, also clean up and start the warm process.

    Called by every settings input function; the first call, made as Snakemake starts
    to build the DAG, does the work. A command that runs no job only creates missing
    settings files, and says in one line which ones differ from the study's settings.
    A real run rewrites those, removes the products the study does not make and, when
    its jobs run on this machine, starts the warm process (simstudy/warm.py), which
    imports the study's modules while Snakemake plans. A cluster job's own snakemake
    (not the main process) finds every file made already.
    """
    if COMMAND["prepared"]:
        return
    COMMAND["prepared"] = True
    if not workflow.is_main_process:
        return
    if not command_runs_jobs():
        warn_of_unseen_changes(write_settings(rewrite=False))
        return
    write_settings(rewrite=True)
    remove_products_not_made()
    if workflow.local_exec and not workflow.touch:
        COMMAND["warm"] = warm.start(
            study_modules(config), CHECKOUT, later=not asks_only_for_trials()
        )


#: What a run that asks only for the trials makes: the seed manifest and the merged
#: trials (as files or as rules; chunk files are recognised by their folder).
TRIAL_PRODUCTS = (layout.MANIFEST, layout.TRIALS, "seed_manifest", "merge_trials")


def asks_only_for_trials():
    """Whether this command's targets are the trials alone (``snakemake results/trials.csv``).

    Its jobs then need none of the modules of the summary, the figures and the report,
    which the warm process would otherwise import between jobs, taking a core from the
    chunk jobs for a second or two. A study that stops by precision needs them for its
    rounds.
    """
    targets = [os.path.normpath(target) for target in workflow.dag_settings.targets]
    return (
        bool(targets)
        and config["stopping"] is None
        and all(
            target in TRIAL_PRODUCTS or target.startswith(layout.CHUNK_DIR + os.sep)
            for target in targets
        )
    )


def study_onstart(log):
    # A run killed with SIGKILL leaves the temporary files of the jobs it was running
    # behind (outputs only ever appear by renaming a complete file). Clear them out.
    remove_stale_temporaries(layout.RESULTS)
    remove_outputs_to_rebuild()


def study_onfinish(log):
    warm.stop(COMMAND["warm"])
    cancel_scheduler_timers()
    skip_final_collection()


def cancel_scheduler_timers():
    """Cancel the timers that Snakemake's scheduler leaves behind, once the run is over.

    Its job-rate limiter (--max-jobs-per-timespan, 100/1s unless set) starts a
    threading.Timer at every round of scheduling, to look again a second later, and
    Python waits for such timers before it exits: a run would end up to a second after
    its last job. When the handlers run, the scheduler has returned and no round is left
    for them to wake.
    """
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer) and getattr(
            thread.function, "__module__", ""
        ).startswith("snakemake.scheduling"):
            thread.cancel()


def skip_final_collection():
    """Keep the objects of the finished run out of the collection Python makes as it exits.

    When the handlers run, the run is over, and the process holds the whole DAG and its
    jobs. Python's shutdown would walk all of them in a last garbage collection (0.3 to
    0.4 s after a run of 2,200 trials here), for memory the process hands back anyway.
    gc.freeze moves them to the permanent generation, which collections skip. What is
    freed by reference counting is freed as before, and Snakemake closes its log files
    itself after the handlers; but an object caught in a reference cycle is not
    finalized at exit (a file left open in a cycle would not be flushed). The freeze is
    not undone: a program that runs Snakemake's API several times in one process keeps
    each finished run's objects.
    """
    gc.freeze()


def chained(first, then):
    """A handler that calls ``first``, then ``then`` (a handler registered earlier)."""

    def handler(log):
        first(log)
        then(log)

    return handler


if AS_MODULE:
    # Snakemake runs only the main Snakefile's handlers: add these to any the user's
    # Snakefile registered before the module; one it defines later replaces them
    # (docs/module.md, "Start and finish handlers").
    workflow._onstart = chained(study_onstart, workflow._onstart)
    workflow._onsuccess = chained(study_onfinish, workflow._onsuccess)
    workflow._onerror = chained(study_onfinish, workflow._onerror)


onstart:
    study_onstart(log)


onsuccess:
    study_onfinish(log)


onerror:
    study_onfinish(log)
