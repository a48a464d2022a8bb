rule merge_trials:
    input:
        chunks=study_chunks(),
        manifest=rules.seed_manifest.output.manifest,
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
        trials=rules.merge_trials.output.trials,
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
