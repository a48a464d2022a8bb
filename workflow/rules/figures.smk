# Which figures a study gets, with their files, captions and labels, is the catalog's
# (simstudy/catalog.py), which lists the modules of simstudy/figures/, one per kind of
# figure: a module added there appears in these rules' outputs, in rule all's targets and
# in the report. Params are shown in the report, inside a <script> element:
# script_safe_params keeps config text (labels, params values) from closing it.
from simstudy import catalog
from simstudy.report import script_safe_params


# The example trial, kept as a file (see simstudy/example.py): the figure rule checks its
# values against trials.csv, and draws its clusterings in a clustering study. It runs
# the compared methods as their chunk jobs did, with the seed they derive, so it runs
# alongside them.
rule run_example:
    input:
        settings=settings_file("run_example", EXAMPLE_SETTINGS),
    output:
        example=EXAMPLE,
    log:
        "results/logs/run_example.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        specs=[spec.to_json() for spec in PLAN.example_specs()],
        trial=EXAMPLE_SETTINGS["trial"],
    script:
        "../../scripts/run_example.py"


# The figures drawn from the result tables come from one job that only draws: matplotlib
# and seaborn are imported once, which keeps a partial rerun cheap. Figure settings reach
# only the figure rules, all three of which run one script (see FIGURE_SETTINGS). A
# study with estimands also draws its performance measures (performance_<E>.png,
# zip_<E>.png, ...) from performance.csv.
rule plot_figures:
    input:
        **(
            {"performance": rules.measure_performance.output.performance}
            if config["estimands"]
            else {}
        ),
        example=rules.run_example.output.example,
        trials=rules.merge_trials.output.trials,
        summary=rules.summarize.output.summary,
        settings=settings_file("plot_figures", FIGURE_SETTINGS["plot_figures"]),
    output:
        **{
            f.name: report(f.path, **f.report)
            for f in catalog.figures(PLAN, "plot_figures")
        },
    log:
        "results/logs/plot_figures.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        **script_safe_params(FIGURE_SETTINGS["plot_figures"]),
    script:
        "../../scripts/plot_figures.py"


rule plot_timings:
    input:
        summary=rules.summarize.output.summary,
        timing_summary=rules.collect_timings.output.summary,
        settings=settings_file("plot_timings", FIGURE_SETTINGS["plot_timings"]),
    output:
        **{
            f.name: report(f.path, **f.report)
            for f in catalog.figures(PLAN, "plot_timings")
        },
    log:
        "results/logs/plot_timings.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        **script_safe_params(FIGURE_SETTINGS["plot_timings"]),
    script:
        "../../scripts/plot_figures.py"


if PLAN.stopping is not None:

    rule plot_stopping:
        input:
            stopping=STOPPING,
            settings=settings_file("plot_stopping", FIGURE_SETTINGS["plot_stopping"]),
        output:
            **{
                f.name: report(f.path, **f.report)
                for f in catalog.figures(PLAN, "plot_stopping")
            },
        log:
            "results/logs/plot_stopping.log",
        localrule: True
        conda:
            "../envs/simstudy.yaml"
        params:
            **script_safe_params(FIGURE_SETTINGS["plot_stopping"]),
        script:
            "../../scripts/plot_figures.py"
