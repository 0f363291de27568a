"""The run record: one typed :class:`TrialRecord` per trial, written and read by this module only.

A trial's facts live in the Optuna study as user attributes (so they are shared by every worker and survive a
crash). Their keys are private to this module: the objective writes them through the ``record_*`` functions,
and everything else — outputs, progress, the CLI, export, report, confirmation — reads
:class:`TrialRecord` objects, through :func:`open_run` (a :class:`Run`) or :meth:`TrialRecord.from_trial`.

States (``TrialRecord.state``):

- ``complete``: trained under the whole proxy recipe (or scored by a stand-in), or reused from such a trial;
- ``partial``: stopped by the search's time limit after ``epochs`` epochs; ``val_top1`` is its last epoch's
  score, ranked after every complete trial and retried when the search resumes;
- ``infeasible``: over a limit (budget, params, memory), costed but never built; ``reason`` says which;
- ``pruned``: stopped by the pruner; ``failed``: raised (``reason``); ``interrupted``: Ctrl-C or a killed
  process; ``running``: still running (another worker, or a live study); ``waiting``: enqueued, not started.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasgen.spec import ArchSpec, dump_yaml, loads_spec

__all__ = [
    "STATES",
    "TrialRecord",
    "rank_key",
    "record_evaluation",
    "record_infeasible",
    "record_partial",
    "record_spec",
]

STATES = ("complete", "partial", "infeasible", "pruned", "failed", "interrupted", "running", "waiting")

# user-attribute keys (private to this module; the study's on-disk format)
_SPEC, _HASH, _DISPLAY = "spec_yaml", "hash", "display"
_PARAMS, _MACS, _MEMORY, _SEED = "params", "macs", "activation_bytes", "seed"
_FEASIBLE, _INFEASIBLE = "feasible", "infeasible"
_SCORE, _EPOCHS, _SECONDS, _DEVICE = "val_top1", "epochs", "train_seconds", "device"
_PROXY_PX, _PARTIAL, _STOPPED, _ERROR = "proxy_px", "partial", "stopped", "error"
_REUSED, _ENQUEUED, _RETRY, _INTERRUPTED = "reused_from", "enqueued", "retry_of", "interrupted"
_HOST, _PID, _DUPLICATE, _CLAIMED = "host", "pid", "duplicate_of", "claimed"


@dataclass(frozen=True)
class TrialRecord:
    """What one trial of a search is known to be, read from the study.

    Attributes:
        number: Optuna trial number (``trials/<number>/arch.yaml`` in the run directory).
        state: One of :data:`STATES`.
        spec_yaml: The architecture as YAML (None for a trial that failed before it was sampled).
        hash: ``ArchSpec.content_hash()``.
        display: The stages in timm notation, space-separated.
        macs: Conv + linear MACs at the architecture's resolution, batch 1 (DESIGN.md convention).
        params: Trainable parameters.
        activation_bytes: Activation memory of one float32 inference pass, batch 1, in bytes.
        resolution_px: The architecture's own input resolution (px).
        proxy_px: The resolution the proxy actually trained at (px); None for a stand-in score.
        val_top1: Validation top-1 (fraction in [0, 1]) under the proxy, or the stand-in score.
        epochs: Epochs trained (for ``partial``: the epochs completed before the time limit).
        train_seconds: Wall time of the proxy training in s.
        wall_seconds: Wall time of the whole trial in s (None while running).
        device: Where it trained (``cpu``, ``cuda:0``; ``none`` for a stand-in).
        seed: Training seed.
        reason: Why it is infeasible, failed, interrupted or stopped (empty otherwise).
        reused_from: The trial whose result this one reused (same architecture), if any.
        enqueued: Label of the enqueued architecture (``efficientnet-b0``), if it was enqueued.
        retry_of: The trial this one retries (after a crash, Ctrl-C or the time limit), if any.
        constraints: Optuna constraint values ``{name: cost/limit − 1}`` (> 0 = violated).
        values: Optuna objective values (None unless the trial is COMPLETE).
        trial_state: Optuna's state name (``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING``, ``WAITING``).
        latency_ms: Predicted inference latency at batch 1 on the search's device (ms), when asked for.
        step_ms: Predicted training step time at the proxy's batch and resolution (ms), when asked for.
        reward: The objective's value (``mnasnet`` / ``v2`` rewards); None under plain accuracy.
        reward_parts: The reward's factors (``accuracy``, ``macs_ratio`` …).
    """

    number: int
    state: str
    spec_yaml: str | None = None
    hash: str | None = None
    display: str = ""
    macs: int | None = None
    params: int | None = None
    activation_bytes: int | None = None
    resolution_px: int | None = None
    proxy_px: int | None = None
    val_top1: float | None = None
    epochs: int | None = None
    train_seconds: float | None = None
    wall_seconds: float | None = None
    device: str | None = None
    seed: int | None = None
    reason: str = ""
    reused_from: int | None = None
    enqueued: str | None = None
    retry_of: int | None = None
    constraints: Mapping[str, float] | None = None
    values: tuple[float, ...] | None = None
    trial_state: str = ""
    latency_ms: float | None = None
    step_ms: float | None = None
    reward: float | None = None
    reward_parts: Mapping[str, float] | None = None

    @classmethod
    def from_trial(cls, trial: FrozenTrial) -> TrialRecord:
        """Read a record from an Optuna trial written by nasgen (or, best effort, by anyone else)."""
        attrs = trial.user_attrs
        score = attrs.get(_SCORE)
        wall = None
        if trial.datetime_start is not None and trial.datetime_complete is not None:
            wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
        resolution = None
        if isinstance(attrs.get(_SPEC), str):
            resolution = _resolution_of(attrs[_SPEC])
        return cls(
            number=trial.number,
            state=_state_of(trial),
            spec_yaml=attrs.get(_SPEC),
            hash=attrs.get(_HASH),
            display=str(attrs.get(_DISPLAY, "")),
            macs=_int(attrs.get(_MACS)),
            params=_int(attrs.get(_PARAMS)),
            activation_bytes=_int(attrs.get(_MEMORY)),
            resolution_px=resolution,
            proxy_px=_int(attrs.get(_PROXY_PX)),
            val_top1=None if score is None else float(score),
            epochs=_int(attrs.get(_EPOCHS)),
            train_seconds=None if attrs.get(_SECONDS) is None else float(attrs[_SECONDS]),
            wall_seconds=wall,
            device=attrs.get(_DEVICE),
            seed=_int(attrs.get(_SEED)),
            reason=_reason_of(trial),
            reused_from=_int(attrs.get(_REUSED)),
            enqueued=attrs.get(_ENQUEUED),
            retry_of=_int(attrs.get(_RETRY)),
            constraints=dict(trial.constraints) if trial.constraints else None,
            values=None if trial.values is None else tuple(float(v) for v in trial.values),
            trial_state=trial.state.name,
            latency_ms=None if attrs.get("latency_ms") is None else float(attrs["latency_ms"]),
            step_ms=None if attrs.get("step_ms") is None else float(attrs["step_ms"]),
            reward=None if attrs.get("reward") is None else float(attrs["reward"]),
            reward_parts=attrs.get("reward_parts"),
        )

    @property
    def feasible(self) -> bool:
        """Within every limit (an architecture that was costed and allowed to train)."""
        return self.state != "infeasible" and self.spec_yaml is not None

    @property
    def scored(self) -> bool:
        """Has a score of its own (complete or partial; not a reused copy of another trial's)."""
        return self.state in ("complete", "partial") and self.val_top1 is not None and self.reused_from is None

    @property
    def partial(self) -> bool:
        """Stopped by the time limit with the score of its last completed epoch."""
        return self.state == "partial"

    def spec(self) -> ArchSpec:
        """The architecture of this trial.

        Raises:
            SpecError: No architecture recorded, or the recorded YAML does not load.
        """
        from nasgen.errors import SpecError

        if self.spec_yaml is None:
            raise SpecError(f"trial {self.number} has no recorded architecture (it failed before sampling)")
        return loads_spec(self.spec_yaml, file=f"<trial {self.number}>")


def rank_key(record: TrialRecord) -> tuple[int, float, int, int]:
    """Leaderboard order: complete before partial, then the higher reward (the val top-1 under the plain
    accuracy objective), fewer MACs, earlier trial."""
    value = record.reward if record.reward is not None else record.val_top1
    score = value if value is not None and not math.isnan(value) else -math.inf
    return (int(record.partial), -score, record.macs or 0, record.number)


def _int(value: Any) -> int | None:
    return None if value is None or isinstance(value, bool) else int(value)


def _resolution_of(text: str) -> int | None:
    for line in text.splitlines():
        if line.startswith("resolution_px:"):
            try:
                return int(line.split(":", 1)[1].strip())
            except ValueError:
                return None
    return None


def _state_of(trial: FrozenTrial) -> str:
    attrs = trial.user_attrs
    if attrs.get(_FEASIBLE) is False:
        return "infeasible"
    if trial.state == TrialState.COMPLETE:
        return "complete"
    if trial.state == TrialState.PRUNED:
        return "partial" if attrs.get(_PARTIAL) and attrs.get(_SCORE) is not None else "pruned"
    if trial.state == TrialState.FAIL:
        return "interrupted" if attrs.get(_INTERRUPTED) or "killed" in str(attrs.get(_ERROR, "")) else "failed"
    return "running" if trial.state == TrialState.RUNNING else "waiting"


def _reason_of(trial: FrozenTrial) -> str:
    attrs = trial.user_attrs
    for key in (_INFEASIBLE, _ERROR, _STOPPED):
        if attrs.get(key):
            return str(attrs[key])
    if attrs.get(_DUPLICATE) is not None:
        return f"architecture already running in trial {attrs[_DUPLICATE]} (another worker); not trained twice"
    if trial.state == TrialState.FAIL:
        return str(trial.system_attrs.get("fail_reason", ""))
    return ""


# -- writing (the objective) ---------------------------------------------------------------------------------
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
        _SPEC: text,
        _HASH: spec.content_hash(),
        _DISPLAY: " ".join(spec.display()),
        _PARAMS: int(cost.params),
        _MACS: int(cost.macs),
        _MEMORY: int(cost.activation_bytes),
        _SEED: seed,
    }
    if proxy_px is not None:
        attrs[_PROXY_PX] = int(proxy_px)
    if worker is not None:
        attrs[_HOST], attrs[_PID] = worker[0], int(worker[1])
    _set_attrs(trial, attrs)
    folder = out / "trials" / str(trial.number)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arch.yaml").write_text(text, encoding="utf-8")


