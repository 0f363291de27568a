"""What share of a space fits a budget: a sampled estimate with its 95 % interval (Wilson 1927)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

__all__ = ["BudgetShare", "budget_share", "wilson_interval"]

DEFAULT_SHARE_SAMPLES = 1000
"""Samples of the estimate: its 95 % interval is at most ±3.1 points wide at 1,000."""


@dataclass(frozen=True)
class BudgetShare:
    """The share of a space's samples within a MACs budget.

    Attributes:
        fraction: Feasible samples / samples.
        low: Lower end of the 95 % Wilson score interval of the fraction.
        high: Upper end of that interval.
        samples: Architectures drawn (uniformly per dimension, as a random sampler draws them).
        feasible: How many fit the budget.
        budget_macs: The budget.
    """

    fraction: float
    low: float
    high: float
    samples: int
    feasible: int
    budget_macs: int

    def describe(self) -> str:
        """``42.3 % of 1,000 random samples (95 % interval 39.3–45.4 %)``."""
        return (
            f"{100 * self.fraction:.1f} % of {self.samples:,} random samples (95 % interval "
            f"{100 * self.low:.1f}–{100 * self.high:.1f} %)"
        )


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (Wilson, JASA 1927): inside [0, 1] by construction and
    honest at 0 or ``trials`` successes, where the normal approximation collapses to a point.

    Raises:
        ValueError: ``trials`` < 1 or ``successes`` outside [0, trials].
    """
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"wilson_interval: need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}")
    p = successes / trials
    denominator = 1 + z * z / trials
    center = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def budget_share(
    space: Any, budget_macs: int, *, samples: int = DEFAULT_SHARE_SAMPLES, seed: int = 0, **freeze_kwargs: Any
) -> BudgetShare:
    """Estimate the share of ``space`` within ``budget_macs`` MACs by costing ``samples`` random architectures
    (uniform per dimension, :meth:`SearchSpace.sample_params`; analytic cost, no model built).

    Args:
        space: The :class:`~nasgen.space.SearchSpace`.
        budget_macs: The MACs budget (conv + linear MACs at each architecture's resolution, batch 1).
        samples: How many architectures to draw (≈ 3 ms each on a 2-core CPU).
        seed: Seed of the private RNG (the global one is never touched).
        **freeze_kwargs: ``num_classes`` / ``in_channels`` as the search adapts architectures to its data.

    Raises:
        ValueError: ``samples`` < 1.
    """
    from nasgen.cost import count_cost

    if samples < 1:
        raise ValueError(f"budget_share: samples must be >= 1, got {samples}")
    rng = random.Random(seed)
    feasible = sum(
        count_cost(space.freeze(space.sample_params(rng), **freeze_kwargs)).macs <= budget_macs for _ in range(samples)
    )
    low, high = wilson_interval(feasible, samples)
    return BudgetShare(feasible / samples, low, high, samples, feasible, int(budget_macs))
