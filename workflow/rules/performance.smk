# Performance measures of the study's estimands (simstudy/performance.py), with their
# Monte Carlo SEs; only a study with `estimands` makes results/performance.csv.
rule measure_performance:
    input:
        trials=rules.merge_trials.output.trials,
        settings=settings_file("measure_performance", PERFORMANCE_SETTINGS),
    output:
        performance=PERFORMANCE,
    log:
        "results/logs/measure_performance.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        **PERFORMANCE_SETTINGS,
    script:
        "../../scripts/measure_performance.py"
