"""The cost limits of a search, checked on every sample before a model exists; a random draw within them."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nasgen.cost import CostReport
from nasgen.units import format_bytes, format_count

__all__ = ["Limits", "feasible_draw"]


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


def feasible_draw(
    space: Any, limits: Limits, seed: int, *, freeze_kwargs: Mapping[str, Any] | None = None, max_draws: int = 200
) -> tuple[dict[str, Any], int, str]:
    """A random architecture of ``space`` within ``limits``, as the Optuna params a trial would suggest.

    Rejection sampling from ``space.sample_params`` (uniform per dimension over the feasible region) for up to
    ``max_draws`` draws; when none is feasible (a region too small to hit), a walk from the last draw towards the
    space's smallest architecture (``space.macs_extremes()``), one dimension at a time in a random order, stopping
    at the first feasible point. Analytic cost only (MACs, params, activation memory at batch 1; ≈ 3 ms a draw).

    Args:
        space: A ``nasgen.space.SearchSpace``.
        limits: The limits to stay within.
        seed: Seed of the private RNG (equal seeds give equal draws).
        freeze_kwargs: Passed to ``space.freeze`` (the data's ``num_classes`` / ``in_channels``).
        max_draws: Rejection draws before the walk.

    Returns:
        ``(params, draws, method)``: the params (active dimensions only), the number of architectures costed, and
        ``"rejection"`` or ``"shrink"``; the smallest architecture itself (method ``"shrink"``) when even it does
        not fit (the search refuses such a budget before it starts).
    """
    from nasgen.cost import count_cost
    from nasgen.search.objective._suggest import suggestable_params

    kwargs = dict(freeze_kwargs or {})
    rng = random.Random(seed)

    def fits(params: dict[str, Any]) -> bool:
        cost = count_cost(space.freeze(suggestable_params(space, params), **kwargs))
        return not any(v > 0 for v in limits.violations(cost).values())

    params: dict[str, Any] = {}
    for draw in range(1, max_draws + 1):
        params = space.sample_params(rng)
        if fits(params):
            return suggestable_params(space, params), draw, "rejection"
    smallest = space.params_of(space.macs_extremes(**kwargs)[0])
    walk = {**smallest, **params}
    labels = sorted(set(smallest) | set(walk))
    rng.shuffle(labels)
    draws = max_draws
    for label in labels:
        if label not in smallest:  # a dimension the smallest architecture does not use (a stage it removes)
            continue
        walk[label] = smallest[label]
        draws += 1
        if fits(walk):
            return suggestable_params(space, walk), draws, "shrink"
    return suggestable_params(space, smallest), draws, "shrink"
