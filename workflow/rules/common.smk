# Config validation and the helpers that compute targets and params. No rules here.
import sys
from functools import cache
from pathlib import Path

# Make the simstudy package of this checkout importable without installing it (as in a
# conda environment built from environment.yml). Snakemake passes this search path on to
# the rule scripts it runs.
sys.path.insert(0, workflow.basedir)

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from simstudy.config import (
    ConfigError,
    check_config,
    load_schema,
    method_groups,
    read_study,
    results_config,
    trial_spec,
)
from simstudy.layout import (
    CHUNK_DIR,
    MAX_RECOMMENDED_JOBS,
    chunk_files,
    recommended_chunk_size,
)
from simstudy.provenance import package_modules, source_digest
from simstudy.tables import remove_stale_temporaries

#: The study a run uses when no --configfile is given.
DEFAULT_STUDY = "config/config.yaml"

# A study file given with --configfile is the whole study: it is read here on its own,
# rather than deep-merged into the default study as Snakemake's `configfile:` would.
# Validate before any job is planned: a bad config stops here, naming key and value.
# Estimator and generator checks that passed before are remembered (see check_config).
try:
    if not workflow.overwrite_configfiles and not Path(DEFAULT_STUDY).is_file():
        raise ConfigError(
            f"no study to run: {DEFAULT_STUDY} does not exist in {Path.cwd()}; run from "
            f"the checkout, or give a study file with --configfile FILE"
        )
    _study = check_config(
        read_study(
            [str(path) for path in workflow.overwrite_configfiles] or [DEFAULT_STUDY],
            workflow.config_settings.config,
        ),
        load_schema(workflow.source_path("../schemas/config.schema.yaml")),
        cache_dir=".snakemake/simstudy/checked-components",
    )
except ConfigError as error:
    raise WorkflowError(str(error)) from None
config.clear()
config.update(_study)


# Digests of the library code each stage runs. Snakemake tracks the rule scripts but
# not the modules they import; these params make such edits rerun the right jobs.
# Generators and estimators are named by dotted path, so their modules are added.
STUDY_MODULES = package_modules(
    [s["generator"] for s in config["scenarios"].values()]
    + [m["estimator"] for m in config["methods"].values()]
)
CODE = {
    "manifest": source_digest("simstudy.seeding", "simstudy.tables"),
    "merge": source_digest("simstudy.merge"),
    "summary": source_digest("simstudy.summary"),
    "figures": source_digest("simstudy.figures", *STUDY_MODULES),
    "provenance": source_digest("simstudy.provenance"),
    "report": source_digest("simstudy.report"),
}

# Threads of a chunk job, i.e. its joblib workers (never more than it has trials).
# Snakemake scales this down to --cores; profiles may set their own (set-threads).
MAX_CHUNK_THREADS = 8


wildcard_constraints:
    scenario=r"[A-Za-z][A-Za-z0-9_.-]*",
    group=r"[A-Za-z][A-Za-z0-9_+-]*",
    start=r"\d+",
    stop=r"\d+",


@cache
def study_chunks():
    """The chunk files (CSV) that hold every trial of the study (listed once per run)."""
    return chunk_files(
        config["scenarios"],
        method_groups(config),
        config["n_trials"],
        config["chunk_size"],
        CHUNK_DIR,
    )


def warn_if_too_many_chunks():
    """Say so when the study has more chunk jobs than Snakemake plans quickly."""
    chunks = len(study_chunks())
    if chunks > 2 * MAX_RECOMMENDED_JOBS:
        groups = chunks // -(-config["n_trials"] // config["chunk_size"])
        better = recommended_chunk_size(config["n_trials"], groups)
        logger.warning(
            f"{chunks} chunk jobs: planning them takes a while (about 6 s per 1,000). "
            f"chunk_size {better} would give about {MAX_RECOMMENDED_JOBS}; see the README, "
            f"'Choosing a chunk size'."
        )


def chunk_records():
    """The JSON record that each chunk job writes beside its CSV."""
    return [str(Path(path).with_suffix(".json")) for path in study_chunks()]


@cache
def group_spec(scenario, group):
    """The spec of a scenario's chunks of one method group, with its code digest."""
    spec = trial_spec(config, scenario, group)
    paths = [spec.scenario.generator] + [m.estimator for m in spec.methods]
    code = source_digest("simstudy.trials", *package_modules(paths))
    return trial_spec(config, scenario, group, code=code)


def chunk_spec(wildcards):
    """Canonical JSON of everything a chunk's results depend on (see simstudy.spec)."""
    return group_spec(wildcards.scenario, wildcards.group).to_json()


def study_specs():
    """Spec digest -> spec for every scenario and method group of the study."""
    specs = {}
    for scenario in config["scenarios"]:
        for group in method_groups(config):
            spec = group_spec(scenario, group)
            specs[spec.digest] = spec.to_dict()
    return specs


def final_outputs():
    """Everything `snakemake` builds by default."""
    return [
        "results/manifest.csv",
        "results/trials.csv",
        "results/provenance.json",
        "results/summary.csv",
        "results/figures/example_data.png",
        "results/figures/example_clusterings.png",
        "results/figures/ari_difference.png",
        "results/figures/difference_by_scenario.png",
        "results/figures/paired_scatter.png",
        "results/report/summary.html",
        "results/report/config.html",
    ]


warn_if_too_many_chunks()


# A run killed with SIGKILL leaves the temporary files of the jobs it was running
# behind (outputs only ever appear by renaming a complete file). Clear them out.
onstart:
    remove_stale_temporaries("results")
