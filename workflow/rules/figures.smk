rule plot_examples:
    input:
        manifest=rules.seed_manifest.output.manifest,
        trials=rules.merge_trials.output.trials,
    output:
        data="results/figures/example_data.png",
        clusterings="results/figures/example_clusterings.png",
    log:
        "results/logs/plot_examples.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        config=config,
        code=CODE["figures"],
    script:
        "../../scripts/plot_examples.py"


rule plot_difference:
    input:
        trials=rules.merge_trials.output.trials,
        summary=rules.summarize.output.summary,
    output:
        figure="results/figures/ari_difference.png",
    log:
        "results/logs/plot_difference.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        config=config,
        code=CODE["figures"],
    script:
        "../../scripts/plot_difference.py"
