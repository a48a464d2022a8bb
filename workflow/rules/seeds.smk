rule seed_manifest:
    output:
        manifest="results/manifest.csv",
    log:
        "results/logs/seed_manifest.log",
    localrule: True
    conda:
        "../../environment.yml"
    params:
        seed=config["seed"],
        seeding=config["seeding"],
        n_trials=config["n_trials"],
        code=CODE["manifest"],
    script:
        "../../scripts/seed_manifest.py"
