"""The Optuna objective: suggest → freeze → cost → (infeasible | reused | evaluated) → recorded.

Budget before build (DESIGN.md): every sample is costed analytically before a model exists. An
over-budget sample is *completed* with the worst objective value (``-inf`` accuracy; its MACs as the second
objective under NSGA-II) and per-trial constraint values set through ``Trial.set_constraint`` — Optuna 5's
constraint API, which TPE (Watanabe 2023, §3.4: infeasible trials go to the "bad" density, ranked by
violation) and NSGA-II (Deb et al. 2002, §VI constrained domination) both learn from. It is never built or
trained. A *pruned* or *failed* state would hide it from NSGA-II's population and from TPE's
infeasible ranking, which is why it is COMPLETE; the user attribute ``feasible = False`` and the
``infeasible`` reason make it visible in the study, and the leaderboard lists feasible trials only.

Constraint values are relative excesses, ``cost / limit − 1`` (> 0 = violated), so MACs, params and
bytes add up on one scale when a sampler sums violations.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from nasgen.cost import CostReport, count_cost
from nasgen.search._evaluate import Evaluation, Evaluator
from nasgen.search._suggest import suggest_params
from nasgen.spec import ArchSpec, dump_yaml
from nasgen.units import format_bytes, format_count

__all__ = ["WORST_VALUE", "Limits", "Objective"]

WORST_VALUE = float("-inf")
"""Objective value recorded for infeasible trials (maximization)."""

TrialHook = Callable[[int, ArchSpec], None]


@dataclass(frozen=True)
class Limits:
    """Cost limits of a search: MACs budget (required), params and activation memory (optional)."""

    budget_macs: int
    max_params: int | None = None
    max_memory: int | None = None

    def violations(self, cost: CostReport) -> dict[str, float]:
        """Constraint values ``{name: cost/limit − 1}``; a value > 0 means the limit is exceeded."""
        values = {"macs": cost.macs / self.budget_macs - 1.0}
        if self.max_params is not None:
            values["params"] = cost.params / self.max_params - 1.0
        if self.max_memory is not None:
            values["activation_bytes"] = cost.activation_bytes / self.max_memory - 1.0
        return values

    def reason(self, cost: CostReport) -> str:
        """Why ``cost`` is infeasible, e.g. ``"MACs 512.3M > budget 400.0M"`` (empty when feasible)."""
        parts = []
        if cost.macs > self.budget_macs:
            parts.append(f"MACs {format_count(cost.macs)} > budget {format_count(self.budget_macs)}")
        if self.max_params is not None and cost.params > self.max_params:
            parts.append(f"params {format_count(cost.params)} > max {format_count(self.max_params)}")
        if self.max_memory is not None and cost.activation_bytes > self.max_memory:
            parts.append(
                f"activation memory {format_bytes(cost.activation_bytes)} > max {format_bytes(self.max_memory)}"
            )
        return "; ".join(parts)


class Objective:
    """Callable objective for ``study.optimize``; one instance per search.

    Args:
        space: The search space (``nasgen.space.SearchSpace``).
        limits: Cost limits checked before any model is built.
        evaluator: Scores feasible architectures (proxy training or a stand-in scorer).
        freeze_kwargs: Passed to ``space.freeze`` (the data's ``num_classes`` / ``in_channels``).
        multi_objective: NSGA-II mode, returning ``(val_top1, macs)``.
        seed: Training seed, recorded on every trial.
        out: Run directory; ``trials/<number>/arch.yaml`` is written there.
        on_start: Called with ``(trial number, spec)`` before evaluation (progress display, hooks).

    Attributes:
        deadline: ``time.monotonic()`` after which a training trial is pruned at its next epoch end
            (single-objective only; never after its last epoch, whose result is complete), so a search ends
            near its timeout even when one trial is long.
        last_epoch: The proxy's last epoch (0-based).
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
        self.deadline: float | None = None
        self.last_epoch = int(getattr(getattr(evaluator, "config", None), "epochs", 1)) - 1

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        params = suggest_params(trial, self.space)
        spec = self.space.freeze(params, **self.freeze_kwargs)
        cost = count_cost(spec)
        _record_spec(trial, spec, cost, params, self.seed, self.out)
        if self.on_start is not None:
            self.on_start(trial.number, spec)
        violations = self.limits.violations(cost)
        if any(value > 0 for value in violations.values()):
            trial.set_user_attr("feasible", False)
            trial.set_user_attr("infeasible", self.limits.reason(cost))
            return self._finish(trial, violations, WORST_VALUE, cost)
        trial.set_user_attr("feasible", True)
        evaluation = _reuse(trial, spec.content_hash()) or self._evaluate(trial, spec)
        _record_evaluation(trial, evaluation, self.out)
        return self._finish(trial, violations, evaluation.val_top1, cost)

    def _finish(
        self, trial: optuna.Trial, violations: Mapping[str, float], value: float, cost: CostReport
    ) -> float | tuple[float, float]:
        # Constraints are set last: a trial killed mid-training carries none into its retry.
        for name, violation in violations.items():
            trial.set_constraint(name, violation)
        return (value, float(cost.macs)) if self.multi_objective else value

    def _evaluate(self, trial: optuna.Trial, spec: ArchSpec) -> Evaluation:
        def on_epoch(epoch: int, val_top1: float) -> None:
            if self.multi_objective or not math.isfinite(val_top1):
                return
            trial.report(val_top1, epoch)
            if self.deadline is not None and time.monotonic() > self.deadline and epoch < self.last_epoch:
                # The search's time limit passed mid-trial: stop after this epoch instead of overrunning.
                trial.set_user_attr("pruned_at_epoch", epoch)
                trial.set_user_attr("stopped", "time limit")
                raise optuna.TrialPruned(f"epoch {epoch}: the search's time limit passed")
            if trial.should_prune():
                trial.set_user_attr("pruned_at_epoch", epoch)
                raise optuna.TrialPruned(f"epoch {epoch}: val top-1 {val_top1:.4f} below the pruner's threshold")

        try:
            return self.evaluator(spec, on_epoch)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
            raise


def _record_spec(
    trial: optuna.Trial, spec: ArchSpec, cost: CostReport, params: Mapping[str, Any], seed: int, out: Path
) -> None:
    text = dump_yaml(spec)
    attrs = {
        "spec_yaml": text,
        "hash": spec.content_hash(),
        "display": " ".join(spec.display()),
        "params": int(cost.params),
        "macs": int(cost.macs),
        "activation_bytes": int(cost.activation_bytes),
        "seed": seed,
    }
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    folder = out / "trials" / str(trial.number)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arch.yaml").write_text(text, encoding="utf-8")


def _reuse(trial: optuna.Trial, content_hash: str) -> Evaluation | None:
    """The result of an earlier complete, evaluated trial of the same architecture, if any."""
    done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    for previous in done:
        attrs = previous.user_attrs
        if attrs.get("hash") == content_hash and attrs.get("feasible") and "val_top1" in attrs:
            trial.set_user_attr("reused_from", attrs.get("reused_from", previous.number))
            return Evaluation(
                val_top1=float(attrs["val_top1"]), epochs=int(attrs.get("epochs", 0)), device=str(attrs.get("device"))
            )
    return None


def _record_evaluation(trial: optuna.Trial, evaluation: Evaluation, out: Path) -> None:
    trial.set_user_attr("val_top1", evaluation.val_top1)
    trial.set_user_attr("epochs", evaluation.epochs)
    trial.set_user_attr("train_seconds", evaluation.train_seconds)
    trial.set_user_attr("device", evaluation.device)
    if evaluation.state_dict is not None and evaluation.val_top1 > _best_so_far(trial):
        from safetensors.torch import save_file

        config = evaluation.data_config  # the proxy's normalization and size, which exports read back
        metadata = {"format": "pt", **config.metadata()} if config is not None else None
        save_file(evaluation.state_dict, str(out / "trials" / str(trial.number) / "weights.safetensors"), metadata)


def _best_so_far(trial: optuna.Trial) -> float:
    done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    scores = [t.user_attrs["val_top1"] for t in done if t.user_attrs.get("feasible") and "val_top1" in t.user_attrs]
    return max(scores, default=float("-inf"))
