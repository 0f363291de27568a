"""Helpers of one search run: naming, enqueueing known architectures, and stopping on repeated failure."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasgen.errors import SearchError
from nasgen.search._record import TrialRecord, enqueue_attrs, enqueued_labels
from nasgen.search._suggest import suggestable_params
from nasgen.spec import ArchSpec, load_spec

__all__ = [
    "MAX_CONSECUTIVE_FAILURES",
    "FailureGuard",
    "enqueue_architectures",
    "plugin_trial_end",
    "resolve_enqueue",
    "space_name",
]

MAX_CONSECUTIVE_FAILURES = 5


def space_name(space: str | Path) -> str:
    """A short name for a space given by name or path (``efficientnet-v1``, ``my_space`` for ``my_space.yaml``)."""
    text = str(space)
    return Path(text).stem if text.endswith((".yaml", ".yml")) else Path(text).name


def _label(source: str | Path | ArchSpec) -> str:
    if isinstance(source, ArchSpec):
        return source.name or source.short_hash()
    return str(source)


def resolve_enqueue(space: Any, sources: Iterable[str | Path | ArchSpec]) -> list[tuple[str, dict[str, Any]]]:
    """Load each architecture to enqueue and turn it into the space's Optuna parameters.

    Args:
        space: The search space; each architecture must lie in it.
        sources: Architecture names (``efficientnet-b0``), YAML paths or specs.

    Returns:
        ``(label, params)`` per architecture, in order.

    Raises:
        SpecError: Unknown name or malformed file.
        SearchError: An architecture that the space does not contain.
    """
    resolved = []
    for source in sources:
        label = _label(source)
        spec = load_spec(source)
        if not space.contains(spec):
            raise SearchError(f"enqueue: architecture {label!r} is not in the search space; it cannot be a trial")
        resolved.append((label, suggestable_params(space, space.params_of(spec))))
    return resolved


def enqueue_architectures(study: optuna.Study, known: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Enqueue each ``(label, params)`` as a trial (user attr ``enqueued``), once per study, also on resume.

    Returns:
        Labels enqueued now (those already in the study are skipped).
    """
    already = enqueued_labels(study.get_trials(deepcopy=False))
    enqueued = []
    for label, params in known:
        if label not in already:
            study.enqueue_trial(params, user_attrs=enqueue_attrs(label))
            enqueued.append(label)
    return enqueued


class FailureGuard:
    """Optuna callback that stops a search after ``limit`` failed trials in a row (a systematic error).

    Args:
        limit: Consecutive failures tolerated before stopping.
    """

    def __init__(self, limit: int = MAX_CONSECUTIVE_FAILURES) -> None:
        self.limit = limit
        self.streak = 0
        self.last_error = ""

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state != TrialState.FAIL:
            self.streak = 0
            return
        self.streak += 1
        self.last_error = str(trial.user_attrs.get("error") or trial.system_attrs.get("fail_reason", "unknown"))
        if self.streak >= self.limit:
            study.stop()

    def raise_if_tripped(self) -> None:
        """Raise after the study stopped because of repeated failures.

        Raises:
            SearchError: ``limit`` trials in a row failed; names the last reason.
        """
        if self.streak >= self.limit:
            raise SearchError(f"{self.streak} trials in a row failed; the last: {self.last_error}")


def plugin_trial_end(study: optuna.Study, trial: FrozenTrial) -> None:
    """Optuna callback: ``nasgen.hooks.trial_end(number, spec, record)`` for plugins' search callbacks.

    ``record`` is ``{"state": "complete" | "partial" | "pruned" | "infeasible" | "failed" | "interrupted",
    "macs", "params", "val_top1"}`` (None where unknown). Trials that failed before their architecture was
    known call nothing.

    Raises:
        PluginError: A plugin's callback raised.
    """
    from nasgen import hooks

    if not hooks.load_plugins().implements("nasgen_trial_end"):
        return  # parsing the trial's spec costs ≈ 5 ms, per trial, for nobody
    record = TrialRecord.from_trial(trial)
    if record.spec_yaml is None:
        return
    data = {"state": record.state, "macs": record.macs, "params": record.params, "val_top1": record.val_top1}
    hooks.trial_end(trial.number, record.spec(), data)
