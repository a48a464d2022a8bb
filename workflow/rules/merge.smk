# Plain paths rather than rules.<name>.output in the two rules that take one input per
# chunk: Snakemake 9 maps such references in time quadratic in the number of inputs.
rule merge_trials:
    input:
        chunks=study_chunks(),
        manifest="results/manifest.csv",
    output:
        trials="results/trials.csv",
    log:
        "results/logs/merge_trials.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        n_trials=config["n_trials"],
        metrics=config["metrics"],
        on_error=config["on_error"],
        code=CODE["merge"],
    script:
        "../../scripts/merge_trials.py"


rule record_provenance:
    input:
        trials="results/trials.csv",
        records=chunk_records(),
    output:
        provenance="results/provenance.json",
    log:
        "results/logs/record_provenance.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        config=results_config(config),
        specs=study_specs(),
        code=CODE["provenance"],
    script:
        "../../scripts/record_provenance.py"
