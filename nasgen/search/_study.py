"""Study lifecycle: samplers, pruners, storage, resume after a crash, and the run-directory lock.

Samplers: TPE (Bergstra et al. 2011; multivariate, Falkner et al. 2018; ``group=True`` for conditional
stages), random, NSGA-II (Deb et al. 2002; accuracy vs MACs), regularized evolution (Real et al. 2019;
``nasgen.search._evolution``). Pruners: median (Golovin et al. 2017,
"Google Vizier", §3.2.2) and Hyperband (Li et al. 2018) on per-epoch validation accuracy; pruning applies to
single-objective samplers only.

Resume: a run directory belongs to one process at a time (a ``flock`` on ``.lock``), so a trial found
RUNNING there was left by a killed process: it is marked FAIL and its parameters are enqueued again. A trial
interrupted by Ctrl-C is FAIL with the user attribute ``interrupted`` and is retried the same way. A shared
``--storage`` uses RDB heartbeats instead: a worker that stops beating for ``GRACE_PERIOD_S`` has its trial
failed and re-enqueued by ``RetryHeartbeatStaleTrialCallback`` (DESIGN.md, scale-out).
"""

from __future__ import annotations

import fcntl
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from nasgen.errors import SearchError

__all__ = [
    "GRACE_PERIOD_S",
    "HEARTBEAT_INTERVAL_S",
    "PRUNERS",
    "SAMPLERS",
    "RunLock",
    "check_study_meta",
    "count_finished",
    "make_pruner",
    "space_dimensions",
    "make_sampler",
    "n_trials_stored",
    "open_storage",
    "open_study",
    "recover_stale_trials",
]

HEARTBEAT_INTERVAL_S = 30
GRACE_PERIOD_S = 120
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _tpe(seed: int, parallel: bool) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed, constant_liar=parallel)


def _random(seed: int, parallel: bool) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _nsga2(seed: int, parallel: bool) -> optuna.samplers.BaseSampler:
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)


def _evolution(seed: int, parallel: bool) -> optuna.samplers.BaseSampler:
    from nasgen.search._evolution import RegularizedEvolutionSampler

    return RegularizedEvolutionSampler(population_size=50, sample_size=25, seed=seed)


# name -> (factory(seed, parallel), number of objectives). The names users may give are declared once, in
# nasgen.config (SAMPLERS / PRUNERS, torch- and Optuna-free for the CLI); tests/cli/test_options_agree.py checks
# that each has a factory here and nothing more.
SAMPLERS: dict[str, tuple[Callable[[int, bool], optuna.samplers.BaseSampler], int]] = {
    "tpe": (_tpe, 1),
    "random": (_random, 1),
    "nsga2": (_nsga2, 2),
    "evolution": (_evolution, 1),
}

PRUNERS: dict[str, Callable[[int], optuna.pruners.BasePruner]] = {
    "none": lambda epochs: optuna.pruners.NopPruner(),
    "median": lambda epochs: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    "hyperband": lambda epochs: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1)),
}


def make_sampler(name: str, *, seed: int, n_existing: int, parallel: bool) -> tuple[Any, int]:
    """The sampler called ``name`` and its number of objectives.

    The seed is offset by the number of trials already in the study, so a resumed run does not replay the
    random proposals of the first one.

    Raises:
        SearchError: Unknown sampler name.
    """
    if name not in SAMPLERS:
        raise SearchError(f"sampler: expected one of {', '.join(SAMPLERS)}, got {name!r}")
    factory, n_objectives = SAMPLERS[name]
    return factory(seed + n_existing, parallel), n_objectives


def make_pruner(name: str, *, epochs: int, n_objectives: int) -> optuna.pruners.BasePruner:
    """The pruner called ``name`` (``none`` under multi-objective sampling, where Optuna cannot prune).

    Raises:
        SearchError: Unknown pruner name, or a pruner asked for together with NSGA-II.
    """
    if name not in PRUNERS:
        raise SearchError(f"pruner: expected one of {', '.join(PRUNERS)}, got {name!r}")
    if n_objectives > 1 and name != "none":
        raise SearchError(
            f"pruner {name!r} needs a single-objective sampler: NSGA-II optimizes accuracy and MACs together and "
            "Optuna cannot prune multi-objective trials; leave --pruner out or use --pruner none with nsga2"
        )
    return PRUNERS[name](epochs)


def open_storage(
    storage: str | optuna.storages.BaseStorage, *, shared: bool, heartbeat: Any = None
) -> optuna.storages.BaseStorage:
    """The storage for ``storage`` (``nasgen.search._storage.open_storage``: SQLite, PostgreSQL and other RDB
    URLs, ``journal:///FILE.log``; heartbeats when ``shared``); a storage object passes through.

    Raises:
        SearchError: The URL cannot be opened (bad scheme, unreachable server, missing driver).
    """
    from nasgen.search._storage import Heartbeat
    from nasgen.search._storage import open_storage as _open

    beat = heartbeat or Heartbeat(HEARTBEAT_INTERVAL_S, GRACE_PERIOD_S)
    return _open(storage, shared=shared, heartbeat=beat)


