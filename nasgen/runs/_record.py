"""The run record: one typed :class:`TrialRecord` per trial, read here from the study.

A trial's facts live in the Optuna study as user attributes (so they are shared by every worker and survive a
crash). Their keys are private to ``nasgen.runs`` (``_keys.py``): the objective writes them through the
``record_*`` functions of ``_writes.py``, and everything else — outputs, progress, the CLI, export, report,
confirmation — reads :class:`TrialRecord` objects, through :func:`~nasgen.runs.open_run` (a
:class:`~nasgen.runs.Run`) or :meth:`TrialRecord.from_trial`.

States (``TrialRecord.state``):

- ``complete``: trained under the whole proxy recipe (or scored by a stand-in), or reused from such a trial;
- ``partial``: stopped by the search's time limit after ``epochs`` epochs; ``val_top1`` is its last epoch's
  score, ranked after every complete trial and retried when the search resumes;
- ``infeasible``: over a limit (budget, params, memory), costed but never built; ``reason`` says which;
- ``pruned``: stopped by the pruner; ``failed``: raised (``reason``); ``interrupted``: Ctrl-C or a killed
  process; ``running``: still running (another worker, or a live study); ``waiting``: enqueued, not started.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from nasgen.runs import _keys as k
from nasgen.spec import ArchSpec, loads_spec

__all__ = ["STATES", "TrialRecord", "rank_key"]

STATES = ("complete", "partial", "infeasible", "pruned", "failed", "interrupted", "running", "waiting")

@dataclass(frozen=True)
class TrialRecord:
    """What one trial of a search is known to be, read from the study.

    Attributes:
        number: Optuna trial number (``trials/<number>/arch.yaml`` in the run directory).
        state: One of :data:`STATES`.
        spec_yaml: The architecture as YAML (None for a trial that failed before it was sampled).
        hash: ``ArchSpec.content_hash()``.
        display: The stages in timm notation, space-separated.
        macs: Conv + linear MACs at the architecture's resolution, batch 1 (docs/design.md convention).
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
        evaluator: What scored it (``proxy``, ``supernet``, ``zero-cost:synflow``, ``stand-in``); None for a
            trial not scored, or recorded before evaluators were named (then :attr:`scored_by` infers it).
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
    evaluator: str | None = None

    @classmethod
    def from_trial(cls, trial: FrozenTrial) -> TrialRecord:
        """Read a record from an Optuna trial written by nasgen (or, best effort, by anyone else)."""
        attrs = trial.user_attrs
        score = attrs.get(k.SCORE)
        wall = None
        if trial.datetime_start is not None and trial.datetime_complete is not None:
            wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
        resolution = None
        if isinstance(attrs.get(k.SPEC), str):
            resolution = _resolution_of(attrs[k.SPEC])
        return cls(
            number=trial.number,
            state=_state_of(trial),
            spec_yaml=attrs.get(k.SPEC),
            hash=attrs.get(k.HASH),
            display=str(attrs.get(k.DISPLAY, "")),
            macs=_int(attrs.get(k.MACS)),
            params=_int(attrs.get(k.PARAMS)),
            activation_bytes=_int(attrs.get(k.MEMORY)),
            resolution_px=resolution,
            proxy_px=_int(attrs.get(k.PROXY_PX)),
            val_top1=None if score is None else float(score),
            epochs=_int(attrs.get(k.EPOCHS)),
            train_seconds=None if attrs.get(k.SECONDS) is None else float(attrs[k.SECONDS]),
            wall_seconds=wall,
            device=attrs.get(k.DEVICE),
            seed=_int(attrs.get(k.SEED)),
            reason=_reason_of(trial),
            reused_from=_int(attrs.get(k.REUSED)),
            enqueued=attrs.get(k.ENQUEUED),
            retry_of=_int(attrs.get(k.RETRY)),
            constraints=dict(trial.constraints) if trial.constraints else None,
            values=None if trial.values is None else tuple(float(v) for v in trial.values),
            trial_state=trial.state.name,
            latency_ms=None if attrs.get(k.LATENCY) is None else float(attrs[k.LATENCY]),
            step_ms=None if attrs.get(k.STEP) is None else float(attrs[k.STEP]),
            reward=None if attrs.get(k.REWARD) is None else float(attrs[k.REWARD]),
            reward_parts=attrs.get(k.REWARD_PARTS),
            evaluator=attrs.get(k.EVALUATOR),
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
    def scored_by(self) -> str | None:
        """The evaluator that scored this trial: the recorded one, else ``proxy`` when it trained at a proxy
        resolution and ``stand-in`` when it was scored without training (studies written before evaluators were
        recorded); None when it has no score."""
        if self.evaluator is not None:
            return self.evaluator
        if self.val_top1 is None:
            return None
        return "proxy" if self.proxy_px is not None else "stand-in"

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
    if attrs.get(k.FEASIBLE) is False:
        return "infeasible"
    if trial.state == TrialState.COMPLETE:
        return "complete"
    if trial.state == TrialState.PRUNED:
        return "partial" if attrs.get(k.PARTIAL) and attrs.get(k.SCORE) is not None else "pruned"
    if trial.state == TrialState.FAIL:
        return "interrupted" if attrs.get(k.INTERRUPTED) or "killed" in str(attrs.get(k.ERROR, "")) else "failed"
    return "running" if trial.state == TrialState.RUNNING else "waiting"


def _reason_of(trial: FrozenTrial) -> str:
    attrs = trial.user_attrs
    for key in (k.INFEASIBLE, k.ERROR, k.STOPPED):
        if attrs.get(key):
            return str(attrs[key])
    if attrs.get(k.DUPLICATE) is not None:
        return f"architecture already running in trial {attrs[k.DUPLICATE]} (another worker); not trained twice"
    if trial.state == TrialState.FAIL:
        return str(trial.system_attrs.get("fail_reason", ""))
    return ""


