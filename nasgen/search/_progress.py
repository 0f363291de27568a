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

from nasgen.runs import TrialRecord
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


def _score(value: float | None) -> str:
    """A score as the summary table shows it: ``85.30%`` for an accuracy, ``0.731`` for a stand-in score."""
    if value is None:
        return "—"
    return f"{100 * value:.2f}%" if 0 <= value <= 1 else f"{value:g}"


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

    def trial_started(self, number: int, spec: ArchSpec, proxy_px: int | None = None) -> None:
        """Show the architecture of trial ``number`` (called by the objective after costing) and the resolution
        it trains at (``proxy_px``; the architecture's own resolution when None, e.g. a stand-in score)."""
        self._trial_start = time.monotonic()
        self.current = f"#{number} " + " ".join(spec.display())
        if self._live is not None:
            self._live.update(self._render())
        elif self.console is not None:  # logs and pipes: a line per start, so a long first trial is not silent
            self.console.print(
                f"trial #{number} started: {self.current.split(' ', 1)[1]}, {spec.resolution_px} px"
                + (f" (proxy trains at {proxy_px} px)" if proxy_px is not None and proxy_px != spec.resolution_px else "")
                + f"; elapsed {_duration(self.elapsed())}",
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
        record = TrialRecord.from_trial(trial)
        if record.feasible and record.reused_from is None and record.state != "pruned" or record.partial:
            self.costly_times.append(seconds)
        if record.state == "complete" and record.val_top1 is not None:
            if self.best is None or record.val_top1 > self.best[0]:
                self.best = (record.val_top1, int(record.macs or 0))
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
        return f"{_score(value)} at {format_count(macs)} MACs"

    def _line(self, trial: FrozenTrial, out_of_time: bool = False) -> str:
        record = TrialRecord.from_trial(trial)
        at = f" at {record.proxy_px} px" if record.proxy_px is not None else ""
        if record.state == "infeasible":
            outcome = f"infeasible ({record.reason})"
        elif record.state == "complete":
            outcome = f"val top-1 {_score(record.val_top1)}{at}" + (
                f" (reused #{record.reused_from})" if record.reused_from is not None else ""
            )
        elif record.partial:
            outcome = f"partial: val top-1 {_score(record.val_top1)}{at} after {record.epochs} epoch(s) ({record.reason})"
        else:
            outcome = record.state + (f": {record.reason}" if record.reason else "")
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
