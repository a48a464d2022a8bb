"""Where a study's files go: its chunk files, what its jobs write beside them, its outputs.

:mod:`simstudy.layout` spells out every path; a :class:`StudyLayout` applies it to one
:class:`~simstudy.plan.StudyPlan`, worked out once:

- the chunk files that hold the study's trials, and the JSON record and the timings
  file each chunk job writes with its chunk file;
- for a precision-driven study, the chunk files that hold a scenario's first trials,
  round by round, and the trials the seed manifest lists;
- the list of final outputs.

The workflow (``workflow/rules/common.smk``) asks it. Like the plan, it reads no file:
the chunk files already on disk, which decide whether a shorter last chunk can be reused
(see :func:`simstudy.layout.chunk_files`), are passed in as a snapshot.
"""

from __future__ import annotations

from functools import cached_property

from simstudy import catalog, layout
from simstudy.plan import StudyPlan


class StudyLayout:
    """Where a study's chunks and outputs go.

    Parameters
    ----------
    plan
        The study's plan.
    finished
        The chunk files on disk, as :func:`simstudy.layout.finished_chunks` reads them.
        Only whether the last, short chunk of a group can reuse a longer finished file
        depends on it; by default no file is reused.
    """

    def __init__(self, plan: StudyPlan, *, finished: layout.Finished | None = None) -> None:
        self.plan = plan
        self.finished = finished or {}

    @cached_property
    def chunk_files(self) -> list[str]:
        """The chunk files (CSV) that hold every trial of the study, in config order."""
        plan = self.plan
        return layout.chunk_files(
            [s.name for s in plan.scenarios],
            plan.groups,
            plan.config["n_trials"],
            plan.config["chunk_size"],
            layout.CHUNK_DIR,
            finished=self.finished,
        )

    def chunk_records(self, chunk_files: list[str] | None = None) -> list[str]:
        """The JSON record that each chunk job writes beside its CSV.

        Parameters
        ----------
        chunk_files
            The chunk files; by default :attr:`chunk_files`.

        Returns
        -------
        list of str
            One path per chunk file, in the same order.
        """
        files = self.chunk_files if chunk_files is None else chunk_files
        return [path.removesuffix(".csv") + ".json" for path in files]

    def timing_files(self, chunk_files: list[str] | None = None) -> list[str]:
        """The timings file that each chunk job writes (see :func:`layout.timing_path`).

        Parameters
        ----------
        chunk_files
            The chunk files; by default :attr:`chunk_files`.

        Returns
        -------
        list of str
            One path per chunk file, in the same order.
        """
        files = self.chunk_files if chunk_files is None else chunk_files
        return [layout.timing_path(path) for path in files]

    @property
    def manifest_trials(self) -> int:
        """The trials the seed manifest lists: ``n_trials``, or ``stopping.max_trials``.

        A precision-driven study may run any trial up to its cap, so its manifest lists
        them all; the merge checks the trials that ran against it.
        """
        stopping = self.plan.stopping
        return self.plan.config["n_trials"] if stopping is None else stopping["max_trials"]

    def scenario_chunk_files(self, scenario: str, trials: int) -> list[str]:
        """The chunk files of every method group that hold ``scenario``'s first trials.

        Used by precision-driven studies, whose trials grow round by round (see
        :func:`simstudy.layout.round_slots`).

        Parameters
        ----------
        scenario
            A scenario name.
        trials
            The number of trials to cover.

        Returns
        -------
        list of str
            The paths, by method group, then trial range.

        Raises
        ------
        ValueError
            If the study has no ``stopping`` section.
        """
        plan, stopping = self.plan, self.plan.stopping
        if stopping is None:
            raise ValueError("scenario_chunk_files is for studies with a stopping section")
        files = []
        for group in plan.groups:
            slots = layout.round_slots(
                plan.config["n_trials"],
                stopping["batch"],
                trials,
                plan.config["chunk_size"],
                self.finished.get((scenario, group)),
                max_trials=stopping["max_trials"],
            )
            files += [layout.Chunk(scenario, group, a, b).path() for a, b in slots]
        return files

    def final_outputs(self) -> list[str]:
        """Everything ``snakemake`` builds by default, in pipeline order.

        Returns
        -------
        list of str
            The paths that rule ``all`` asks for (the figures: :func:`catalog.figures`).
        """
        stopping = [layout.STOPPING] if self.plan.stopping else []
        return [
            layout.MANIFEST,
            *stopping,
            layout.TRIALS,
            layout.PROVENANCE,
            layout.SUMMARY,
            *([layout.PERFORMANCE] if self.plan.config.get("estimands") else []),
            layout.TIMINGS,
            layout.TIMING_SUMMARY,
            layout.EXAMPLE,
            *(figure.path for figure in catalog.figures(self.plan)),
            *layout.REPORT_PAGES.values(),
        ]
