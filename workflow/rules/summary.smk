rule summarize:
    input:
        trials=rules.merge_trials.output.trials,
        settings=settings_file("summarize", SUMMARY_SETTINGS),
    output:
        summary=SUMMARY,
    log:
        "results/logs/summarize.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        **SUMMARY_SETTINGS,
    script:
        "../../scripts/summarize.py"
