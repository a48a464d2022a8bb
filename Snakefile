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


# Software: each rule names its environment, workflow/envs/simstudy.yaml, in a `conda:`
# directive of its own. A `conda:` at the top level would not: Snakemake 9 takes that
# for the environment of its own process (under --sdm conda it builds it and puts it on
# its own search paths at once, with conda-inject), and leaves the rules without one.
# Rules that run where Snakemake runs (all but run_chunk) each say `localrule: True`.
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