def record_feasible(trial: optuna.Trial) -> None:
    """Mark ``trial`` as within every limit (it will be trained or reuse a result)."""
    trial.set_user_attr(_FEASIBLE, True)


def record_infeasible(trial: optuna.Trial, reason: str) -> None:
    """Mark ``trial`` as over a limit, e.g. ``"MACs 512.3M > budget 400.0M"``; it is never built."""
    _set_attrs(trial, {_FEASIBLE: False, _INFEASIBLE: reason})


def record_evaluation(trial: optuna.Trial, evaluation: Any, *, reused_from: int | None = None) -> None:
    """Record an :class:`~nasgen.search._evaluate.Evaluation` (score, epochs, seconds, device) on ``trial``."""
    attrs: dict[str, Any] = {} if reused_from is None else {_REUSED: reused_from}
    attrs.update({
        _SCORE: float(evaluation.val_top1),
        _EPOCHS: int(evaluation.epochs),
        _SECONDS: float(evaluation.train_seconds),
        _DEVICE: str(evaluation.device),
    })
    _set_attrs(trial, attrs)


def record_hardware(trial: optuna.Trial, values: Mapping[str, float]) -> None:
    """Record predicted ``latency_ms`` / ``step_ms`` on ``trial``."""
    for key in ("latency_ms", "step_ms"):
        if key in values:
            trial.set_user_attr(key, float(values[key]))


