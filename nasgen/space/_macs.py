"""The smallest and the largest architecture of a space by MACs (DESIGN.md cost convention).

Method. MACs (conv + linear, :func:`nasgen.cost.count_cost`) are monotone in most fields: they grow with
``resolution_px``, every channel count, kernel sizes, ``num_layers``, ``se_ratio`` and an MBConv
stage's ``expand_ratio`` (every conv's input or output width or its output map grows), and shrink with
every stride (every later map shrinks). Three choices are not monotone:

* a stage's ``kind`` (Fused-MBConv's k×k expansion conv vs MBConv's 1×1 + depthwise pair);
* for a kind whose :class:`~nasgen.spec.BlockKind` says ``monotone_macs=False`` (Fused-MBConv), the
  ``expand_ratio`` between 1 (one k×k conv straight to ``out_channels``) and the ratios ≥ 2 (k×k to the
  hidden width, then 1×1), monotone among the ratios ≥ 2;
* whether an optional stage is present (it adds convs, but its stride and width change what follows).

For fixed non-monotone choices the cost is coordinatewise monotone in the other fields over a product
of domains, so its minimum is at the corner with every monotone field at its cheap end (and the maximum
at the other corner). We enumerate every combination of the non-monotone choices (per stage: present
or not, each kind, and for Fused-MBConv expand 1 or the extreme ratio ≥ 2), put the monotone fields at
the corner and count MACs of each candidate: the result is exact. Should the combinations exceed
:data:`EXHAUSTIVE_LIMIT`, a coordinate descent over the stages (each stage's best option given the
others, repeated until nothing improves) is used instead, which gives an architecture of the space whose
MACs bound the true extreme from the inside.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from nasgen.spec import ArchSpec, block_kind

if TYPE_CHECKING:
    from nasgen.space._space import SearchSpace

__all__ = ["EXHAUSTIVE_LIMIT", "macs_extremes"]

EXHAUSTIVE_LIMIT = 4096
"""Most combinations of non-monotone choices enumerated exactly; beyond, coordinate descent."""

_DECREASING = ("stride",)  # fields whose larger value means fewer MACs


def _pick(field: str, values: tuple[Any, ...], cheap: bool) -> Any:
    if field in ("kind", "activation", "dropout", "drop_path_rate", "bn_eps", "bn_momentum"):
        return values[0]  # no effect on MACs (kind is enumerated separately)
    low_end = min(values) if (field.split(".")[-1] not in _DECREASING) == cheap else max(values)
    return low_end


def _stage_options(space: SearchSpace, i: int, cheap: bool) -> list[dict[str, Any]]:
    """Candidate params of stage ``i``: one per non-monotone combination, monotone fields at the corner."""
    stage = space.stages[i]
    dims = space.dimensions()
    prefix = f"stages.{i}."
    options: list[dict[str, Any]] = [{prefix + "present": False}] if stage.optional else []
    for kind in stage.kind.values():
        corner = {
            prefix + field: _pick(field, dim.values(), cheap)
            for field, dim in stage.field_dimensions().items()
            if prefix + field in dims
        }
        if prefix + "kind" in dims:
            corner[prefix + "kind"] = kind
        ratios = [corner.get(prefix + "expand_ratio")]
        if not block_kind(kind).monotone_macs and prefix + "expand_ratio" in dims:
            above = [r for r in stage.expand_ratio.values() if r >= 2]
            ratios = ([1] if 1 in stage.expand_ratio else []) + ([min(above) if cheap else max(above)] if above else [])
        for ratio in ratios:
            option = dict(corner)
            if ratio is not None:
                option[prefix + "expand_ratio"] = ratio
            if stage.optional:
                option[prefix + "present"] = True
            options.append(option)
    return options


def _extreme(space: SearchSpace, cheap: bool, freeze_kwargs: dict[str, Any]) -> ArchSpec:
    from nasgen.cost import count_cost

    base = {
        label: _pick(label, dim.values(), cheap)
        for label, dim in space.dimensions().items()
        if not label.startswith("stages.")
    }
    per_stage = [_stage_options(space, i, cheap) for i in range(len(space.stages))]
    sign = 1 if cheap else -1
    cache: dict[tuple[int, ...], int] = {}

    def cost(choice: tuple[int, ...]) -> int:
        if choice not in cache:
            params = dict(base)
            for options, k in zip(per_stage, choice):
                params.update(options[k])
            cache[choice] = sign * count_cost(space.freeze(params, **freeze_kwargs)).macs
        return cache[choice]

    if math.prod(len(options) for options in per_stage) <= EXHAUSTIVE_LIMIT:
        best = min(itertools.product(*(range(len(options)) for options in per_stage)), key=cost)
    else:
        best = _descend(cost, [len(options) for options in per_stage])
    params = dict(base)
    for options, k in zip(per_stage, best):
        params.update(options[k])
    return space.freeze(params, **freeze_kwargs)


def _descend(cost: Any, counts: list[int]) -> tuple[int, ...]:
    """Coordinate descent over per-stage option indices, from the first option of every stage."""
    current = tuple(0 for _ in counts)
    improved = True
    while improved:
        improved = False
        for i, count in enumerate(counts):
            candidates = [current[:i] + (k,) + current[i + 1 :] for k in range(count)]
            best = min(candidates, key=cost)
            if cost(best) < cost(current):
                current, improved = best, True
    return current


def macs_extremes(space: SearchSpace, **freeze_kwargs: Any) -> tuple[ArchSpec, ArchSpec]:
    """``(smallest, largest)`` architecture of ``space`` by MACs, by the method of the module docstring.

    Args:
        space: The search space.
        **freeze_kwargs: ``num_classes`` / ``in_channels`` passed to :meth:`SearchSpace.freeze`.
    """
    return _extreme(space, True, freeze_kwargs), _extreme(space, False, freeze_kwargs)
