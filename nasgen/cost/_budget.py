"""A wall-time budget for filling latency tables, its progress reports, and the estimate of a part not timed.

A first ``nasgen profile ARCH --latency`` on a fresh table times every distinct part of the network twice over
(inference, training step) and then the whole network; on a 2-core CPU that is minutes for EfficientNetV2-S.
:class:`TimingBudget` bounds it (issue 30): :func:`~nasgen.cost.predict_latency` stops timing new parts once
the budget is spent and estimates the rest by :func:`estimate_ms` — the parts timed so far, in milliseconds
per MAC, from the same kind of part where there is one (MACs are what the table cannot measure for free, and
within a kind and mode they track time well enough for a bound; an estimate is always named as such).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from nasgen.errors import SpecError

__all__ = ["TimingBudget", "TimingProgress", "estimate_ms"]


@dataclass(frozen=True)
class TimingProgress:
    """One progress report, sent before each part is timed.

    Attributes:
        mode: ``infer`` or ``train``.
        batch: Images per call.
        part: The part about to be timed (``stages.3.1``), or ``""`` when the prediction is done.
        done: Parts of this prediction timed so far (distinct table entries).
        total: Parts this prediction has to time (distinct entries the table lacked).
        elapsed_s: Wall time since the budget started (s).
        eta_s: Estimated time left for this prediction's parts (s), ``None`` before the first part is timed.
        budget_s: The budget (s), ``None`` for none.
    """

    mode: str
    batch: int
    part: str
    done: int
    total: int
    elapsed_s: float
    eta_s: float | None
    budget_s: float | None


class TimingBudget:
    """Wall time (s) that the timings of one or more predictions may take, and where their progress goes.

    Args:
        seconds: The budget (s); ``None`` = no limit (progress only).
        on_progress: Called with a :class:`TimingProgress` before each part is timed and once after the last.
        clock: A monotonic clock in seconds (tests pass a fake one).

    Attributes:
        timed: Parts timed under this budget.
        estimated: Parts estimated because the budget was spent, as ``"mode part"`` strings.

    Raises:
        SpecError: ``seconds`` is not a positive number.
    """

    def __init__(self, seconds: float | None = None, *, on_progress: Callable[[TimingProgress], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if seconds is not None and (isinstance(seconds, bool) or not math.isfinite(seconds) or seconds <= 0):
            raise SpecError(f"must be a positive number of seconds, got {seconds!r}", path="latency_budget",
                            value=seconds)
        self.seconds, self.on_progress, self.clock = seconds, on_progress, clock
        self.started = clock()
        self.timed = 0
        self.estimated: list[str] = []

    def elapsed_s(self) -> float:
        """Wall time since the budget started (s)."""
        return self.clock() - self.started

    def remaining_s(self) -> float:
        """Wall time left (s); infinite without a budget, never below 0."""
        return math.inf if self.seconds is None else max(0.0, self.seconds - self.elapsed_s())

    def fits(self, seconds: float | None) -> bool:
        """Whether work predicted to take ``seconds`` fits in what is left (unknown work fits while any is left)."""
        left = self.remaining_s()
        return left > 0 and (seconds is None or seconds <= left)

    def report(self, progress: TimingProgress) -> None:
        """Send ``progress`` to ``on_progress``, if any."""
        if self.on_progress is not None:
            self.on_progress(progress)


def estimate_ms(macs: int, group: str, timed: list[tuple[str, int, float]]) -> float | None:
    """A part's time (ms) from the parts timed so far: ``macs`` × their ms per MAC, over those of the same
    ``group`` (role and kind, e.g. ``block:mbconv``) when there are any, else over all; ``None`` without any.

    Args:
        macs: The part's MACs at batch 1 (a part without MACs gets the group's mean time instead).
        group: The part's group.
        timed: ``(group, MACs, ms)`` of the parts timed (in the same mode and batch).
    """
    same = [(m, ms) for g, m, ms in timed if g == group]
    for pool in (same, [(m, ms) for _, m, ms in timed]):
        total_macs, total_ms = sum(m for m, _ in pool), sum(ms for _, ms in pool)
        if pool and total_macs > 0 and macs > 0:
            return macs * total_ms / total_macs
        if pool:
            return total_ms / len(pool)
    return None
