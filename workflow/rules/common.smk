# Reads and checks the study, builds its plan (simstudy.plan.StudyPlan) and derives each
# rule's params from it. No rules here.
import copy
import gc
import os
import sys
import threading
from pathlib import Path

#: Whether this workflow runs as a module of the user's own Snakefile, as snakedeploy
#: deploys it (a `module` given `config`, whose rules the user's Snakefile uses). The
#: config given there is then the whole study, and Snakemake would run only the main
#: Snakefile's onstart/onsuccess/onerror handlers (see the end of command.smk).
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
    MANIFEST,
    MAX_RECOMMENDED_JOBS,
    PERFORMANCE,
    PROVENANCE,
    REPORT_PAGES,
    SETTINGS_DIR,
    STOPPING,
    SUMMARY,
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
