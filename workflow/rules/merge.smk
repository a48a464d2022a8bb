# Plain paths rather than rules.<name>.output in the two rules that take one input per
# chunk: Snakemake 9 maps such references in time quadratic in the number of inputs.
rule merge_trials:
    input:
        **KEPT_TRIALS,
        chunks=study_chunk_files,
        records=study_chunk_records,
        manifest=MANIFEST,
        settings=settings_file("merge_trials", MERGE_SETTINGS),
    output:
        trials=TRIALS,
    log:
        "results/logs/merge_trials.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        **MERGE_SETTINGS,
    script:
        "../../scripts/merge_trials.py"


rule record_provenance:
    input:
        trials=TRIALS,
        records=study_chunk_records,
        settings=settings_file("record_provenance", PROVENANCE_SETTINGS),
    output:
        provenance=PROVENANCE,
    log:
        "results/logs/record_provenance.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        **PROVENANCE_SETTINGS,
    script:
        "../../scripts/record_provenance.py"


# Fit times live apart from trials.csv: they differ from run to run (simstudy/timings.py).
rule collect_timings:
    input:
        **KEPT_TRIALS,
        timings=study_timing_files,
        settings=settings_file("collect_timings", TIMING_SETTINGS),
    output:
        timings=TIMINGS,
        summary=TIMING_SUMMARY,
    log:
        "results/logs/collect_timings.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        **TIMING_SETTINGS,
    script:
        "../../scripts/collect_timings.py"
