# Reads and checks the study, builds its plan (simstudy.plan.StudyPlan) and derives each
# rule's params from it. No rules here.
import copy
import os
import sys
from pathlib import Path

#: Whether this workflow runs as a module of the user's own Snakefile, as snakedeploy
#: deploys it (a `module` given `config`, whose rules the user's Snakefile uses). The
#: config given there is then the whole study, and Snakemake would run only the main
#: Snakefile's onstart/onsuccess/onerror handlers (see the end of this file).
AS_MODULE = not workflow.modifier.is_main_snakefile()

#: The checkout this file belongs to (None when Snakemake reads it from a remote source,
#: where the simstudy package must be installed instead). workflow.basedir would be the
#: user's folder when the workflow is a module.
CHECKOUT = (
    str(Path(workflow.current_basedir).parents[1])
    if isinstance(workflow.current_basedir, str)
    else None
)

# Make the simstudy package of this checkout importable without installing it (as in a
# conda environment built from workflow/envs/simstudy.yaml). Snakemake passes this
# search path on to the rule scripts it runs.
if CHECKOUT is not None:
    sys.path.insert(0, CHECKOUT)

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from simstudy import catalog, layout, warm
from simstudy.components import DEFAULT_GENERATOR
from simstudy.config import check_config
from simstudy.study_files import ConfigError, read_study
from simstudy.config_slices import drawing_config, results_config
from simstudy.digests import CACHE_DIR, code_digest, component_modules
from simstudy.layout import (
    CHUNK_FILE,
    DECISION_FILE,
    EXAMPLE,
    FIGURES,
    MANIFEST,
    MAX_RECOMMENDED_JOBS,
    PERFORMANCE,
    PROVENANCE,
    REPORT_PAGES,
    SETTINGS_DIR,
    STOPPING,
    STOPPING_FIGURE,
    SUMMARY,
    TIMING_FIGURE,
    TIMING_FILE,
    TIMING_SUMMARY,
    TIMINGS,
    TRIALS,
    recommended_chunk_size,
)
from simstudy.metrics import METRICS
from simstudy.plan import StudyPlan
from simstudy.spec import canonical_json
from simstudy.study_layout import StudyLayout
from simstudy.integrity import remove_stale_temporaries, write_if_changed

#: The study a run uses when no --configfile is given.
DEFAULT_STUDY = "config/config.yaml"

#: Where estimator and generator checks that passed are remembered, for every folder of
#: this user: a check is keyed by the components' params and code, and Python's version
#: (see simstudy.config.components_fingerprint), so a new folder need not repeat it.
CHECKED_COMPONENTS = CACHE_DIR / "checked-components"


def study_modules(study):
    """The modules of a study's generators, methods and metrics, as far as it names them."""
    paths = [DEFAULT_GENERATOR]
    try:
        paths += [
            s.get("generator", DEFAULT_GENERATOR) for s in study["scenarios"].values()
        ]
        paths += [
            m.get("estimator") or m.get("function") for m in study["methods"].values()
        ]
        paths += [METRICS.get(m, m) for m in study.get("metrics", ["ari"])]
    except (KeyError, TypeError, AttributeError):
        pass
    return component_modules([p for p in paths if isinstance(p, str)])


def command_line_study():
    """The study of a `snakemake` command run in this workflow's own folder.

    A study file given with --configfile is the whole study: it is read on its own,
    rather than deep-merged into the default study as Snakemake's `configfile:` would.
    """
    if not workflow.overwrite_configfiles and not Path(DEFAULT_STUDY).is_file():
        raise ConfigError(
            f"no study to run: {DEFAULT_STUDY} does not exist in the working directory "
            f"{Path.cwd()}; run from the checkout (or give --directory a folder that has "
            f"it), or give a study file with --configfile FILE"
        )
    return read_study(
        [str(path) for path in workflow.overwrite_configfiles] or [DEFAULT_STUDY],
        workflow.config_settings.config,
    )


