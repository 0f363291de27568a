"""The Optuna objective: suggest → freeze → cost → (infeasible | reused | evaluated) → recorded.

Budget before build (docs/design.md): every sample is costed analytically before a model exists. An
over-budget sample gets per-trial constraint values through ``Trial.set_constraint`` — Optuna 5's
constraint API, which TPE (Watanabe 2023, §3.4: infeasible trials go to the "bad" density, ranked by
violation, whatever their state) and NSGA-II (Deb et al. 2002, §VI constrained domination) both learn from —
and is never built or trained. Under a single objective it is stored PRUNED (no value, so Optuna's plots and
optuna-dashboard are not stretched by an infinite score); under NSGA-II, whose population holds complete
trials only, it is COMPLETE with accuracy ``-inf`` and its MACs. The run record (``_record.py``) marks it
``infeasible`` with the reason, and the leaderboard lists scored trials only.

The trial's facts are written through ``nasgen.runs``' ``record_*`` functions (the run record), never as loose keys
here.

Constraint values are relative excesses, ``cost / limit − 1`` (> 0 = violated), so MACs, params and
bytes add up on one scale when a sampler sums violations.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import optuna

from nasgen.cost import CostReport, count_cost
from nasgen.runs import (
    Run,
    RunDir,
    TrialRecord,
    params_batch,
    record_claim,
    record_duplicate,
    record_error,
    record_estimate,
    record_evaluation,
    record_hardware,
    record_infeasible,
    record_interrupted,
    record_partial,
    record_pruned_at,
    record_reward,
    record_spec,
    record_stopped,
    rank_key,
    reusable,
    running_twin,
)
from nasgen.search.evaluators import Evaluation, Evaluator
from nasgen.search.objective._limits import Limits
from nasgen.search.objective._suggest import suggest_params
from nasgen.spec import ArchSpec

__all__ = ["WORST_VALUE", "Objective"]

WORST_VALUE = float("-inf")
"""Objective value recorded for infeasible trials (maximization)."""

TrialHook = Callable[[int, ArchSpec], None]


class Objective:
    """Callable objective for ``study.optimize``; one instance per search.

    Args:
        space: The search space (``nasgen.space.SearchSpace``).
        limits: Cost limits checked before any model is built.
        evaluator: Scores feasible architectures (``nasgen.search.evaluators``).
        freeze_kwargs: Passed to ``space.freeze`` (the data's ``num_classes`` / ``in_channels``).
        multi_objective: NSGA-II mode, returning ``(val_top1, macs)``.
        seed: Training seed, recorded on every trial.
        out: Run directory; ``trials/<number>/arch.yaml`` is written there.
        on_start: Called with ``(trial number, spec)`` before evaluation (progress display, hooks).

    Attributes:
        hardware: A :class:`~nasgen.search.objective.HardwareCost` for latency / step-time limits and the
            ``mnasnet`` / ``v2`` rewards, or None (MACs and accuracy only).
        deadline: ``time.monotonic()`` after which a training trial is pruned at its next epoch end
            (single-objective only; never after its last epoch, whose result is complete), so a search ends
            near its timeout even when one trial is long.
        last_epoch: The evaluator's last epoch (0-based).
    """

    def __init__(
        self,
        space: Any,
        limits: Limits,
        evaluator: Evaluator,
        *,
        freeze_kwargs: Mapping[str, Any],
        multi_objective: bool,
        seed: int,
        out: Path,
        on_start: TrialHook | None = None,
    ) -> None:
        self.space = space
        self.limits = limits
        self.evaluator = evaluator
        self.freeze_kwargs = dict(freeze_kwargs)
        self.multi_objective = multi_objective
        self.seed = seed
        self.out = out
        self.on_start = on_start
        self.host = socket.gethostname()
        self.deadline: float | None = None
        self.hardware: Any = None
        self.on_note: Callable[[str], None] | None = None
        self.estimated = False
        self.not_started: str | None = None
        self.last_epoch = evaluator.epochs - 1

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        with params_batch(trial):  # the parameters are written with the spec's attributes: one write, not ~40
            params = suggest_params(trial, self.space)
            spec = self.space.freeze(params, **self.freeze_kwargs)
            cost = count_cost(spec)
            record_spec(trial, spec, cost, seed=self.seed, out=self.out, proxy_px=self.evaluator_px(spec),
                        worker=(self.host, os.getpid()))
        violations = self.limits.violations(cost)
        reason = self.limits.reason(cost)
        hardware: dict[str, float] = {}
        if self.hardware is not None and not reason:  # measured costs only for what MACs already allow
            hardware = self.hardware.predict(spec)
            record_hardware(trial, hardware)
            violations.update(self.hardware.violations(hardware))
            reason = self.hardware.reason(hardware)
        if self.on_start is not None:
            self.on_start(trial.number, spec)
        if any(value > 0 for value in violations.values()):
            record_infeasible(trial, reason)
            return self._finish(trial, violations, WORST_VALUE, cost, infeasible=reason)
        trials = self._skip_if_running_elsewhere(trial, spec.content_hash())  # also marks the trial feasible
        complete = [TrialRecord.from_trial(t) for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        reused = reusable(complete, spec.content_hash())
        if reused is not None:
            evaluation = Evaluation(
                val_top1=float(reused.val_top1), epochs=int(reused.epochs or 0), device=str(reused.device)
            )
            record_evaluation(trial, evaluation, evaluator=reused.scored_by or self.evaluator.name,
                              reused_from=reused.reused_from or reused.number)
        else:
            self._check_time(trial, spec)
            evaluation, stopped = self._evaluate(trial, spec)
            if stopped is not None:  # the time limit ended it after `stopped` epochs: a partial result
                return self._partial(trial, evaluation, stopped, cost)
            record_evaluation(trial, evaluation, evaluator=self.evaluator.name)
        value = evaluation.val_top1
        reward = None
        if self.hardware is not None and self.hardware.objective != "accuracy":
            reward = self.hardware.reward(value, macs=cost.macs, params=cost.params, values=hardware)
            record_reward(trial, reward.value, reward.parts)
            value = reward.value
        if reused is None:
            self._save_weights(trial, evaluation, cost, reward=None if reward is None else reward.value)
        return self._finish(trial, violations, value, cost)

    def _partial(self, trial: optuna.Trial, evaluation: Evaluation, epochs: int, cost: CostReport) -> Any:
        """Record a result the time limit stopped after ``epochs`` epochs (ranked after complete ones, retried when
        the search resumes), keep its weights when it is the best so far, and end the trial PRUNED.

        Raises:
            optuna.TrialPruned: Always.
        """
        record_partial(trial, epoch=epochs - 1, val_top1=evaluation.val_top1, reason="time limit",
                       train_seconds=evaluation.train_seconds)  # fmt: skip
        self._save_weights(trial, evaluation, cost, partial=True)
        raise optuna.TrialPruned(f"epoch {epochs - 1}: the search's time limit passed")

    def _skip_if_running_elsewhere(self, trial: optuna.Trial, content_hash: str) -> list[optuna.trial.FrozenTrial]:
        """Another worker trains this architecture right now: do not train it twice (``running_twin``).

        The trial is marked feasible in the same write as its claim (or its ``duplicate_of``): one storage round
        trip fewer per trial (on PostgreSQL each is ≈ 5 ms).

        Returns:
            The study's trials as last read (the caller looks for a reusable result in them: one read, not two).

        Raises:
            optuna.TrialPruned: Recorded ``duplicate_of`` that trial.
        """
        deadline = time.monotonic() + 30.0  # a twin killed while deciding does not block this trial for long
        while True:
            trials = trial.study.get_trials(deepcopy=False)
            twin, undecided = running_twin(trials, trial.number, content_hash)
            if twin is not None:
                record_duplicate(trial, twin)
                raise optuna.TrialPruned(f"architecture already running in trial {twin}")
            if not undecided or time.monotonic() > deadline:
                record_claim(trial)
                return trials
            time.sleep(0.05)

    def evaluator_px(self, spec: ArchSpec) -> int | None:
        """The resolution (px) the evaluator scores ``spec`` at, or None for a stand-in scorer."""
        px = self.evaluator.resolution_for(spec)
        return None if px is None else int(px)

    def _finish(
        self,
        trial: optuna.Trial,
        violations: Mapping[str, float],
        value: float,
        cost: CostReport,
        *,
        infeasible: str | None = None,
    ) -> float | tuple[float, float]:
        # Constraints are set last: a trial killed mid-training carries none into its retry.
        for name, violation in violations.items():
            trial.set_constraint(name, violation)
        if infeasible is not None and not self.multi_objective:
            # Stored PRUNED with its constraint values, not COMPLETE at −inf: TPE reads a pruned trial's
            # constraints first (it is ranked by violation exactly as before), and Optuna's plots and
            # optuna-dashboard are not stretched by an infinite value. NSGA-II keeps COMPLETE (its population
            # holds complete trials only).
            raise optuna.TrialPruned(infeasible)
        return (value, float(cost.macs)) if self.multi_objective else value

    def _check_time(self, trial: optuna.Trial, spec: ArchSpec) -> None:
        """Before the first costly trial of a timed search: do not start what cannot finish one epoch in time.

        Raises:
            optuna.TrialPruned: Not even one proxy epoch fits the time left; ``not_started`` says why and the
                search stops (the same command with a larger ``--timeout`` resumes and retries this trial).
        """
        if self.deadline is None or self.estimated:
            return
        self.estimated = True
        measured = self.evaluator.estimate_seconds(spec)
        if measured is None:
            return
        epoch_s, total_s = measured
        left = self.deadline - time.monotonic()
        record_estimate(trial, total_s)
        if self.on_note is not None:
            self.on_note(
                f"trial #{trial.number}: one proxy epoch takes ≈{epoch_s:.0f} s here (timed on a few steps), the "
                f"recipe ≈{total_s:.0f} s; {max(left, 0):.0f} s of the time limit are left"
            )
        if epoch_s <= left:
            return
        self.not_started = (
            f"the first trial would not finish one proxy epoch within the time limit: one epoch of this "
            f"architecture takes ≈{epoch_s:.0f} s here (measured), the whole recipe ≈{total_s:.0f} s, and "
            f"{max(left, 0):.0f} s are left; use --timeout {int(total_s * 1.2) + 1} or more for a complete "
            f"trial (≥ {int(epoch_s * 1.2) + 1} for a partial one), or fewer --epochs / --images-per-epoch"
        )
        record_stopped(trial, "time limit (not started)")
        trial.study.stop()
        raise optuna.TrialPruned(self.not_started)

    def _evaluate(self, trial: optuna.Trial, spec: ArchSpec) -> tuple[Evaluation, int | None]:
        """Score ``spec``; report each epoch to the pruner; stop at the search's time limit.

        Returns:
            The evaluation, and the number of epochs it ran when the time limit stopped it (None: complete).
        """
        from nasgen.train import StopTraining

        start = time.perf_counter()
        last: list[tuple[int, float]] = []

        def on_epoch(epoch: int, val_top1: float) -> None:
            if self.multi_objective or not math.isfinite(val_top1):
                return
            last[:] = [(epoch, val_top1)]
            trial.report(val_top1, epoch)
            if self.deadline is not None and time.monotonic() > self.deadline and epoch < self.last_epoch:
                # The search's time limit passed mid-trial: stop after this epoch, keeping its score (and, from a
                # trainer, its weights) as a partial result.
                raise StopTraining(f"epoch {epoch}: the search's time limit passed")
            if trial.should_prune():
                record_pruned_at(trial, epoch)
                raise optuna.TrialPruned(f"epoch {epoch}: val top-1 {val_top1:.4f} below the pruner's threshold")

        try:
            evaluation = self.evaluator(spec, on_epoch)
        except StopTraining:  # an evaluator without a trainer let it through: the score of the last epoch only
            epoch, value = last[0]
            evaluation = Evaluation(val_top1=value, epochs=epoch + 1, train_seconds=time.perf_counter() - start)
            return evaluation, epoch + 1
        except KeyboardInterrupt:
            record_interrupted(trial)
            raise
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            record_error(trial, f"{type(exc).__name__}: {exc}")
            raise
        stopped = bool(last) and last[0][0] < self.last_epoch and evaluation.epochs < self.evaluator.epochs
        return evaluation, (evaluation.epochs if stopped else None)

    def _save_weights(
        self, trial: optuna.Trial, evaluation: Evaluation, cost: CostReport, *, reward: float | None = None,
        partial: bool = False,
    ) -> None:
        """Keep the trained weights when this trial ranks first among the scored trials so far, by the
        leaderboard's own order (:func:`~nasgen.runs.rank_key`: complete before partial, the score, fewer MACs,
        the earlier trial), so that whatever ``best.yaml`` names has its weights — ties included. The outputs
        delete every other trial's weights."""
        if evaluation.state_dict is None:
            return
        mine = TrialRecord(number=trial.number, state="partial" if partial else "complete",
                           val_top1=evaluation.val_top1, macs=cost.macs, reward=reward)  # fmt: skip
        others = [r for r in Run(trial.study).records() if r.scored and r.number != trial.number]
        if others and rank_key(min(others, key=rank_key)) < rank_key(mine):
            return
        from safetensors.torch import save_file

        config = evaluation.data_config  # the proxy's normalization and size, which exports read back
        metadata = {"format": "pt", **config.metadata()} if config is not None else None
        path = RunDir(self.out).trial_weights(trial.number)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(evaluation.state_dict, str(path), metadata)
