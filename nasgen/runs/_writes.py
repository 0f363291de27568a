"""Writing the run record: the objective's ``record_*`` calls, the only writers of a trial's user attributes.

Each function writes a fact of the :class:`~nasgen.runs.TrialRecord` under the keys of ``_keys.py``; where the
storage batches writes (nasgen's journal and RDB storages, ``nasgen.runs.storage``) several facts go in one
transaction or one journal append.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasgen.runs import _keys as k
from nasgen.runs._dir import RunDir
from nasgen.runs._record import TrialRecord, _int
from nasgen.spec import ArchSpec, dump_yaml

__all__ = [
    "enqueue_attrs",
    "enqueued_labels",
    "mark_failed_with_reason",
    "needs_retry",
    "params_batch",
    "record_claim",
    "record_duplicate",
    "record_error",
    "record_estimate",
    "record_evaluation",
    "record_feasible",
    "record_hardware",
    "record_infeasible",
    "record_interrupted",
    "record_partial",
    "record_pruned_at",
    "record_reward",
    "record_spec",
    "record_stopped",
    "record_worker",
    "retried_numbers",
    "retry_allowed",
    "retry_attrs",
    "reusable",
    "running_twin",
    "worker_of",
]


def _batch_storage(trial: optuna.Trial) -> Any:
    """The storage under ``trial`` that batches writes (``set_trial_user_attrs``, ``defer_params``), or None.

    Optuna wraps an RDB storage in its ``_CachedStorage``, which passes writes straight to the storage it wraps
    (``_backend``): the batch methods are looked up there too."""
    storage = trial.storage
    if hasattr(storage, "set_trial_user_attrs"):
        return storage
    backend = getattr(storage, "_backend", None)
    return backend if hasattr(backend, "set_trial_user_attrs") else None


@contextlib.contextmanager
def params_batch(trial: optuna.Trial) -> Iterator[None]:
    """Inside this block ``trial``'s sampled parameters are written together with its next attribute batch
    (:func:`record_spec`), in one PostgreSQL transaction or one journal append instead of one per parameter;
    without a batching storage the block changes nothing.

    Raises:
        ValueError: A parameter's distribution conflicts with the study's (as Optuna's ``suggest_*``), at the
            write.
    """
    storage = _batch_storage(trial)
    if storage is None or getattr(trial, "_cached_frozen_trial", None) is None:
        yield
        return
    with storage.defer_params(trial._trial_id):
        yield


def _set_attrs(trial: optuna.Trial, attrs: Mapping[str, Any]) -> None:
    """Set several user attributes of the running ``trial``: in one storage write where the storage offers
    ``set_trial_user_attrs`` (nasgen's journal and RDB storages: one fsync or one commit instead of one per key,
    with the parameters held back by :func:`params_batch`), else one by one."""
    storage = _batch_storage(trial)
    cached = getattr(trial, "_cached_frozen_trial", None)
    if storage is None or cached is None or len(attrs) < 2:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    storage.set_trial_user_attrs(trial._trial_id, dict(attrs))
    cached.user_attrs.update(attrs)


def record_spec(
    trial: optuna.Trial,
    spec: ArchSpec,
    cost: Any,
    *,
    seed: int,
    out: Path,
    proxy_px: int | None = None,
    worker: tuple[str, int] | None = None,
) -> None:
    """Record a sampled architecture, its cost and seed on ``trial`` — and, given ``worker = (host, pid)``, the
    process that runs it (:func:`record_worker`) in the same write; write ``trials/<n>/arch.yaml`` in ``out``."""
    text = dump_yaml(spec)
    attrs: dict[str, Any] = {
        k.SPEC: text,
        k.HASH: spec.content_hash(),
        k.DISPLAY: " ".join(spec.display()),
        k.PARAMS: int(cost.params),
        k.MACS: int(cost.macs),
        k.MEMORY: int(cost.activation_bytes),
        k.SEED: seed,
    }
    if proxy_px is not None:
        attrs[k.PROXY_PX] = int(proxy_px)
    if worker is not None:
        attrs[k.HOST], attrs[k.PID] = worker[0], int(worker[1])
    _set_attrs(trial, attrs)
    path = RunDir(out).trial_arch(trial.number)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def record_feasible(trial: optuna.Trial) -> None:
    """Mark ``trial`` as within every limit (it will be trained or reuse a result)."""
    trial.set_user_attr(k.FEASIBLE, True)


def record_infeasible(trial: optuna.Trial, reason: str) -> None:
    """Mark ``trial`` as over a limit, e.g. ``"MACs 512.3M > budget 400.0M"``; it is never built."""
    _set_attrs(trial, {k.FEASIBLE: False, k.INFEASIBLE: reason})


def record_evaluation(
    trial: optuna.Trial, evaluation: Any, *, evaluator: str, reused_from: int | None = None
) -> None:
    """Record an evaluation (``nasgen.search.evaluators.Evaluation``: score, epochs, seconds, device) on ``trial``,
    with the name of the ``evaluator`` that scored it (or, reused, scored the trial ``reused_from``)."""
    attrs: dict[str, Any] = {} if reused_from is None else {k.REUSED: reused_from}
    attrs.update({
        k.SCORE: float(evaluation.val_top1),
        k.EPOCHS: int(evaluation.epochs),
        k.SECONDS: float(evaluation.train_seconds),
        k.DEVICE: str(evaluation.device),
        k.EVALUATOR: str(evaluator),
    })
    _set_attrs(trial, attrs)


def record_hardware(trial: optuna.Trial, values: Mapping[str, float]) -> None:
    """Record predicted ``latency_ms`` / ``step_ms`` on ``trial``."""
    for name, key in (("latency_ms", k.LATENCY), ("step_ms", k.STEP)):
        if name in values:
            trial.set_user_attr(key, float(values[name]))


def record_reward(trial: optuna.Trial, value: float, parts: Mapping[str, float]) -> None:
    """Record the objective's reward and its parts on ``trial``."""
    _set_attrs(trial, {k.REWARD: float(value), k.REWARD_PARTS: {name: float(v) for name, v in parts.items()}})


def record_partial(
    trial: optuna.Trial, *, epoch: int, val_top1: float, reason: str, train_seconds: float | None = None
) -> None:
    """Record the last completed epoch's score of a trial stopped by the time limit (``epoch`` is 0-based)."""
    trial.set_user_attr(k.PARTIAL, True)
    if train_seconds is not None:
        trial.set_user_attr(k.SECONDS, float(train_seconds))
    trial.set_user_attr(k.SCORE, float(val_top1))
    trial.set_user_attr(k.EPOCHS, int(epoch) + 1)
    trial.set_user_attr(k.STOPPED, reason)
    trial.set_user_attr(k.PRUNED_AT, int(epoch))


def record_pruned_at(trial: optuna.Trial, epoch: int) -> None:
    """Record the (0-based) epoch after which the pruner stopped ``trial``."""
    trial.set_user_attr(k.PRUNED_AT, int(epoch))


def record_estimate(trial: optuna.Trial, seconds: float) -> None:
    """Record the measured estimate of ``trial``'s training time (s), taken before the first costly trial."""
    trial.set_user_attr(k.ESTIMATED, round(float(seconds), 1))


def record_stopped(trial: optuna.Trial, reason: str) -> None:
    """Record why the search stopped ``trial`` before or while it trained (``"time limit (not started)"``)."""
    trial.set_user_attr(k.STOPPED, reason)


def record_error(trial: optuna.Trial, message: str) -> None:
    """Record why ``trial`` failed (at most 500 characters)."""
    trial.set_user_attr(k.ERROR, message[:500])


def record_interrupted(trial: optuna.Trial) -> None:
    """Mark ``trial`` as interrupted by Ctrl-C (it is retried on resume)."""
    trial.set_user_attr(k.INTERRUPTED, True)


def reusable(records: list[TrialRecord], content_hash: str) -> TrialRecord | None:
    """The first complete, scored trial of the architecture ``content_hash`` (an original, not a copy)."""
    for record in records:
        if record.state == "complete" and record.hash == content_hash and record.val_top1 is not None:
            return record
    return None


def needs_retry(trial: FrozenTrial) -> bool:
    """A trial that should run again on resume: interrupted (Ctrl-C) or stopped by the time limit."""
    attrs = trial.user_attrs
    if trial.state == TrialState.FAIL:
        return bool(attrs.get(k.INTERRUPTED))
    return trial.state == TrialState.PRUNED and bool(attrs.get(k.STOPPED)) and attrs.get(k.FEASIBLE) is not False


def retry_attrs(trial: FrozenTrial) -> dict[str, Any]:
    """User attributes of the trial enqueued to retry ``trial``."""
    attrs: dict[str, Any] = {k.RETRY: trial.number}
    if trial.user_attrs.get(k.ENQUEUED):
        attrs[k.ENQUEUED] = trial.user_attrs[k.ENQUEUED]
    return attrs


def retried_numbers(trials: list[FrozenTrial]) -> set[int]:
    """Numbers of the trials that already have a retry."""
    return {int(t.user_attrs[k.RETRY]) for t in trials if t.user_attrs.get(k.RETRY) is not None}


def enqueued_labels(trials: list[FrozenTrial]) -> set[str]:
    """Labels of the architectures already enqueued in the study."""
    return {str(t.user_attrs[k.ENQUEUED]) for t in trials if t.user_attrs.get(k.ENQUEUED)}


def enqueue_attrs(label: str) -> dict[str, Any]:
    """User attributes of an enqueued known architecture."""
    return {k.ENQUEUED: label}


# -- scale-out (workers sharing one study) -------------------------------------------------------------------
def record_worker(trial: optuna.Trial, host: str, pid: int) -> None:
    """Record which process runs ``trial`` (so a restarted worker on ``host`` can tell it was killed)."""
    _set_attrs(trial, {k.HOST: host, k.PID: int(pid)})


def worker_of(trial: FrozenTrial) -> tuple[str | None, int | None]:
    """``(host, pid)`` of the process that ran ``trial`` (None where unrecorded)."""
    return trial.user_attrs.get(k.HOST), _int(trial.user_attrs.get(k.PID))


def running_twin(trials: list[FrozenTrial], number: int, content_hash: str) -> tuple[int | None, bool]:
    """Whether trial ``number`` must step aside for another RUNNING trial of the architecture ``content_hash``.

    Every trial records its hash, then looks (this function), then claims the architecture
    (:func:`record_claim`) if it did not step aside. Of two trials of one architecture at least one sees the
    other. A trial steps aside for a lower-numbered twin, or for a higher-numbered twin that has claimed (it looked
    before this one recorded its hash); a higher twin that has neither claimed nor finished is still deciding, and
    the caller asks again shortly.

    Returns:
        ``(twin, undecided)``: the trial to step aside for (None: none), and whether a higher twin is undecided.
    """
    twins = [t for t in trials if t.state == TrialState.RUNNING and t.number != number
             and t.user_attrs.get(k.HASH) == content_hash]
    lower = [t.number for t in twins if t.number < number]
    if lower:
        return min(lower), False
    claimed = [t.number for t in twins if t.user_attrs.get(k.CLAIMED)]
    if claimed:
        return min(claimed), False
    return None, bool(twins)


def record_claim(trial: optuna.Trial) -> None:
    """Mark ``trial`` as the one that trains its architecture (see :func:`running_twin`) and as feasible, in one
    write."""
    _set_attrs(trial, {k.FEASIBLE: True, k.CLAIMED: True})


def record_duplicate(trial: optuna.Trial, of: int) -> None:
    """Mark ``trial`` as feasible and the same architecture as the running trial ``of`` (it is not trained), in
    one write."""
    _set_attrs(trial, {k.FEASIBLE: True, k.DUPLICATE: int(of)})


def mark_failed_with_reason(storage: Any, trial_id: int, reason: str, *, fail: bool) -> bool:
    """Record ``reason`` as the error of the RUNNING trial ``trial_id`` and, with ``fail``, fail it.

    The reason must be written while the trial still runs (a finished trial's attributes are read-only).

    Returns:
        False when the trial had already finished (another process failed it first).
    """
    try:
        storage.set_trial_user_attr(trial_id, k.ERROR, reason[:500])
        if fail:
            return bool(storage.set_trial_state_values(trial_id, state=TrialState.FAIL))
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    return True


def retry_allowed(trial: FrozenTrial, trials: list[FrozenTrial]) -> bool:
    """A failed stale trial may be retried: it has a recorded architecture, no retry yet, and is no retry itself
    (so a trial that kills its worker every time is tried twice, not forever)."""
    return (
        bool(trial.params)
        and trial.number not in retried_numbers(trials)
        and trial.user_attrs.get(k.RETRY) is None
    )
