"""The cost limits of a search, checked on every sample before a model exists."""

from __future__ import annotations

from dataclasses import dataclass

from nasgen.cost import CostReport
from nasgen.units import format_bytes, format_count

__all__ = ["Limits"]


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
