# Reads and checks the study, builds its plan (simstudy.plan.StudyPlan) and derives each
# rule's params from it. No rules here.
import copy
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
# conda environment built from environment.yml). Snakemake passes this search path on to
# the rule scripts it runs.
if CHECKOUT is not None:
    sys.path.insert(0, CHECKOUT)

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from simstudy import layout, warm
from simstudy.components import DEFAULT_GENERATOR
from simstudy.config import ConfigError, check_config, read_study
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
from simstudy.stopping import read_decision
from simstudy.tables import remove_stale_temporaries, write_if_changed

# Options of commands that only plan or inspect, and the short ones among them.
PLANNING_OPTIONS = {
    "--dry-run",
    "--dryrun",
    "--lint",
    "--report",
    "--unlock",
    "--list",
    "--list-rules",
    "--list-target-rules",
    "--lt",
    "--summary",
    "--detailed-summary",
    "--dag",
    "--rulegraph",
    "--filegraph",
    "--d3dag",
    "--list-changes",
    "--lc",
    "--list-input-changes",
    "--li",
    "--list-params-changes",
    "--lp",
    "--list-code-changes",
    "--list-untracked",
    "--lu",
    "--archive",
    "--cleanup-metadata",
    "--cleanup-shadow",
    "--print-compilation",
    "--containerize",
    "--export-cwl",
    "--generate-unit-tests",
    "--delete-all-output",
    "--delete-temp-output",
}
PLANNING_SHORT_OPTIONS = set("nSDl")


def only_plans(arguments):
    """Whether a snakemake command line only plans or inspects, running no job."""
    for argument in arguments:
        if argument == "--":
            break
        if argument.split("=", 1)[0] in PLANNING_OPTIONS:
            return True
        if (
            argument[:1] == "-"
            and argument[1:].isalpha()
            and PLANNING_SHORT_OPTIONS & set(argument[1:])
        ):
            return True
    return False


#: Whether this snakemake command only plans or inspects (-n, --lint, --report, ...).
#: Snakemake decides that after it has read the workflow, so its command line is read.
PLANNING_ONLY = only_plans(sys.argv[1:])

#: The study a run uses when no --configfile is given.
DEFAULT_STUDY = "config/config.yaml"

#: Where estimator and generator checks that passed are remembered, for every folder of
#: this user: a check is keyed by the components' params and code, and Python's version
#: (see simstudy.config.components_fingerprint), so a new folder need not repeat it.
CHECKED_COMPONENTS = CACHE_DIR / "checked-components"


def study_modules(study):
    """The modules of a study's generators, methods and metrics, as far as it names them.

    Read from the study before it is checked (a bad one only loses the warm start).
    """
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


def start_warm_process(study):
    """Start the run's warm process, unless this command only plans (see simstudy/warm.py).

    It starts before the study is checked: the checks import scikit-learn in this process
    meanwhile, and the warm process's imports overlap them and Snakemake's planning.
    onstart stops it again if the jobs go to a cluster.
    """
    if not workflow.is_main_process or PLANNING_ONLY:
        return None
    return warm.start(study_modules(study), CHECKOUT)


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
    WARM = start_warm_process(_study)
    _study = check_config(_study, cache_dir=CHECKED_COMPONENTS)
except ConfigError as error:
    raise WorkflowError(str(error)) from None
if AS_MODULE:  # the user's own config stays as their Snakefile made it
    config = _study
else:
    config.clear()
    config.update(_study)

#: The study's plan: scenarios, method groups and their specs, chunk files, the example
#: trial and the final outputs. The chunk files on disk are read here, once: a shorter
#: last chunk may reuse a longer finished one (see simstudy.layout.chunk_files).
PLAN = StudyPlan(config, finished=layout.finished_chunks())