def record_reward(trial: optuna.Trial, value: float, parts: Mapping[str, float]) -> None:
    """Record the objective's reward and its parts on ``trial``."""
    trial.set_user_attr("reward", float(value))
    trial.set_user_attr("reward_parts", {k: float(v) for k, v in parts.items()})


def record_partial(
    trial: optuna.Trial, *, epoch: int, val_top1: float, reason: str, train_seconds: float | None = None
) -> None:
    """Record the last completed epoch's score of a trial stopped by the time limit (``epoch`` is 0-based)."""
    trial.set_user_attr(_PARTIAL, True)
    if train_seconds is not None:
        trial.set_user_attr(_SECONDS, float(train_seconds))
    trial.set_user_attr(_SCORE, float(val_top1))
    trial.set_user_attr(_EPOCHS, int(epoch) + 1)
    trial.set_user_attr(_STOPPED, reason)
    trial.set_user_attr("pruned_at_epoch", int(epoch))


def record_error(trial: optuna.Trial, message: str) -> None:
    """Record why ``trial`` failed (at most 500 characters)."""
    trial.set_user_attr(_ERROR, message[:500])


def record_interrupted(trial: optuna.Trial) -> None:
    """Mark ``trial`` as interrupted by Ctrl-C (it is retried on resume)."""
    trial.set_user_attr(_INTERRUPTED, True)


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
        return bool(attrs.get(_INTERRUPTED))
    return trial.state == TrialState.PRUNED and bool(attrs.get(_STOPPED)) and attrs.get(_FEASIBLE) is not False


