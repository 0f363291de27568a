"""Running the trials of one search process: the loop, enqueueing known architectures, stopping on repeated
failure, the plugins' trial hooks and a quiet Optuna."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasgen.errors import NasgenError, SearchError
from nasgen.runs import Run, TrialRecord, enqueue_attrs, enqueued_labels, write_outputs
from nasgen.search._progress import SearchProgress
from nasgen.search._study import count_finished
from nasgen.search.objective import Objective, suggestable_params
from nasgen.spec import ArchSpec, load_spec

__all__ = [
    "MAX_CONSECUTIVE_FAILURES",
    "TRIAL_ERRORS",
    "FailureGuard",
    "OnComplete",
    "complete",
    "enqueue_architectures",
    "plugin_trial_end",
    "quiet_optuna",
    "resolve_enqueue",
    "run_trials",
    "space_name",
]

# What a trial may raise and still leave the search going (recorded as a failed trial with its reason).
TRIAL_ERRORS = (RuntimeError, ArithmeticError, MemoryError, ValueError, NasgenError)

OnComplete = Callable[[Run], None]
"""``on_complete(run)``: called once a search (or confirmation) has written its outputs."""

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


def run_trials(
    study: optuna.Study,
    objective: Objective,
    n_trials: int,
    timeout: float | None,
    callbacks: list[Any],
    console: Any,
    out_dir: Path,
) -> None:
    """Run trials in this process until the study holds ``n_trials`` finished ones or ``timeout`` s pass; the
    outputs are written however it ends (Ctrl-C included).

    Raises:
        SearchError: :data:`MAX_CONSECUTIVE_FAILURES` trials in a row failed.
    """
    done = count_finished(study)
    if done >= n_trials:
        return
    guard = FailureGuard()
    try:
        with SearchProgress(n_trials, done, timeout, console) as progress:
            objective.on_start = _started(progress, objective)
            if console is not None:
                objective.on_note = lambda text: console.print(text, highlight=False, soft_wrap=True, markup=False)
            objective.deadline = None if timeout is None else time.monotonic() + timeout
            study.optimize(
                objective,
                timeout=timeout,
                catch=TRIAL_ERRORS,
                callbacks=[progress, guard, plugin_trial_end, *callbacks],
            )
    finally:
        write_outputs(study, out_dir)
    guard.raise_if_tripped()


def _started(progress: SearchProgress, objective: Objective) -> Callable[[int, ArchSpec], None]:
    from nasgen import hooks

    def started(number: int, spec: ArchSpec) -> None:
        progress.trial_started(number, spec, objective.evaluator_px(spec))
        hooks.trial_start(number, spec)

    return started


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna logs every trial at INFO and a failed trial's traceback at WARNING; the progress display and the
    trial's recorded failure reason replace both (Ctrl-C then prints one line). Restored afterwards."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def complete(run: Run, out: Path | None, console: Any, on_complete: Iterable[OnComplete] = ()) -> None:
    """The end of a run: the plugins' ``nasgen_run_complete`` hooks (the report), then the caller's callbacks.

    A failing hook is one warning line, never an error, so that the outputs it follows are never lost to it.
    """
    from nasgen import hooks
    from nasgen.errors import PluginError

    try:
        hooks.run_complete(run, out, console)
    except PluginError as exc:
        message = f"warning: {exc}"
        if console is not None:
            console.print(message, highlight=False, markup=False, soft_wrap=True)
        else:
            import sys

            print(message, file=sys.stderr)
    for callback in on_complete:
        callback(run)
