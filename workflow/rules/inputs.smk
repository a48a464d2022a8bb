# The inputs that depend on how far a study has run: the chunk files of a study that
# stops by precision (its rounds' decisions), and the trials each scenario kept.


def stopping_performance(wildcards):
    """What a round of a `stopping.mcse` study needs to compute its measure."""
    return {
        "estimands": config["estimands"],
        "params": PERFORMANCE_SETTINGS["scenarios"][wildcards.scenario],
        "method_values": PERFORMANCE_SETTINGS["method_values"],
    }


def decision(scenario, round_):
    """A scenario's decision after a round: (its file, its content).

    Raises Snakemake's IncompleteCheckpointException until the checkpoint of that round
    has run (or is known to be up to date); Snakemake then runs it and asks again.
    """
    path = checkpoints.stopping_round.get(
        scenario=scenario, round=str(round_)
    ).output.decision
    # Imported here, for studies that stop by precision: it brings pandas, which costs
    # every other snakemake command 0.2 s.
    from simstudy.stopping import read_decision

    return path, read_decision(path)


def scenario_decisions(scenario):
    """Every decision file of ``scenario`` up to the round that stopped it, and its trials."""
    paths, round_ = [], 0
    while True:
        path, content = decision(scenario, round_)
        paths.append(path)
        if content["stopped"]:
            return paths, content["trials"]
        round_ += 1


def round_input(wildcards):
    """A round's inputs: the previous round's decision, and the chunks it decides on."""
    scenario, round_ = wildcards.scenario, int(wildcards.round)
    if round_ == 0:
        inputs, trials = {}, config["n_trials"]  # at most max_trials (checked)
    else:
        path, previous = decision(scenario, round_ - 1)
        if previous["stopped"]:
            raise WorkflowError(
                f"{path}: scenario {scenario} stopped; round {round_} is not run"
            )
        inputs, trials = {"previous": path}, previous["next_trials"]
    chunks = LAYOUT.scenario_chunk_files(scenario, trials)
    return {**inputs, "chunks": chunks, "records": LAYOUT.chunk_records(chunks)}


def decisions_by_scenario():
    """One input function per scenario, naming its decision files up to its last round.

    Snakemake plans the first missing checkpoint of each input function it calls, so
    separate functions let every scenario's rounds run side by side; one function
    walking all scenarios would hold each scenario back until the one before it stopped.
    """
    return {
        f"scenario_{index}": lambda wildcards, name=scenario.name: scenario_decisions(
            name
        )[0]
        for index, scenario in enumerate(PLAN.scenarios)
    }


def study_chunk_files(wildcards=None):
    """The chunk files that hold every trial the study keeps.

    In a precision-driven study these are known only once each scenario has stopped.
    """
    if PLAN.stopping is None:
        return LAYOUT.chunk_files
    return [
        path
        for scenario in PLAN.scenarios
        for path in LAYOUT.scenario_chunk_files(
            scenario.name, scenario_decisions(scenario.name)[1]
        )
    ]


def study_chunk_records(wildcards=None):
    return LAYOUT.chunk_records(study_chunk_files())


def study_timing_files(wildcards=None):
    return LAYOUT.timing_files(study_chunk_files())


#: The extra input of the rules that need how many trials each scenario kept.
KEPT_TRIALS = {"stopping": STOPPING} if PLAN.stopping is not None else {}
