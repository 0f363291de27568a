"""Coefficient search (EfficientNet §3.3, step 1) with cheap stand-in scorers, and one real proxy run (slow)."""

from __future__ import annotations

import pytest
from nasgen_scaling import coefficient_grid, proxy_scorer, scale, search_coefficients

from nasgen.cost import count_cost
from nasgen.errors import SpecError
from nasgen.spec import ArchSpec, load_spec


def test_grid_respects_the_constraint() -> None:
    grid = coefficient_grid(0.1, 1.5, target=2.0, tolerance=0.1)
    assert len(grid) == 15
    assert grid[0] == (1.0, 1.0, 1.4) and grid[-1] == (1.4, 1.2, 1.0)
    assert all(1.9 <= a * b * b * g * g <= 2.1 and min(a, b, g) >= 1 and max(a, b, g) <= 1.5 for a, b, g in grid)
    assert (1.2, 1.1, 1.15) in coefficient_grid(0.05, 1.5, tolerance=0.1)  # the paper's choice: 1.92


@pytest.mark.parametrize(
    ("kwargs", "path", "message"),
    [
        ({"step": 0}, "step", "must be > 0, got 0"),
        ({"step": -0.1}, "step", "must be >= 0, got -0.1"),
        ({"max_value": 0.9}, "max_value", "must be >= 1, got 0.9"),
        ({"tolerance": -1}, "tolerance", "must be >= 0, got -1"),
        ({"step": 0.5, "max_value": 1.2, "tolerance": 0.01}, "tolerance", "no (alpha, beta, gamma) in [1, 1.2]"),
    ],
)
def test_grid_bad_arguments(kwargs: dict, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        coefficient_grid(**kwargs)
    assert info.value.path == path
    assert message in str(info.value)


def test_search_picks_the_best_scored_candidate() -> None:
    b0 = load_spec("efficientnet-b0")
    seen: list[ArchSpec] = []

    def resolution_lover(spec: ArchSpec) -> float:
        seen.append(spec)
        return float(spec.resolution_px)

    result = search_coefficients(b0, resolution_lover, step=0.1, max_value=1.5, tolerance=0.1)
    best = result.best
    assert (best.alpha, best.beta, best.gamma) == (1.0, 1.0, 1.4)
    assert best.spec == scale(b0, 1, 1.0, 1.0, 1.4)
    assert best.score == 314.0  # round(224 · 1.4 = 313.6)
    assert len(result.candidates) == 15
    assert [c.score for c in result.candidates] == sorted((c.score for c in result.candidates), reverse=True)
    assert result.baseline_macs == count_cost(b0).macs
    assert best.macs == count_cost(best.spec).macs
    assert best.measured_cost_ratio == pytest.approx(best.macs / 385_814_752)
    assert best.cost_product == pytest.approx(1.96)
    # candidates that round to the same architecture are scored once
    assert len(seen) == len({spec.content_hash() for spec in seen}) == 13


def test_ties_go_to_the_cheaper_candidate() -> None:
    result = search_coefficients("efficientnet-b0", lambda spec: 1.0, step=0.1, max_value=1.5, tolerance=0.1)
    assert result.best.macs == min(c.macs for c in result.candidates)


def test_search_does_not_touch_the_baseline() -> None:
    b0 = load_spec("efficientnet-b0")
    before = b0.model_dump()
    calls: list[float] = []
    search_coefficients(b0, lambda spec: spec.num_blocks, step=0.2, max_value=1.4, tolerance=0.15,
                        on_candidate=lambda c: calls.append(c.score))
    assert b0.model_dump() == before
    assert len(calls) == 5


@pytest.mark.slow
def test_proxy_scorer_trains_each_candidate() -> None:
    from nasgen.data import load_dataset
    from nasgen.train import CPU_PROXY

    data = load_dataset(None, seed=0, max_images=600)
    config = CPU_PROXY.replace(epochs=1, images_per_epoch=256, val_images=200, batch_size=64)
    scorer = proxy_scorer(data, config, seed=0, device="cpu")
    base = load_spec("efficientnet-b0").replace(resolution_px=32)
    result = search_coefficients(base, scorer, step=0.4, max_value=1.4, tolerance=0.1)
    assert [(c.alpha, c.beta, c.gamma) for c in result.candidates] in (
        [(1.0, 1.0, 1.4), (1.0, 1.4, 1.0)], [(1.0, 1.4, 1.0), (1.0, 1.0, 1.4)]
    )
    assert all(0.0 <= c.score <= 1.0 for c in result.candidates)
    assert result.best.score == max(c.score for c in result.candidates)
