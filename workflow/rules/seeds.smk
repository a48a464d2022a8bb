rule seed_manifest:
    output:
        manifest="results/manifest.csv",
    params:
        seed=config["seed"],
        seeding=config["seeding"],
        n_trials=config["n_trials"],
        code=CODE["manifest"],
    log:
        "results/logs/seed_manifest.log",
    localrule: True
    script:
        "../../scripts/seed_manifest.py"
