"""Study lifecycle: open the storage and the study, check a resumed study's settings, resume after a crash.

Resume: a run directory belongs to one process at a time (``nasgen.runs.RunLock``, a ``flock`` on ``.lock``), so a
trial found RUNNING there was left by a killed process: it is marked FAIL and its parameters are enqueued again. A
trial interrupted by Ctrl-C is FAIL with the user attribute ``interrupted`` and is retried the same way. A shared
``--storage`` uses heartbeats instead: a worker that stops beating for the grace period has its trial failed (the
reason recorded) and re-enqueued (``nasgen.runs.storage.retry_stale_trial``; docs/scale-out.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from nasgen.errors import SearchError
from nasgen.runs import RunDir, mark_failed_with_reason, needs_retry, retried_numbers, retry_attrs
from nasgen.runs.storage import Heartbeat, open_storage
from nasgen.search.samplers import TrialSeededSampler, make_pruner, make_sampler, sampler_factory

__all__ = [
    "check_study_meta",
    "count_finished",
    "n_trials_stored",
    "open_study",
    "prepare_study",
    "recover_stale_trials",
    "space_dimensions",
]

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


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


def prepare_study(
    out_dir: Path,
    storage: Any,
    name: str,
    *,
    sampler: str,
    pruner: str,
    seed: int,
    n_objectives: int,
    epochs: int,
    heartbeat: Heartbeat | None = None,
    wrap: Callable[[Any], Any] | None = None,
) -> optuna.Study:
    """Open (or create) the study ``name`` for a search writing into ``out_dir``.

    ``storage`` None is the run directory's own SQLite file, for one process; a URL or storage object is shared
    (heartbeats on, and each trial's sampler seeded from the study seed and its number, so workers never share a
    random stream). ``wrap(sampler) → sampler`` wraps the sampler (the feasible start).

    Raises:
        SearchError: The storage cannot be opened, the directory belongs to another study, or the study exists
            with another number of objectives.
    """
    shared = storage is not None
    files = RunDir(out_dir)
    url = storage or f"sqlite:///{files.study_db.resolve()}"
    backend = open_storage(url, shared=shared, heartbeat=heartbeat)
    studies = set() if shared else {s.study_name for s in backend.get_all_studies()}
    files.claim(name, studies=studies)
    sampler_obj, _ = make_sampler(sampler, seed=seed, n_existing=n_trials_stored(backend, name), parallel=shared)
    if shared:
        sampler_obj = TrialSeededSampler(sampler_factory(sampler), seed, True)
    if wrap is not None:
        sampler_obj = wrap(sampler_obj)
    pruner_obj = make_pruner(pruner, epochs=epochs, n_objectives=n_objectives)
    return open_study(backend, name, sampler=sampler_obj, pruner=pruner_obj, n_objectives=n_objectives)


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
    trials = study.get_trials(deepcopy=False)
    retried = retried_numbers(trials)
    requeued = []
    for trial in trials:
        if trial.state == TrialState.RUNNING:
            mark_failed_with_reason(study._storage, trial._trial_id, "process killed while the trial ran", fail=True)
        elif not needs_retry(trial):
            continue
        if trial.number not in retried:
            study.enqueue_trial(trial.params, user_attrs=retry_attrs(trial))
            requeued.append(trial.number)
    return requeued
