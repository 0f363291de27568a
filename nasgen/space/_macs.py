"""The smallest and the largest architecture of a space by MACs (docs/design.md cost convention).

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
at the other corner). Per stage, the candidates are the combinations of its non-monotone choices
(present or not, each kind, and for Fused-MBConv expand 1 or the extreme ratio ≥ 2) with the monotone
fields at the corner. A stage's MACs depend only on its fields and its input ``(channels, height)``, so
a dynamic program over the stages, keeping the best partial sum per input state, finds the exact
extreme in O(stages × states × candidates) — a space with 50 optional stages takes a fraction of a
second, where enumerating the 3⁵⁰ combinations could not finish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nasgen.space._models import STAGE_FIELDS
from nasgen.spec import ArchSpec, block_kind

if TYPE_CHECKING:
    from nasgen.space._space import SearchSpace

__all__ = ["EXHAUSTIVE_LIMIT", "macs_extremes"]

EXHAUSTIVE_LIMIT = 4096
"""Kept for compatibility: the extremes are now exact however many combinations there are (see above)."""

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


def _stage_fields(i: int, option: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
    """The stage ``i`` chosen by ``option`` as plain spec fields (``fixed``: the space's fixed values)."""
    prefix = f"stages.{i}."
    return {field: option.get(prefix + field, fixed.get(prefix + field)) for field in STAGE_FIELDS}


def _stage_step(fields: dict[str, Any], state: tuple[int, int]) -> tuple[int, tuple[int, int]]:
    """``(MACs, output state)`` of one stage given its input ``(channels, height)``, from ``count_cost``."""
    from nasgen.cost import count_cost

    channels, height = state
    stage = dict(fields)
    if height < stage["stride"]:
        stage["stride"] = 1  # a stride-2 conv on a 1×1 map has the same MACs; the spec refuses it
    mini = ArchSpec.model_validate({
        "resolution_px": height, "stem": {"out_channels": channels, "kernel_size": 3, "stride": 1},
        "stages": [stage], "head_channels": 8, "num_classes": 1,
    })
    report = count_cost(mini).stages[0]
    return report.macs, (report.output_shape[0], report.output_shape[1])


def _extreme(space: SearchSpace, cheap: bool, freeze_kwargs: dict[str, Any]) -> ArchSpec:
    """Exact extreme by dynamic programming over the stages.

    A stage's MACs depend only on its own fields and its input ``(channels, height)``, so the best choice
    of the stages before a given input state never changes what follows: keep, per state, the best
    partial sum and the choices behind it (O(stages × states × options), not the product of options).
    The head depends on the last state only; the few final states are compared by a full count.
    """
    from nasgen.cost import count_cost

    base = {
        label: _pick(label, dim.values(), cheap)
        for label, dim in space.dimensions().items()
        if not label.startswith("stages.")
    }
    per_stage = [_stage_options(space, i, cheap) for i in range(len(space.stages))]
    fixed = space.fixed_values()
    stage_keys = [
        [None if o.get(f"stages.{i}.present", True) is False else tuple(_stage_fields(i, o, fixed).items())
         for o in options]
        for i, options in enumerate(per_stage)
    ]

    def frozen(choice: tuple[int, ...]) -> ArchSpec:
        params = dict(base)
        for options, k in zip(per_stage, choice):
            params.update(options[k])
        return space.freeze(params, **freeze_kwargs)

    first = tuple(next(k for k, o in enumerate(options) if o.get(f"stages.{i}.present", True))
                  for i, options in enumerate(per_stage))
    stem = count_cost(frozen(first)).stem.output_shape
    better = (lambda a, b: a < b) if cheap else (lambda a, b: a > b)
    layer: dict[tuple[int, int], tuple[int, tuple[int, ...]]] = {(stem[0], stem[1]): (0, ())}
    steps: dict[tuple[Any, ...], tuple[int, tuple[int, int]]] = {}
    for i in range(len(per_stage)):
        following: dict[tuple[int, int], tuple[int, tuple[int, ...]]] = {}
        for state, (total, choice) in layer.items():
            for k, fields in enumerate(stage_keys[i]):
                if fields is None:  # the stage removed
                    macs, after = 0, state
                else:
                    key = (fields, state)
                    if key not in steps:
                        steps[key] = _stage_step(dict(fields), state)
                    macs, after = steps[key]
                known = following.get(after)
                if known is None or better(total + macs, known[0]):
                    following[after] = (total + macs, (*choice, k))
        layer = following
    candidates = [frozen(choice) for _, choice in layer.values()]
    key = (lambda spec: count_cost(spec).macs)
    return min(candidates, key=key) if cheap else max(candidates, key=key)


def macs_extremes(space: SearchSpace, **freeze_kwargs: Any) -> tuple[ArchSpec, ArchSpec]:
    """``(smallest, largest)`` architecture of ``space`` by MACs, by the method of the module docstring.

    Args:
        space: The search space.
        **freeze_kwargs: ``num_classes`` / ``in_channels`` passed to :meth:`SearchSpace.freeze`.
    """
    return _extreme(space, True, freeze_kwargs), _extreme(space, False, freeze_kwargs)