def module_study(given):
    """The study of a module deployment: the config the user's Snakefile gave the module.

    The user's own Snakefile has already read its config files and --config overrides
    into it, the way Snakemake does for any workflow.
    """
    if not given:
        raise ConfigError(
            "this workflow runs as a module but was given no study: in your Snakefile, "
            "give the module your config (`module simstudy: ... config: config`), read "
            'from your study file (`configfile: "config/config.yaml"`)'
        )
    return copy.deepcopy(dict(given))


# Validate before any job is planned: a bad config stops here, naming key and value.
# Estimator and generator checks that passed before are remembered (see check_config).
try:
    _study = module_study(config) if AS_MODULE else command_line_study()
    _study = check_config(_study, cache_dir=CHECKED_COMPONENTS)
except ConfigError as error:
    raise WorkflowError(str(error)) from None
if AS_MODULE:  # the user's own config stays as their Snakefile made it
    config = _study
else:
    config.clear()
    config.update(_study)

#: The study's plan: scenarios, method groups and their specs, and the example trial.
PLAN = StudyPlan(config)
#: Where its chunks and outputs go. The chunk files on disk are read here, once: a
#: shorter last chunk may reuse a longer finished one (see simstudy.layout.chunk_files).
LAYOUT = StudyLayout(PLAN, finished=layout.finished_chunks())


# Digests of the code each stage runs (see simstudy.digests). Snakemake tracks the rule
# scripts but not the modules they import; these params make such edits rerun the right
# jobs. Chunk specs carry their own (simstudy.plan.StudyPlan.spec).
CODE = {
    "manifest": code_digest("simstudy.seeding", "simstudy.tables"),
    "merge": code_digest("simstudy.merge"),
    "summary": code_digest("simstudy.summary"),
    "performance": code_digest("simstudy.performance"),
    # The figure modules: the catalog imports them by listing their package, not by name.
    "figures": code_digest("simstudy.figure_rules", *catalog.figure_modules()),
    "provenance": code_digest("simstudy.provenance"),
    "report": code_digest("simstudy.report"),
    "stopping": code_digest("simstudy.stopping"),
    "timings": code_digest("simstudy.timings"),
}

# Threads of a chunk job, i.e. its joblib workers (never more than it has trials).
# Snakemake scales this down to --cores; profiles may set their own (set-threads).
MAX_CHUNK_THREADS = 8


wildcard_constraints:
    scenario=r"[A-Za-z][A-Za-z0-9_.-]*",
    group=r"[A-Za-z][A-Za-z0-9_+-]*",
    start=r"\d+",
    stop=r"\d+",
    round=r"\d+",


def warn_if_too_many_chunks():
    """Say so when the study has more chunk jobs than Snakemake plans quickly."""
    if PLAN.stopping is not None:  # the chunks are known round by round
        return
    chunks = len(LAYOUT.chunk_files)
    if chunks > 2 * MAX_RECOMMENDED_JOBS:
        better = recommended_chunk_size(config["n_trials"], len(PLAN.pairs()))
        logger.warning(
            f"{chunks} chunk jobs: planning them takes a while (about 6 s per 1,000). "
            f"chunk_size {better} would give about {MAX_RECOMMENDED_JOBS}; see "
            f"docs/performance.md, 'Choosing a chunk size'."
        )


def chunk_spec(wildcards):
    """Canonical JSON of everything a chunk's results depend on (see simstudy.spec)."""
    return PLAN.spec(wildcards.scenario, wildcards.group).to_json()


# Snakemake reads this workflow alike for every command: a real run, -n, --lint,
# --summary, --dag, --report. It says what the command does only once it builds the
# DAG, after reading the workflow (see command_runs_jobs), and --lint or --list-rules
# build none. So nothing is written, removed or started while the workflow is read:
# each rule names its settings file through an input function, and the first one that
# Snakemake calls runs prepare_command, which makes the files and does what a real run
# needs before any job.

#: Every settings file of the study, by name (its path in SETTINGS_DIR, without .json),
#: with its content: each chunk group's spec, and each rule's params, which
#: settings_file registers as the rules are defined. write_settings makes the files.
SETTINGS = {
    f"run_chunk/{scenario}/{group}": PLAN.spec(scenario, group).to_dict()
    for scenario, group in PLAN.pairs()
}


