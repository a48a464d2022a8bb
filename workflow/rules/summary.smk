rule summarize:
    input:
        trials=rules.merge_trials.output.trials,
    output:
        summary="results/summary.csv",
    log:
        "results/logs/summarize.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        metrics=config["metrics"],
        comparison=config["comparison"],
        code=CODE["summary"],
    script:
        "../../scripts/summarize.py"
