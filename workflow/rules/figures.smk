# Params are shown in the report, inside a <script> element: script_safe_params keeps
# config text (labels, params values) from closing it.
from simstudy.report import script_safe_params


# The example trial of the first two figures, kept as a file (see simstudy/example.py).
# It derives its seed as the chunk jobs do, so it runs alongside them.
rule run_example:
    input:
        settings=settings_file("run_example", EXAMPLE_SETTINGS),
    output:
        example=EXAMPLE,
    log:
        "results/logs/run_example.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        spec=PLAN.example_spec().to_json(),
        trial=EXAMPLE_SETTINGS["trial"],
    script:
        "../../scripts/run_example.py"


# All figures come from one job that only draws: matplotlib and seaborn are imported
# once, which keeps a partial rerun cheap. Figure settings reach only this rule.
rule plot_figures:
    input:
        example=rules.run_example.output.example,
        trials=rules.merge_trials.output.trials,
        summary=rules.summarize.output.summary,
        settings=settings_file("plot_figures", FIGURE_SETTINGS),
    output:
        example_data=report(
            FIGURES["example_data"],
            caption="../report/example_data.rst",
            category="Figures",
            labels={"figure": "1 example dataset"},
        ),
        example_clusterings=report(
            FIGURES["example_clusterings"],
            caption="../report/example_clusterings.rst",
            category="Figures",
            labels={"figure": "2 example clusterings"},
        ),
        ari_difference=report(
            FIGURES["ari_difference"],
            caption="../report/ari_difference.rst",
            category="Figures",
            labels={"figure": "3 ARI difference per trial"},
        ),
        difference_by_scenario=report(
            FIGURES["difference_by_scenario"],
            caption="../report/difference_by_scenario.rst",
            category="Figures",
            labels={"figure": "4 difference by scenario"},
        ),
        paired_scatter=report(
            FIGURES["paired_scatter"],
            caption="../report/paired_scatter.rst",
            category="Figures",
            labels={"figure": "5 paired scores"},
        ),
    log:
        "results/logs/plot_figures.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        **script_safe_params(FIGURE_SETTINGS),
    script:
        "../../scripts/plot_figures.py"


rule plot_timings:
    input:
        summary=rules.summarize.output.summary,
        timing_summary=rules.collect_timings.output.summary,
        settings=settings_file("plot_timings", FIGURE_SETTINGS),
    output:
        figure=report(
            TIMING_FIGURE,
            caption="../report/score_vs_time.rst",
            category="Figures",
            labels={"figure": "6 score against fit time"},
        ),
    log:
        "results/logs/plot_timings.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        **script_safe_params(FIGURE_SETTINGS),
    script:
        "../../scripts/plot_timings.py"


if PLAN.stopping is not None:

    rule plot_stopping:
        input:
            stopping=STOPPING,
            settings=settings_file("plot_stopping", FIGURE_SETTINGS),
        output:
            figure=report(
                STOPPING_FIGURE,
                caption="../report/stopping.rst",
                category="Figures",
                labels={"figure": "7 precision-driven stopping"},
            ),
        log:
            "results/logs/plot_stopping.log",
        localrule: True
        conda:
            "../../environment.yml"
        params:
            **script_safe_params(FIGURE_SETTINGS),
        script:
            "../../scripts/plot_stopping.py"
