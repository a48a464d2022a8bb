# The settings files: each chunk group's spec and each rule's params, kept as files under
# results/.settings/ that the rules take as input, so that a changed setting reruns its
# rule even without Snakemake's own records. Read after common.smk (the plan).

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
DRAWING_CONFIG = drawing_config(PLAN.config)
# The figure rules share the figure config and code, and run one script, which draws
# the figures the catalog gives the rule named in figure_rule (in a module, Snakemake's
# name for the rule may be prefixed).
FIGURE_SETTINGS = {
    name: {"config": DRAWING_CONFIG, "code": CODE["figures"], "figure_rule": name}
    for name in catalog.FIGURE_RULES
}
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
