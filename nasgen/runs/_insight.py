"""What a report needs from a run beyond its :class:`TrialRecord` s: sampled parameters, trial times,
Optuna's parameter importances and the scaled family — here so that ``nasgen.report`` reads a run through
``nasgen.runs`` alone (no Optuna, cost or plugin imports of its own).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nasgen.runs._reader import Run
from nasgen.runs._record import TrialRecord

__all__ = [
    "MIN_IMPORTANCE_TRIALS", "FamilyMember", "Importances", "param_importances", "scaled_family", "trial_params",
    "trial_times",
]

MIN_IMPORTANCE_TRIALS = 8
"""Scored trials below which importances are not estimated: with fewer, the top 10 % is one trial."""


@dataclass(frozen=True)
class Importances:
    """Parameter importances of a run for validation top-1 (Optuna's PED-ANOVA evaluator).

    Attributes:
        values: ``{label: importance}``, most important first, summing to 1; empty when not estimated.
        n_trials: Distinct scored trials the estimate used.
        evaluator: The evaluator's class name.
        note: Why there are no values (too few trials, no dimension varied), else empty.
    """

    values: dict[str, float]
    n_trials: int
    evaluator: str
    note: str = ""


def trial_params(run: Run) -> dict[int, dict[str, Any]]:
    """``{trial number: {label: value}}``: the space dimensions each trial sampled (Optuna's ``params``)."""
    return {t.number: dict(t.params) for t in run.study.get_trials(deepcopy=False)}


def trial_times(run: Run) -> dict[int, tuple[datetime | None, datetime | None]]:
    """``{trial number: (start, complete)}``; either is None for a trial not started or not finished."""
    return {t.number: (t.datetime_start, t.datetime_complete) for t in run.study.get_trials(deepcopy=False)}


def param_importances(run: Run, *, min_trials: int = MIN_IMPORTANCE_TRIALS) -> Importances:
    """Importances of the sampled dimensions for validation top-1 (Optuna's ``get_param_importances``; the target
    is negated: PED-ANOVA takes lower as better).

    Only complete, scored trials count (infeasible ones score −inf); a reused architecture counts once; the
    dimensions are those every such trial sampled (a removed stage's labels are not sampled) with ≥ 2 values.

    Args:
        run: The run.
        min_trials: Fewest distinct scored trials to estimate from.

    Returns:
        The :class:`Importances` (with a ``note`` instead of values when too few trials or no varied dimension).
    """
    import optuna

    evaluator = _evaluator()
    name = type(evaluator).__name__
    trials = [
        t for t in run.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if _score(t) is not None and TrialRecord.from_trial(t).reused_from is None
    ]
    if len(trials) < min_trials:
        return Importances({}, len(trials), name, f"too few scored trials to estimate importances "
                           f"({len(trials)}; needs at least {min_trials})")
    labels = set.intersection(*(set(t.params) for t in trials))
    varied = sorted(label for label in labels if len({repr(t.params[label]) for t in trials}) > 1)
    if not varied:
        return Importances({}, len(trials), name, "no dimension took two values among the scored trials")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = optuna.importance.get_param_importances(
            _only(run.study, trials), evaluator=evaluator, params=varied, target=lambda t: -(_score(t) or 0.0)
        )
    if not any(values.values()):
        return Importances({}, len(trials), name, "no dimension's values differ between the top 10 % and the rest")
    return Importances({k: float(v) for k, v in values.items()}, len(trials), name)


def _evaluator() -> Any:
    """PED-ANOVA (Watanabe et al., IJCAI 2023): how much each dimension's values among the top 10 % differ from
    those of all trials. Not Optuna's default fANOVA: in Optuna 5 that needs scikit-learn (not a nasgen
    dependency), fits a forest (seconds at 1,000 trials) and asks a different question; this one matches the
    report's top-10 % panel and gives the same answer wherever nasgen is installed."""
    import optuna

    return optuna.importance.PedAnovaImportanceEvaluator()


def _score(trial: Any) -> float | None:
    value = TrialRecord.from_trial(trial).val_top1
    return None if value is None or not math.isfinite(value) else value


def _only(study: Any, trials: list[Any]) -> Any:
    """An in-memory study holding just ``trials`` (the evaluator reads every COMPLETE trial of a study)."""
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created in memory" line
    try:
        copy = optuna.create_study(directions=study.directions, storage=optuna.storages.InMemoryStorage())
    finally:
        optuna.logging.set_verbosity(verbosity)
    copy.add_trials(trials)
    return copy


@dataclass(frozen=True)
class FamilyMember:
    """One compound-scaled member written by ``search(..., scale_phi=...)`` (``scaled/<name>-phi<φ>.yaml``).

    Attributes:
        name: The member's name (``<study>-phi<φ>``).
        phi: φ (EfficientNet §3.3).
        resolution_px: Its input resolution (px).
        params: Trainable parameters.
        macs: Conv + linear MACs at ``resolution_px``, batch 1.
        measured_cost_ratio: ``macs`` over the scaled baseline's (``best.yaml``) MACs; None without it.
        predicted_cost_ratio: ``(α·β²·γ²)^φ`` with the plugin's default coefficients (what the search used);
            None when the compound-scaling plugin is not available.
    """

    name: str
    phi: float
    resolution_px: int
    params: int
    macs: int
    measured_cost_ratio: float | None
    predicted_cost_ratio: float | None


def scaled_family(run: Run) -> list[FamilyMember]:
    """The scaled family in the run directory, by φ; empty when there is none (or no run directory)."""
    import re
    import sys

    from nasgen.cost import count_cost
    from nasgen.spec import load_spec

    files = run.dir
    if files is None or not files.scaled.is_dir():
        return []
    base_file = files.best_yaml
    base_macs = count_cost(load_spec(base_file)).macs if base_file.is_file() else None
    predict = None
    try:
        from nasgen.hooks import load_plugins

        load_plugins()
        predict = getattr(sys.modules.get("nasgen_scaling"), "predicted_cost_ratio", None)
    except Exception:  # noqa: BLE001 -- a broken plugin only leaves the prediction out
        predict = None
    members = []
    for path in files.scaled.glob("*.yaml"):
        match = re.search(r"-phi(\d+(?:\.\d+)?)$", path.stem)
        if match is None:
            continue
        spec = load_spec(path)
        cost = count_cost(spec)
        phi = float(match[1])
        members.append(FamilyMember(
            name=spec.name or path.stem, phi=phi, resolution_px=spec.resolution_px, params=cost.params,
            macs=cost.macs, measured_cost_ratio=None if not base_macs else cost.macs / base_macs,
            predicted_cost_ratio=None if predict is None else float(predict(phi)),
        ))
    return sorted(members, key=lambda m: m.phi)
