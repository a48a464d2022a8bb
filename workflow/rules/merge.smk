# Plain paths rather than rules.<name>.output in the two rules that take one input per
# chunk: Snakemake 9 maps such references in time quadratic in the number of inputs.
rule merge_trials:
    input:
        chunks=study_chunks(),
        records=chunk_records(),
        manifest="results/manifest.csv",
        settings=settings_file("merge_trials", MERGE_SETTINGS),
    output:
        trials="results/trials.csv",
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
        trials="results/trials.csv",
        records=chunk_records(),
        settings=settings_file("record_provenance", PROVENANCE_SETTINGS),
    output:
        provenance="results/provenance.json",
    log:
        "results/logs/record_provenance.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        **PROVENANCE_SETTINGS,
    script:
        "../../scripts/record_provenance.py"
