# Precision-driven stopping (simstudy/stopping.py): one checkpoint per scenario and round.
# Each decides from the scenario's trials so far whether it stops or gets another batch,
# and the DAG grows as decisions arrive. record_stopping takes one input function per
# scenario (decisions_by_scenario in inputs.smk), so scenarios advance side by side; the
# rules that need every kept trial (merge, timings, provenance) wait for stopping.csv and
# find each scenario's last round through scenario_decisions.
if PLAN.stopping is not None:

    checkpoint stopping_round:
        input:
            unpack(round_input),
            settings=settings_file("stopping_round", STOPPING_SETTINGS),
        output:
            decision=DECISION_FILE,
        log:
            "results/logs/stopping_round/{scenario}/round-{round}.log",
        localrule: True
        conda:
            "../envs/simstudy.yaml"
        params:
            **STOPPING_SETTINGS,
            specs=lambda wildcards: PLAN.scenario_digests(wildcards.scenario),
            group_values=lambda wildcards: PLAN.group_values(wildcards.scenario),
            performance=stopping_performance,
        script:
            "../../scripts/stopping_round.py"

    rule record_stopping:
        input:
            **decisions_by_scenario(),
        output:
            stopping=STOPPING,
        log:
            "results/logs/record_stopping.log",
        localrule: True
        conda:
            "../envs/simstudy.yaml"
        script:
            "../../scripts/record_stopping.py"
