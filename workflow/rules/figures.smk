rule plot_examples:
    input:
        manifest=rules.seed_manifest.output.manifest,
        trials=rules.merge_trials.output.trials,
    output:
        data=report(
            "results/figures/example_data.png",
            caption="../report/example_data.rst",
            category="Figures",
            labels={"figure": "1 example dataset"},
        ),
        clusterings=report(
            "results/figures/example_clusterings.png",
            caption="../report/example_clusterings.rst",
            category="Figures",
            labels={"figure": "2 example clusterings"},
        ),
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
        figure=report(
            "results/figures/ari_difference.png",
            caption="../report/ari_difference.rst",
            category="Figures",
            labels={"figure": "3 ARI difference per trial"},
        ),
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


rule plot_design:
    input:
        trials=rules.merge_trials.output.trials,
        summary=rules.summarize.output.summary,
    output:
        by_scenario=report(
            "results/figures/difference_by_scenario.png",
            caption="../report/difference_by_scenario.rst",
            category="Figures",
            labels={"figure": "4 difference by scenario"},
        ),
        paired=report(
            "results/figures/paired_scatter.png",
            caption="../report/paired_scatter.rst",
            category="Figures",
            labels={"figure": "5 paired scores"},
        ),
    log:
        "results/logs/plot_design.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        config=config,
        code=CODE["figures"],
    script:
        "../../scripts/plot_design.py"