def settings_path(name):
    return f"{SETTINGS_DIR}/{name}.json"


def settings_file(name, settings):
    """The input function of the file that holds a rule's settings (its params).

    Snakemake notices changed params through its metadata in .snakemake/. A rule that
    also takes this file as input reruns when its settings change even without that
    metadata (a fresh clone of results/, `rm -rf .snakemake`): the file is then newer
    than the rule's outputs. write_settings writes it, with every other settings file,
    when Snakemake first asks for one (see prepare_command).
    """
    SETTINGS[name] = settings
    path = settings_path(name)

    def settings_input(wildcards):
        prepare_command()
        return path

    return settings_input


def chunk_settings(wildcards):
    """The settings file of a chunk's scenario and method group: its spec."""
    prepare_command()
    return settings_path(f"run_chunk/{wildcards.scenario}/{wildcards.group}")


def write_settings(rewrite):
    """Make every settings file of the study; return the names of those left different.

    A file is written only when its content changes, so its mtime says when the
    settings last changed. Without ``rewrite`` (a command that runs no job), missing
    files are created, for Snakemake to plan with, but none is changed: previewing
    another config must not make the real one rerun.
    """
    different = []
    for name, settings in SETTINGS.items():
        path = settings_path(name)
        text = canonical_json(settings) + "\n"
        if not write_if_changed(path, text, create_only=not rewrite) and not rewrite:
            if Path(path).read_text(encoding="utf-8") != text:
                different.append(name)
    return different


def warn_of_unseen_changes(names):
    """Say, in one line, what a dry run cannot know about the real run's reruns.

    A dry run leaves changed settings files (``names``) alone, so it sees their change
    only through Snakemake's records in .snakemake/; without them (a fresh clone of
    results/, a removed .snakemake/) it lists fewer jobs than the real run, which
    rewrites the files, will run.
    """
    if names:
        listed = ", ".join(names[:4])
        more = f" and {len(names) - 4} more" if len(names) > 4 else ""
        logger.warning(
            f"Settings changed since the last real run ({listed}{more}): a real run "
            f"reruns every job that reads them, which this listing shows only while "
            f".snakemake/ still holds Snakemake's records of that run."
        )


warn_if_too_many_chunks()

# Each rule's params, in one place: the rule passes them on and keeps them as a file.
MANIFEST_SETTINGS = {
    "seed": config["seed"],
    "seeding": config["seeding"],
    "n_trials": LAYOUT.manifest_trials,
    "code": CODE["manifest"],
}
#: The values each method gives (a function's, found on the sample trial; an estimator's metrics).
METHOD_VALUES = {name: PLAN.method_values(name) for name in config["methods"]}
MERGE_SETTINGS = {
    "n_trials": config["n_trials"],
    "values": PLAN.values,
    "group_values": PLAN.group_values(),
    "method_values": METHOD_VALUES,
    "on_error": config["on_error"],
    "specs": PLAN.group_digests(),
    "code": CODE["merge"],
}
PROVENANCE_SETTINGS = {
    "config": results_config(PLAN.config),
    "specs": PLAN.spec_records(),
    "code": CODE["provenance"],
}
# What the performance measures depend on: changing a truth or alpha reruns no chunk.
PERFORMANCE_SETTINGS = {
    "estimands": config["estimands"],
    "scenarios": {name: entry["params"] for name, entry in config["scenarios"].items()},
    "comparison": config["comparison"],
    "method_values": METHOD_VALUES,
    "code": CODE["performance"],
}
SUMMARY_SETTINGS = {
    "values": PLAN.values,
    "method_values": METHOD_VALUES,
    "comparison": config["comparison"],
    "code": CODE["summary"],
}
FIGURE_SETTINGS = {"config": drawing_config(PLAN.config), "code": CODE["figures"]}
# The example trial runs the way its chunk job did (simstudy.plan.ExampleTrial).
# The specs of the chunks that ran the example trial: with methods_per_chunk: all, the
# example runs every method of the study, as its chunk did.
EXAMPLE_SETTINGS = {
    "specs": [spec.to_dict() for spec in PLAN.example_specs()],
    "trial": PLAN.example.trial,
}
REPORT_SETTINGS = {"config": results_config(PLAN.config), "code": CODE["report"]}
TIMING_SETTINGS = {"n_trials": config["n_trials"], "code": CODE["timings"]}
# What a precision-driven study's decisions depend on (see simstudy.stopping).
STOPPING_SETTINGS = {
    "stopping": config["stopping"],
    # a stopping.mcse rule's measure depends on the truths: the other rule does not
    **(
        {"estimands": config["estimands"]}
        if "mcse" in (config["stopping"] or {})
        else {}
    ),
    "n_trials": config["n_trials"],
    "values": PLAN.values,
    "method_values": METHOD_VALUES,
    "comparison": config["comparison"],
    "code": CODE["stopping"],
}


