"""Live progress of a search (rich): trial i/N, the architecture being evaluated, the best so far, ETA.

On a terminal the display is a ``rich.live.Live`` panel redrawn in place; elsewhere (logs, CI, tests) one
line is printed per finished trial. The same object is the Optuna callback that stops a search in time.
"""

from __future__ import annotations

import time
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.live import Live
from rich.table import Table

from nasgen.spec import ArchSpec
from nasgen.units import format_count

__all__ = ["SearchProgress"]


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return (
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else (f"{seconds // 60}:{seconds % 60:02d}")
    )


class SearchProgress:
    """Progress display and time keeper of one ``search`` call.

    Args:
        n_trials: Finished trials the study should reach.
        n_done: Finished trials already in the study (resume).
        timeout: Seconds this call may run, or None.
        console: Where to draw; None draws nothing (the Python API's default).
    """

    def __init__(self, n_trials: int, n_done: int, timeout: float | None, console: Console | None) -> None:
        self.n_trials = n_trials
        self.n_done = n_done
        self.timeout = timeout
        self.console = console
        self.start = time.monotonic()
        self.trial_times: list[float] = []
        self.costly_times: list[float] = []
        self.stopped_for_time = False
        self.current = "—"
        self.best: tuple[float, int] | None = None
        self._trial_start = self.start
        self._live: Live | None = None

    def __enter__(self) -> SearchProgress:
        if self.console is not None and self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=2, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)
            self._live = None

    def trial_started(self, number: int, spec: ArchSpec) -> None:
        """Show the architecture of trial ``number`` (called by the objective after costing)."""
        self._trial_start = time.monotonic()
        self.current = f"#{number} " + " ".join(spec.display())
        if self._live is not None:
            self._live.update(self._render())
        elif self.console is not None:  # logs and pipes: a line per start, so a long first trial is not silent
            self.console.print(
                f"trial #{number} started: {self.current.split(' ', 1)[1]} at {spec.resolution_px} px; "
                f"elapsed {_duration(self.elapsed())}",
                highlight=False,
                soft_wrap=True,
            )

    def eta_seconds(self) -> float | None:
        """Expected seconds until ``n_trials`` finished trials, capped by the timeout; None before a trial."""
        if not self.trial_times:
            return None
        remaining = max(self.n_trials - self.n_done, 0) * sum(self.trial_times) / len(self.trial_times)
        if self.timeout is not None:
            remaining = min(remaining, max(self.timeout - self.elapsed(), 0.0))
        return remaining

    def elapsed(self) -> float:
        """Seconds since this search call started."""
        return time.monotonic() - self.start

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Optuna callback: account for a finished trial, refresh, and stop before the timeout is overrun."""
        # Counted from storage: other workers on a shared study finish trials too.
        self.n_done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
        seconds = time.monotonic() - self._trial_start
        self.trial_times.append(seconds)
        if trial.user_attrs.get("feasible") and "reused_from" not in trial.user_attrs:
            self.costly_times.append(seconds)
        value = trial.user_attrs.get("val_top1")
        evaluated = trial.state == TrialState.COMPLETE and trial.user_attrs.get("feasible") and value is not None
        if evaluated and (self.best is None or value > self.best[0]):
            self.best = (float(value), int(trial.user_attrs["macs"]))
        out_of_time = self.n_done < self.n_trials and self._next_would_overrun()
        if self._live is not None:
            self._live.update(self._render())
        elif self.console is not None:
            self.console.print(self._line(trial, out_of_time), highlight=False, soft_wrap=True)
        if out_of_time:
            self.stopped_for_time = True
            if self.console is not None:
                times = self.costly_times or self.trial_times
                mean = _duration(sum(times) / len(times))
                self.console.print(
                    f"stopping at {self.n_done}/{self.n_trials} trials: another trial (≈{mean}) would overrun the "
                    f"time limit of {_duration(self.timeout or 0)}; run the same command again to continue the "
                    "study, or raise --timeout",
                    highlight=False,
                    soft_wrap=True,
                )
        if self.n_done >= self.n_trials or out_of_time:
            study.stop()

    def _next_would_overrun(self) -> bool:
        # Optuna's own timeout only stops *between* trials; stopping when the mean trial would not fit keeps
        # the wall time of a default run inside its limit.
        times = self.costly_times or self.trial_times
        if self.timeout is None or not times:
            return False
        return self.elapsed() + sum(times) / len(times) > self.timeout

    def _best_text(self) -> str:
        if self.best is None:
            return "—"
        value, macs = self.best
        shown = f"{100 * value:.2f}%" if 0 <= value <= 1 else f"{value:g}"
        return f"{shown} at {format_count(macs)} MACs"

    def _line(self, trial: FrozenTrial, out_of_time: bool = False) -> str:
        attrs = trial.user_attrs
        if attrs.get("feasible") is False:
            outcome = f"infeasible ({attrs.get('infeasible')})"
        elif trial.state == TrialState.COMPLETE:
            outcome = f"val top-1 {attrs.get('val_top1', float('nan')):.4f}" + (
                f" (reused #{attrs['reused_from']})" if "reused_from" in attrs else ""
            )
        else:
            outcome = f"{trial.state.name.lower()}" + (f": {attrs['error']}" if "error" in attrs else "")
        eta = 0.0 if out_of_time else self.eta_seconds()
        return (
            f"trial {self.n_done}/{self.n_trials} #{trial.number}: {outcome}; best {self._best_text()}; "
            f"elapsed {_duration(self.elapsed())}" + (f", ETA {_duration(eta)}" if eta is not None else "")
        )

    def _render(self) -> Any:
        table = Table.grid(padding=(0, 2))
        eta = self.eta_seconds()
        table.add_row("trial", f"{min(self.n_done + 1, self.n_trials)}/{self.n_trials}")
        table.add_row("architecture", self.current)
        table.add_row("best", self._best_text())
        table.add_row("elapsed", _duration(self.elapsed()) + (f"   ETA {_duration(eta)}" if eta is not None else ""))
        return table
