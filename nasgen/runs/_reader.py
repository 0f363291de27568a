"""``open_run``: read a search run — its trials as :class:`TrialRecord`, its best trial and leaderboard.

The one reader of a run for export, report, confirmation and the CLI, so that "best trial" is decided in one
place (:func:`~nasgen.runs.rank_key`).
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import optuna

from nasgen.errors import SearchError
from nasgen.runs._dir import RunDir
from nasgen.runs._record import TrialRecord, rank_key
from nasgen.spec import ArchSpec, load_spec, loads_spec

__all__ = ["Run", "open_run"]


class Run:
    """A search run: one Optuna study plus, when known, the run directory holding ``trials/<n>/``.

    Args:
        study: The Optuna study.
        location: Where it was opened from (a directory or a storage URL), for messages.
        out: The run directory (None when opened from a storage URL alone).
    """

    def __init__(self, study: optuna.Study, location: str | None = None, out: Path | None = None) -> None:
        self.study = study
        self.location = location if location is not None else (str(out) if out is not None else study.study_name)
        self.out = None if out is None else Path(out)

    @property
    def dir(self) -> RunDir | None:
        """The run directory's files (:class:`RunDir`), or None for a run opened from a storage URL alone."""
        return None if self.out is None else RunDir(self.out)

    @property
    def name(self) -> str:
        """The study name."""
        return self.study.study_name

    @property
    def meta(self) -> dict[str, Any]:
        """The study's settings as recorded by ``nasgen search`` (budget, space, sampler, proxy …)."""
        return dict(self.study.user_attrs)

    @property
    def budget_macs(self) -> int | None:
        """The MACs budget the study was searched under (None for a study not written by nasgen)."""
        value = self.study.user_attrs.get("budget_macs")
        return None if value is None else int(value)

    @property
    def n_objectives(self) -> int:
        """1 (accuracy) or 2 (NSGA-II: accuracy and MACs)."""
        return len(self.study.directions)

    def records(self) -> list[TrialRecord]:
        """Every trial, in trial-number order."""
        return [TrialRecord.from_trial(t) for t in self.study.get_trials(deepcopy=False)]

    def record(self, number: int) -> TrialRecord:
        """The trial ``number``.

        Raises:
            SearchError: No such trial, naming the range that exists.
        """
        records = {r.number: r for r in self.records()}
        if number not in records:
            known = f"trials 0-{max(records)}" if records else "no trials"
            raise SearchError(f"run {self.location!r}: trial {number} does not exist in study {self.name!r} ({known})")
        return records[number]

    def written_by_nasgen(self) -> bool:
        """Whether the trials carry nasgen's run record (a foreign Optuna study does not)."""
        return any("feasible" in t.user_attrs for t in self.study.get_trials(deepcopy=False))

    def leaderboard(self, top_k: int | None = None) -> list[TrialRecord]:
        """Scored trials, best first (:func:`rank_key`: complete before partial, then val top-1, MACs, trial),
        each architecture once: a partial result of an architecture that also has a complete one is dropped."""
        scored = sorted((r for r in self.records() if r.scored), key=rank_key)
        rows, seen = [], set()
        for record in scored:
            if record.hash in seen:
                continue
            seen.add(record.hash)
            rows.append(record)
        return rows if top_k is None else rows[:top_k]

    def best(self) -> TrialRecord | None:
        """The trial ``best.yaml`` names: the first leaderboard row; for a study not written by nasgen, Optuna's
        best trial (multi-objective: the Pareto-optimal trial with the best first objective); None if none."""
        if self.written_by_nasgen():
            rows = self.leaderboard(top_k=1)
            return rows[0] if rows else None
        trial = _optuna_best(self.study)
        return None if trial is None else TrialRecord.from_trial(trial)

    def state_counts(self) -> dict[str, int]:
        """``{state: count}`` over every trial (states of :data:`~nasgen.runs.STATES`)."""
        return dict(sorted(Counter(r.state for r in self.records()).items()))

    def spec_of(self, record: TrialRecord) -> ArchSpec:
        """The architecture of ``record``: its recorded YAML, else ``trials/<n>/arch.yaml`` in the run directory.

        Raises:
            SearchError: Neither is there.
            SpecError: The recorded architecture does not load.
        """
        where = f"{self.location} trial {record.number}"
        if isinstance(record.spec_yaml, str):
            return loads_spec(record.spec_yaml, file=where)
        if self.dir is not None:
            arch_file = self.dir.trial_arch(record.number)
            if arch_file.is_file():
                return load_spec(arch_file)
            raise SearchError(f"{where}: no architecture recorded (no spec_yaml attribute, no {arch_file})")
        raise SearchError(f"{where}: no architecture recorded")

    def weights_of(self, record: TrialRecord) -> Path | None:
        """The proxy weights kept for ``record`` (``--save-weights``), if any."""
        return None if self.dir is None else self.dir.weights_of(record.number)


def _optuna_best(study: optuna.Study) -> Any:
    if len(study.directions) == 1:
        try:
            return study.best_trial
        except ValueError:  # no complete trial, or none feasible
            return None
    sign = 1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else -1.0
    front = study.best_trials
    return max(front, key=lambda t: (sign * t.values[0], -t.number)) if front else None


def open_run(source: str | Path, *, study_name: str | None = None) -> Run:
    """Open a search run from its directory (``study.db`` inside) or from a storage URL.

    Args:
        source: A run directory written by ``nasgen search``, or an Optuna storage URL
            (``sqlite:///…``, ``postgresql://…``).
        study_name: The study; default: the one named in the directory's ``.nasgen-study`` marker or after
            the directory, else the storage's only study.

    Returns:
        The :class:`Run`.

    Raises:
        SearchError: Not a run directory; the database cannot be read; it holds no study, or several and none
            is named; ``study_name`` is not in it.
    """
    from nasgen.runs.storage import display_url, open_storage

    text = str(source)
    if "://" in text:
        url, out, location = text, None, display_url(text)
    else:
        folder = RunDir(Path(text))
        found = folder.storage_url()  # the SQLite study, else the JournalStorage of a --workers run
        if found is None:
            raise SearchError(f"{text!r} is not a search run directory (no study.db or study.log in it)")
        url, out, location = found, folder.root, text
    what = repr(str(out / Path(url).name)) if out is not None else repr(location)
    try:
        storage = open_storage(url, shared=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names = optuna.study.get_all_study_names(storage)
    except SearchError as exc:  # bad scheme, missing driver, unreachable server, a file that is no database
        if out is None:
            raise
        raise SearchError(f"cannot read the study database {what}: {str(exc).split(': ', 1)[-1]}") from None
    except Exception as exc:  # SQLAlchemy / Optuna errors on a corrupt or foreign file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SearchError(f"cannot read the study database {what}: {first}") from None
    name = _pick_study(names, study_name, out, location)
    study = optuna.load_study(study_name=name, storage=storage)
    return Run(study, location, out)


def _pick_study(names: list[str], study_name: str | None, out: Path | None, location: str) -> str:
    if not names:
        raise SearchError(f"run {location!r}: the storage holds no study")
    if study_name is not None:
        if study_name not in names:
            raise SearchError(f"run {location!r}: no study {study_name!r} (studies: {', '.join(sorted(names))})")
        return study_name
    if out is not None:
        owner = RunDir(out).owner()
        if owner in names:
            return owner
        if out.name in names:
            return out.name
    if len(names) == 1:
        return names[0]
    where = f" and none is named {out.name!r}" if out is not None else "; pass the study name"
    raise SearchError(f"run {location!r}: the storage holds several studies ({', '.join(sorted(names))}){where}")
