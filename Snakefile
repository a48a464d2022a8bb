# Reproducible, parallel, seeded simulation study (see README.md).
#
# Stages, in pipeline order:
#   seeds    -> results/manifest.csv            one seed per trial
#   trials   -> results/chunks/...              chunks of trials, joblib inside each job
#   merge    -> results/trials.csv              sorted, byte-stable, checked
#               results/provenance.json
#   summary  -> results/summary.csv
#               results/performance.csv         when the study has estimands
#   figures  -> results/figures/*.png
#   report   -> results/report/*.html          pages for `snakemake --report`
from snakemake.utils import min_version

min_version("9.0")


# The study is config/config.yaml, or instead the files given with --configfile (never
# both merged); --config key=value overrides single keys. common.smk reads and checks it.
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/settings.smk"
include: "workflow/rules/inputs.smk"
include: "workflow/rules/command.smk"


# Software: each rule that runs code names the one environment, workflow/envs/simstudy.yaml
# (environment.yml links to it), in a `conda:` directive of its own, as `snakemake --lint`
# asks ("Specify a conda environment or container for each rule"). A `conda:` at the top
# level would not do this: Snakemake reads it as the environment of its own process
# (under --sdm conda it builds that environment and injects it into the running
# Snakemake; "Global workflow dependencies" in Snakemake's deployment docs,
# https://snakemake.readthedocs.io/en/stable/snakefiles/deployment.html) and leaves
# every rule without one. Under --sdm conda it would not even start with this file: the
# conda-inject package, which Snakemake injects it with, refuses an environment file
# that names python, and this one asks for python>=3.11 (tests/test_packaging.py).
# Rules that run where Snakemake runs (all but run_chunk) each say `localrule: True`;
# there is no `localrules:` list. tests/test_packaging.py checks both conventions.
rule all:
    default_target: True
    input:
        LAYOUT.final_outputs(),
    localrule: True


include: "workflow/rules/seeds.smk"
include: "workflow/rules/trials.smk"
include: "workflow/rules/stopping.smk"
include: "workflow/rules/merge.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/performance.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"
