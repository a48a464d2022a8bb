# Params are shown in the report, inside a <script> element: script_safe_params keeps
# config text (labels, params values) from closing it.
from simstudy.report import script_safe_params


# Pages for `snakemake --report results/report.html`, which shows HTML results inline.
rule report_tables:
    input:
        summary=rules.summarize.output.summary,
        settings=settings_file("report_tables", REPORT_SETTINGS),
    output:
        summary=report(
            REPORT_PAGES["summary"],
            caption="../report/summary.rst",
            category="Tables",
            labels={"table": "summary statistics"},
        ),
        config=report(
            REPORT_PAGES["config"],
            caption="../report/config.rst",
            category="Configuration",
            labels={"table": "resolved study config"},
        ),
    log:
        "results/logs/report_tables.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        **script_safe_params(REPORT_SETTINGS),
    script:
        "../../scripts/report_tables.py"
