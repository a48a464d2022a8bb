rule seed_manifest:
    input:
        settings=settings_file("seed_manifest", MANIFEST_SETTINGS),
    output:
        manifest=MANIFEST,
    log:
        "results/logs/seed_manifest.log",
    localrule: True
    conda:
        "../envs/simstudy.yaml"
    params:
        **MANIFEST_SETTINGS,
    script:
        "../../scripts/seed_manifest.py"