def n_trials_stored(storage: optuna.storages.BaseStorage, name: str) -> int:
    """Trials already stored in the study ``name`` (0 when it does not exist yet)."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return 0
    return len(storage.get_all_trials(study_id, deepcopy=False))


def open_study(
    storage: optuna.storages.BaseStorage, name: str, *, sampler: Any, pruner: Any, n_objectives: int
) -> optuna.Study:
    """Create or load the study ``name`` (maximize accuracy; minimize MACs too under NSGA-II).

    Raises:
        SearchError: The study exists with another number of objectives.
    """
    directions = ["maximize", "minimize"][:n_objectives]
    try:
        return optuna.create_study(
            storage=storage,
            study_name=name,
            sampler=sampler,
            pruner=pruner,
            directions=directions,
            load_if_exists=True,
        )
    except ValueError as exc:
        raise SearchError(f"study {name!r}: {exc}") from None


def check_study_meta(study: optuna.Study, meta: Mapping[str, Any]) -> None:
    """Record ``meta`` (budget, space, sampler …) on a new study; on a resumed one, insist it matches.

    Raises:
        SearchError: The study was created with other settings (e.g. another budget).
    """
    existing = study.user_attrs
    for key, value in meta.items():
        if key in existing and existing[key] != value:
            raise SearchError(
                f"study {study.study_name!r} was created with {_difference(key, existing[key], value)}; "
                "use another --study-name or --out to start a new study"
            )
    for key, value in meta.items():
        if key not in existing:
            study.set_user_attr(key, value)


def space_dimensions(space: Any) -> str:
    """JSON ``{label: YAML form}`` of every label of ``space`` (fixed ones too), stored on the study so that a
    resume on a changed space can name what changed."""
    from nasgen.space import dimension_to_data

    return json.dumps({label: dimension_to_data(dim) for label, dim in space.all_dimensions().items()})


def _domain(form: Any) -> str:
    if form is _ABSENT:
        return "absent"
    if isinstance(form, list):
        return "choices (" + ", ".join(map(str, form)) + ")"
    if isinstance(form, dict):
        return f"range [{form.get('low')}, {form.get('high')}] step {form.get('step', 1)}"
    return f"fixed {form}"


_ABSENT = object()


def _space_difference(was: str, now: str) -> str:
    """``another search space: LABEL: choices (1, 4, 6) now (1, 4, 6, 8); …`` (labels that differ)."""
    before, after = json.loads(was), json.loads(now)
    changed = [label for label in {**before, **after} if before.get(label, _ABSENT) != after.get(label, _ABSENT)]
    parts = []
    for label in changed:
        old, new = _domain(before.get(label, _ABSENT)), _domain(after.get(label, _ABSENT))
        kind_old, kind_new = old.split(" ")[0], new.split(" ")[0]
        parts.append(f"{label}: {old} now {new[len(kind_new) + 1:] if kind_old == kind_new else new}")
    return "another search space: " + "; ".join(parts)


def _difference(key: str, was: Any, now: Any) -> str:
    """``key=was, got now``; for JSON objects (the proxy recipe) only the fields that differ."""
    if key == "space_dimensions":
        return _space_difference(was, now)
    if key == "space_hash":
        return "another search space (same dimensions; the space's in_channels or num_classes changed)"
    try:
        before, after = json.loads(was), json.loads(now)
    except (TypeError, ValueError):
        before = after = None
    if isinstance(before, dict) and isinstance(after, dict):
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        return f"another {key}: " + ", ".join(f"{k} {before.get(k)!r} (now {after.get(k)!r})" for k in changed)
    return f"{key}={was!r}, got {now!r}"


def count_finished(study: optuna.Study) -> int:
    """Number of finished trials (complete — feasible, infeasible or reused — and pruned)."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def recover_stale_trials(study: optuna.Study) -> list[int]:
    """Fail trials left RUNNING by a killed process and re-enqueue them, Ctrl-C-interrupted ones and those the
    time limit stopped (partial results; a retry that completes ranks above them).

    Only call this while holding the run directory's :class:`RunLock` (no other process is running).

    Returns:
        Numbers of the trials whose parameters were enqueued again.
    """
    from nasgen.search._record import needs_retry, retried_numbers, retry_attrs

    trials = study.get_trials(deepcopy=False)
    retried = retried_numbers(trials)
    requeued = []
    for trial in trials:
        if trial.state == TrialState.RUNNING:
            study._storage.set_trial_user_attr(trial._trial_id, "error", "process killed while the trial ran")
            study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        elif not needs_retry(trial):
            continue
        if trial.number not in retried:
            study.enqueue_trial(trial.params, user_attrs=retry_attrs(trial))
            requeued.append(trial.number)
    return requeued


class RunLock:
    """An exclusive ``flock`` on ``<run dir>/.lock``, released when the process exits (even on SIGKILL).

    Raises:
        SearchError: Another process holds the lock.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SearchError(f"{self.path.parent}: another nasgen search (pid {holder}) is using this run directory")
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
