# One job per (scenario, method group, trial range). Chunk jobs derive their trials'
# seeds with the same function that writes the manifest, rather than reading it, so
# that growing the manifest never invalidates a finished chunk; the merge then checks
# every row's seed against the manifest.
rule run_chunk:
    input:
        settings=chunk_settings,
    output:
        rows=CHUNK_FILE,
        record=CHUNK_FILE.removesuffix(".csv") + ".json",
        timings=TIMING_FILE,
    log:
        "results/logs/run_chunk/{scenario}/{group}/{start}-{stop}.log",
    benchmark:
        "results/benchmarks/run_chunk/{scenario}/{group}/{start}-{stop}.tsv"
    conda:
        "../envs/simstudy.yaml"
    threads: MAX_CHUNK_THREADS
    params:
        spec=chunk_spec,
    script:
        "../../scripts/run_chunk.py"