# Digests of the code each stage runs (see simstudy.digests). Snakemake tracks the rule
# scripts but not the modules they import; these params make such edits rerun the right
# jobs. Chunk specs carry their own (simstudy.plan.StudyPlan.spec).
CODE = {
    "manifest": code_digest("simstudy.seeding", "simstudy.tables"),
    "merge": code_digest("simstudy.merge"),
    "summary": code_digest("simstudy.summary"),
    "performance": code_digest("simstudy.performance"),
    "figures": code_digest("simstudy.figures"),
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
    chunks = len(PLAN.chunk_files)
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


def settings_file(name, settings):
    """A file holding a rule's settings (its params), rewritten only when they change.

    Snakemake notices changed params through its metadata in .snakemake/. A rule that
    also takes this file as input reruns when its settings change even without that
    metadata (a fresh clone of results/, `rm -rf .snakemake`): the file is then newer
    than the rule's outputs. A command that only plans or inspects (see
    PLANNING_ONLY) creates missing files but changes none: previewing another config
    must not make the real one rerun; it notes the files it leaves different instead
    (see warn_of_unseen_changes).
    """
    path = f"{SETTINGS_DIR}/{name}.json"
    text = canonical_json(settings) + "\n"
    if not write_if_changed(path, text, create_only=PLANNING_ONLY) and PLANNING_ONLY:
        if Path(path).read_text(encoding="utf-8") != text:
            UNSEEN_CHANGES.append(name)
    return path


#: Settings files that a planning command found different from this study's settings
#: and left as they are.
UNSEEN_CHANGES = []


def warn_of_unseen_changes():
    """Say, in one line, what a dry run cannot know about the real run's reruns.

    A dry run leaves changed settings files alone, so it sees their change only through
    Snakemake's records in .snakemake/; without them (a fresh clone of results/, a
    removed .snakemake/) it lists fewer jobs than the real run, which rewrites the files,
    will run.
    """
    if UNSEEN_CHANGES:
        names = ", ".join(UNSEEN_CHANGES[:4])
        more = f" and {len(UNSEEN_CHANGES) - 4} more" if len(UNSEEN_CHANGES) > 4 else ""
        logger.warning(
            f"Settings changed since the last real run ({names}{more}): a real run "
            f"reruns every job that reads them, which this listing shows only while "
            f".snakemake/ still holds Snakemake's records of that run."
        )


def chunk_settings(wildcards):
    """The settings file of a chunk's scenario and method group: its spec."""
    return f"{SETTINGS_DIR}/run_chunk/{wildcards.scenario}/{wildcards.group}.json"


def write_chunk_settings():
    for scenario, group in PLAN.pairs():
        settings_file(
            f"run_chunk/{scenario}/{group}", PLAN.spec(scenario, group).to_dict()
        )


warn_if_too_many_chunks()
write_chunk_settings()

# Each rule's params, in one place: the rule passes them on and keeps them as a file.
MANIFEST_SETTINGS = {
    "seed": config["seed"],
    "seeding": config["seeding"],
    "n_trials": PLAN.manifest_trials,
    "code": CODE["manifest"],
}
MERGE_SETTINGS = {
    "n_trials": config["n_trials"],
    "values": PLAN.values,
    "group_values": PLAN.group_values(),
    "on_error": config["on_error"],
    "specs": PLAN.group_digests(),
    "code": CODE["merge"],
}
PROVENANCE_SETTINGS = {
    "config": PLAN.results_config(),
    "specs": PLAN.spec_records(),
    "code": CODE["provenance"],
}
# What the performance measures depend on: changing a truth or alpha reruns no chunk.
PERFORMANCE_SETTINGS = {
    "estimands": config["estimands"],
    "scenarios": {name: entry["params"] for name, entry in config["scenarios"].items()},
    "comparison": config["comparison"],
    "method_values": {name: PLAN.method_values(name) for name in config["methods"]},
    "code": CODE["performance"],
}
SUMMARY_SETTINGS = {
    "values": PLAN.values,
    "method_values": {name: PLAN.method_values(name) for name in config["methods"]},
    "comparison": config["comparison"],
    "code": CODE["summary"],
}
FIGURE_SETTINGS = {"config": PLAN.drawing_config(), "code": CODE["figures"]}
# The example trial runs the way its chunk job did (simstudy.plan.ExampleTrial).
EXAMPLE_SETTINGS = {
    "spec": PLAN.example_spec().to_dict(),
    "trial": PLAN.example.trial,
}
REPORT_SETTINGS = {"config": PLAN.results_config(), "code": CODE["report"]}
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
    chunks = PLAN.scenario_chunk_files(scenario, trials)
    return {**inputs, "chunks": chunks, "records": PLAN.chunk_records(chunks)}


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
        return PLAN.chunk_files
    return [
        path
        for scenario in PLAN.scenarios
        for path in PLAN.scenario_chunk_files(
            scenario.name, scenario_decisions(scenario.name)[1]
        )
    ]


def study_chunk_records(wildcards=None):
    return PLAN.chunk_records(study_chunk_files())


def study_timing_files(wildcards=None):
    return PLAN.timing_files(study_chunk_files())


#: The extra input of the rules that need how many trials each scenario kept.
KEPT_TRIALS = {"stopping": STOPPING} if PLAN.stopping is not None else {}


#: The folders of results/ that hold the study's tables, figures and report pages, with
#: results/ itself; chunks, timings, decisions, settings and logs are kept for reuse.
PRODUCT_FOLDERS = [
    layout.RESULTS,
    *{str(Path(path).parent) for path in PLAN.final_outputs()},
]
PRODUCT_SUFFIXES = {".csv", ".json", ".png", ".html"}


def remove_products_not_made():
    """Remove every table, figure and page in results/ that this study does not make.

    A run that exits 0 then leaves only what the current study made: after `stopping:`
    is dropped, say, no stopping.csv stays behind. Runs while the workflow is read, so
    that a run with nothing to do cleans up too, but never for a command that only
    plans. The HTML report of `snakemake --report` is the one exception.
    """
    made = {Path(path) for path in [*PLAN.final_outputs(), layout.HTML_REPORT]}
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


def study_onstart(log):
    # A run killed with SIGKILL leaves the temporary files of the jobs it was running
    # behind (outputs only ever appear by renaming a complete file). Clear them out.
    remove_stale_temporaries(layout.RESULTS)
    remove_outputs_to_rebuild()
    # Cluster jobs run elsewhere; local rules then start their own Python.
    if not workflow.local_exec:
        warm.stop(WARM)


def study_onfinish(log):
    warm.stop(WARM)


if workflow.is_main_process and not PLANNING_ONLY:
    remove_products_not_made()


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
