rule summarize:
    input:
        trials=rules.merge_trials.output.trials,
    output:
        summary="results/summary.csv",
    params:
        metrics=config["metrics"],
        comparison=config["comparison"],
        code=CODE["summary"],
    log:
        "results/logs/summarize.log",
    localrule: True
    script:
        "../../scripts/summarize.py"
