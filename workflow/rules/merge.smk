# Plain paths rather than rules.<name>.output in the two rules that take one input per
# chunk: Snakemake 9 maps such references in time quadratic in the number of inputs.
rule merge_trials:
    input:
        chunks=PLAN.chunk_files,
        records=PLAN.chunk_records(),
        manifest=MANIFEST,
        settings=settings_file("merge_trials", MERGE_SETTINGS),
    output:
        trials=TRIALS,
    log:
        "results/logs/merge_trials.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        **MERGE_SETTINGS,
    script:
        "../../scripts/merge_trials.py"


rule record_provenance:
    input:
        trials=TRIALS,
        records=PLAN.chunk_records(),
        settings=settings_file("record_provenance", PROVENANCE_SETTINGS),
    output:
        provenance=PROVENANCE,
    log:
        "results/logs/record_provenance.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        **PROVENANCE_SETTINGS,
    script:
        "../../scripts/record_provenance.py"