def retry_attrs(trial: FrozenTrial) -> dict[str, Any]:
    """User attributes of the trial enqueued to retry ``trial``."""
    attrs: dict[str, Any] = {_RETRY: trial.number}
    if trial.user_attrs.get(_ENQUEUED):
        attrs[_ENQUEUED] = trial.user_attrs[_ENQUEUED]
    return attrs


def retried_numbers(trials: list[FrozenTrial]) -> set[int]:
    """Numbers of the trials that already have a retry."""
    return {int(t.user_attrs[_RETRY]) for t in trials if t.user_attrs.get(_RETRY) is not None}


def enqueued_labels(trials: list[FrozenTrial]) -> set[str]:
    """Labels of the architectures already enqueued in the study."""
    return {str(t.user_attrs[_ENQUEUED]) for t in trials if t.user_attrs.get(_ENQUEUED)}


def enqueue_attrs(label: str) -> dict[str, Any]:
    """User attributes of an enqueued known architecture."""
    return {_ENQUEUED: label}


# -- scale-out (workers sharing one study) -------------------------------------------------------------------
def record_worker(trial: optuna.Trial, host: str, pid: int) -> None:
    """Record which process runs ``trial`` (so a restarted worker on ``host`` can tell it was killed)."""
    _set_attrs(trial, {_HOST: host, _PID: int(pid)})


def worker_of(trial: FrozenTrial) -> tuple[str | None, int | None]:
    """``(host, pid)`` of the process that ran ``trial`` (None where unrecorded)."""
    return trial.user_attrs.get(_HOST), _int(trial.user_attrs.get(_PID))


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
             and t.user_attrs.get(_HASH) == content_hash]
    lower = [t.number for t in twins if t.number < number]
    if lower:
        return min(lower), False
    claimed = [t.number for t in twins if t.user_attrs.get(_CLAIMED)]
    if claimed:
        return min(claimed), False
    return None, bool(twins)


def record_claim(trial: optuna.Trial) -> None:
    """Mark ``trial`` as the one that trains its architecture (see :func:`running_twin`) and as feasible, in one
    write."""
    _set_attrs(trial, {_FEASIBLE: True, _CLAIMED: True})


def record_duplicate(trial: optuna.Trial, of: int) -> None:
    """Mark ``trial`` as feasible and the same architecture as the running trial ``of`` (it is not trained), in
    one write."""
    _set_attrs(trial, {_FEASIBLE: True, _DUPLICATE: int(of)})


def mark_failed_with_reason(storage: Any, trial_id: int, reason: str, *, fail: bool) -> bool:
    """Record ``reason`` as the error of the RUNNING trial ``trial_id`` and, with ``fail``, fail it.

    The reason must be written while the trial still runs (a finished trial's attributes are read-only).

    Returns:
        False when the trial had already finished (another process failed it first).
    """
    try:
        storage.set_trial_user_attr(trial_id, _ERROR, reason[:500])
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
        and trial.user_attrs.get(_RETRY) is None
    )