def stopping_performance(wildcards):
    """What a round of a `stopping.mcse` study needs to compute its measure."""
    return {
        "estimands": config["estimands"],
        "params": PERFORMANCE_SETTINGS["scenarios"][wildcards.scenario],
        "method_values": PERFORMANCE_SETTINGS["method_values"],
    }


def decision(scenario, round_):
    """A scenario's decision after a round: (its file, its content).

    Raises Snakemake's IncompleteCheckpointException until the checkpoint of that round
    has run (or is known to be up to date); Snakemake then runs it and asks again.
    """
    path = checkpoints.stopping_round.get(
        scenario=scenario, round=str(round_)
    ).output.decision
    # Imported here, for studies that stop by precision: it brings pandas, which costs
    # every other snakemake command 0.2 s.
    from simstudy.stopping import read_decision

    return path, read_decision(path)


def scenario_decisions(scenario):
    """Every decision file of ``scenario`` up to the round that stopped it, and its trials."""
    paths, round_ = [], 0
    while True:
        path, content = decision(scenario, round_)
        paths.append(path)
        if content["stopped"]:
            return paths, content["trials"]
        round_ += 1


def round_input(wildcards):
    """A round's inputs: the previous round's decision, and the chunks it decides on."""
    scenario, round_ = wildcards.scenario, int(wildcards.round)
    if round_ == 0:
        inputs, trials = {}, config["n_trials"]  # at most max_trials (checked)
    else:
        path, previous = decision(scenario, round_ - 1)
        if previous["stopped"]:
            raise WorkflowError(
                f"{path}: scenario {scenario} stopped; round {round_} is not run"
            )
        inputs, trials = {"previous": path}, previous["next_trials"]
    chunks = LAYOUT.scenario_chunk_files(scenario, trials)
    return {**inputs, "chunks": chunks, "records": LAYOUT.chunk_records(chunks)}


def decisions_by_scenario():
    """One input function per scenario, naming its decision files up to its last round.

    Snakemake plans the first missing checkpoint of each input function it calls, so
    separate functions let every scenario's rounds run side by side; one function
    walking all scenarios would hold each scenario back until the one before it stopped.
    """
    return {
        f"scenario_{index}": lambda wildcards, name=scenario.name: scenario_decisions(
            name
        )[0]
        for index, scenario in enumerate(PLAN.scenarios)
    }


def study_chunk_files(wildcards=None):
    """The chunk files that hold every trial the study keeps.

    In a precision-driven study these are known only once each scenario has stopped.
    """
    if PLAN.stopping is None:
        return LAYOUT.chunk_files
    return [
        path
        for scenario in PLAN.scenarios
        for path in LAYOUT.scenario_chunk_files(
            scenario.name, scenario_decisions(scenario.name)[1]
        )
    ]


def study_chunk_records(wildcards=None):
    return LAYOUT.chunk_records(study_chunk_files())


def study_timing_files(wildcards=None):
    return LAYOUT.timing_files(study_chunk_files())


#: The extra input of the rules that need how many trials each scenario kept.
KEPT_TRIALS = {"stopping": STOPPING} if PLAN.stopping is not None else {}


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
