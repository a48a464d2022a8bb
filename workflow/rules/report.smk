# Pages for `snakemake --report results/report.html`, which shows HTML results inline.
rule report_tables:
    input:
        summary=rules.summarize.output.summary,
    output:
        summary=report(
            "results/report/summary.html",
            caption="../report/summary.rst",
            category="Tables",
            labels={"table": "summary statistics"},
        ),
        config=report(
            "results/report/config.html",
            caption="../report/config.rst",
            category="Configuration",
            labels={"table": "resolved study config"},
        ),
    log:
        "results/logs/report_tables.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        config=results_config(config),
        code=CODE["report"],
    script:
        "../../scripts/report_tables.py"
