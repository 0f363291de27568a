"""Heartbeats of running trials on a shared storage: how often a trial beats, when it is stale, and its retry."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial

from nasgen.config import DEFAULT_HEARTBEAT_GRACE_S, DEFAULT_HEARTBEAT_INTERVAL_S
from nasgen.errors import SearchError
from nasgen.runs._writes import retry_allowed, retry_attrs

__all__ = ["Heartbeat", "retry_stale_trial"]


@dataclass(frozen=True)
class Heartbeat:
    """How often a running trial beats, and how long without a beat makes it stale.

    Attributes:
        interval_s: Seconds between beats (≥ 1).
        grace_s: Seconds without a beat after which another worker fails the trial (> ``interval_s``).

    Raises:
        SearchError: ``interval_s`` < 1 or ``grace_s`` ≤ ``interval_s``.
    """

    interval_s: int = DEFAULT_HEARTBEAT_INTERVAL_S
    grace_s: int = DEFAULT_HEARTBEAT_GRACE_S

    def __post_init__(self) -> None:
        if isinstance(self.interval_s, bool) or not isinstance(self.interval_s, int) or self.interval_s < 1:
            raise SearchError(f"heartbeat interval: must be a whole number of seconds ≥ 1, got {self.interval_s!r}")
        if isinstance(self.grace_s, bool) or not isinstance(self.grace_s, int) or self.grace_s <= self.interval_s:
            raise SearchError(
                f"heartbeat grace: must be a whole number of seconds above the interval ({self.interval_s} s), "
                f"got {self.grace_s!r}"
            )

    @property
    def reason(self) -> str:
        """The failure reason recorded on a stale trial."""
        return (
            f"no heartbeat for more than {self.grace_s} s (worker killed, hung or cut off); failed by "
            f"{socket.gethostname()}"
        )


def retry_stale_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Heartbeat callback: enqueue a failed stale trial's parameters again, once (never a retry's retry).

    A trial that fails deterministically (out of memory, NaN) raises inside the objective and is recorded
    ``failed``, not stale, so it is not retried at all.
    """
    trials = study.get_trials(deepcopy=False)
    if retry_allowed(trial, trials):
        study.enqueue_trial(trial.params, user_attrs=retry_attrs(trial))
