"""Coefficient search (EfficientNet §3.3, step 1): fix φ = 1, grid-search α, β, γ under α·β²·γ² ≈ 2.

Each candidate scales the baseline once and is scored by a scorer (default: nasgen's proxy trainer on
the embedded data); candidates whose scaled specs are identical after rounding are scored once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasgen.cost import count_cost
from nasgen.errors import SpecError
from nasgen.spec import ArchSpec, load_spec
from nasgen_scaling._rounding import check_at_least, check_non_negative
from nasgen_scaling._scale import scale

__all__ = ["CoefficientCandidate", "CoefficientSearch", "coefficient_grid", "proxy_scorer", "search_coefficients"]

Scorer = Callable[[ArchSpec], float]
"""``scorer(spec) -> score``, higher is better (e.g. proxy validation top-1)."""


@dataclass(frozen=True)
class CoefficientCandidate:
    """One grid point, scaled and scored.

    Attributes:
        alpha: Depth coefficient α.
        beta: Width coefficient β.
        gamma: Resolution coefficient γ.
        cost_product: α·β²·γ², the predicted MACs ratio at φ = 1.
        spec: The baseline scaled by φ with these coefficients.
        macs: Its conv + linear MACs.
        params: Its trainable parameters.
        measured_cost_ratio: ``macs`` over the baseline's MACs.
        score: The scorer's value (higher is better).
    """

    alpha: float
    beta: float
    gamma: float
    cost_product: float
    spec: ArchSpec
    macs: int
    params: int
    measured_cost_ratio: float
    score: float


@dataclass(frozen=True)
class CoefficientSearch:
    """The scored grid, best first, and the winner.

    Attributes:
        candidates: Every candidate, sorted by score (descending), then MACs (ascending).
        best: ``candidates[0]``.
        baseline_macs: MACs of the baseline.
    """

    candidates: tuple[CoefficientCandidate, ...]
    best: CoefficientCandidate
    baseline_macs: int


def coefficient_grid(
    step: float = 0.1, max_value: float = 1.5, target: float = 2.0, tolerance: float = 0.1
) -> list[tuple[float, float, float]]:
    """All (α, β, γ) on a grid from 1 to ``max_value`` with ``|α·β²·γ² − target| ≤ tolerance``.

    Args:
        step: Grid step (> 0).
        max_value: Largest coefficient tried (≥ 1).
        target: The cost product aimed at (2: each φ step doubles the MACs).
        tolerance: Accepted distance of α·β²·γ² from ``target`` (≥ 0).

    Returns:
        Grid points in ascending (α, β, γ) order, values rounded to 6 decimals.

    Raises:
        SpecError: A bad argument, naming it; or no grid point meets the constraint.

    Example:
        >>> (1.2, 1.1, 1.15) in coefficient_grid(0.05, 1.4, tolerance=0.1)
        True
    """
    if check_non_negative(step, "step") == 0:
        raise SpecError(f"must be > 0, got {step!r}", path="step", value=step)
    max_value = check_at_least(max_value, "max_value")
    target = check_at_least(target, "target")
    tolerance = check_non_negative(tolerance, "tolerance")
    values = [round(1 + i * step, 6) for i in range(int(math.floor((max_value - 1) / step + 1e-9)) + 1)]
    grid = [
        (a, b, g)
        for a in values
        for b in values
        for g in values
        if abs(a * b * b * g * g - target) <= tolerance + 1e-12
    ]
    if not grid:
        raise SpecError(
            f"no (alpha, beta, gamma) in [1, {max_value:g}] with step {step:g} has alpha*beta^2*gamma^2 within "
            f"{tolerance:g} of {target:g}; widen the tolerance or the range",
            path="tolerance",
            value=tolerance,
        )
    return grid


def proxy_scorer(data: Any = None, config: Any = None, *, seed: int = 0, device: Any = None) -> Scorer:
    """A scorer that trains each candidate with nasgen's proxy and returns its validation top-1.

    Args:
        data: A dataset or source for :func:`nasgen.data.load_dataset` (``None`` = the embedded
            Fashion-MNIST subset); loaded on the first call.
        config: Proxy recipe (``None`` = :func:`nasgen.train.default_proxy`).
        seed: Seed of every proxy run (the same for all candidates, so they differ by architecture only).
        device: Torch device; ``None`` = CUDA when available.

    Returns:
        ``scorer(spec) -> val_top1`` in [0, 1].
    """
    state: dict[str, Any] = {}

    def score(spec: ArchSpec) -> float:
        from nasgen.data import load_dataset
        from nasgen.train import evaluate_proxy

        if "data" not in state:
            state["data"] = data if hasattr(data, "images") else load_dataset(data, seed=seed)
        return float(evaluate_proxy(spec, state["data"], config, seed=seed, device=device).val_top1)

    return score


def search_coefficients(
    spec: ArchSpec | str | Path,
    scorer: Scorer | None = None,
    *,
    phi: float = 1.0,
    step: float = 0.1,
    max_value: float = 1.5,
    target: float = 2.0,
    tolerance: float = 0.1,
    on_candidate: Callable[[CoefficientCandidate], None] | None = None,
) -> CoefficientSearch:
    """Grid-search the compound-scaling coefficients of a baseline (EfficientNet §3.3, step 1).

    Args:
        spec: The baseline (a spec, a built-in name or a path).
        scorer: ``scorer(spec) -> float``, higher is better; ``None`` = :func:`proxy_scorer` with defaults.
        phi: φ at which candidates are compared (1 in the paper).
        step: Grid step of α, β and γ.
        max_value: Largest coefficient tried.
        target: Cost product α·β²·γ² aimed at.
        tolerance: Accepted distance from ``target``.
        on_candidate: Called after each candidate is scored (progress display).

    Returns:
        The :class:`CoefficientSearch`; ties in score go to the cheaper candidate.

    Raises:
        SpecError: Bad grid arguments or φ, or no grid point meets the constraint.
    """
    base = spec if isinstance(spec, ArchSpec) else load_spec(spec)
    scorer = scorer or proxy_scorer()
    base_macs = count_cost(base).macs
    scores: dict[str, float] = {}
    candidates = []
    for alpha, beta, gamma in coefficient_grid(step, max_value, target, tolerance):
        scaled = scale(base, phi, alpha, beta, gamma)
        key = scaled.content_hash()
        if key not in scores:
            scores[key] = float(scorer(scaled))
        cost = count_cost(scaled)
        candidate = CoefficientCandidate(alpha, beta, gamma, alpha * beta**2 * gamma**2, scaled, cost.macs,
                                         cost.params, cost.macs / base_macs, scores[key])
        candidates.append(candidate)
        if on_candidate is not None:
            on_candidate(candidate)
    ranked = tuple(sorted(candidates, key=lambda c: (-c.score, c.macs, c.alpha, c.beta, c.gamma)))
    return CoefficientSearch(ranked, ranked[0], base_macs)
