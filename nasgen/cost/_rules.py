"""Cost rules keyed by stage ``kind`` and the driver that traces a whole spec (stem, stages, head).

A cost rule describes one block of a stage as calls on a :class:`~nasgen.cost.LayerTrace`; it is
called once per block with the block's stride (the stage stride for the first block, 1 after).
A block kind names its rule in its :class:`~nasgen.spec.BlockKind` descriptor (as an import string or a
callable), a kind made in code as well (``nasgen.spec.register_block_kind(BlockKind(kind, cost_rule=rule))``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from nasgen.cost._trace import Layer, LayerTrace
from nasgen.errors import PluginError, SpecError
from nasgen.spec import block_kinds, hidden_channels, se_channels, total_stride

__all__ = [
    "CostRule",
    "PartTotals",
    "SpecTrace",
    "as_spec",
    "cost_rule",
    "fused_mbconv_cost",
    "mbconv_cost",
    "registered_cost_kinds",
    "se_channels",
    "trace_spec",
]

CostRule = Callable[[LayerTrace, Any, int], None]
"""``rule(trace, stage, stride)``: record one block of ``stage`` whose first conv uses ``stride``."""


def _descriptor_rules() -> dict[str, CostRule]:
    rules = {}
    for kind, descriptor in block_kinds().items():
        rule = descriptor.resolved_cost_rule()
        if rule is not None:
            rules[kind] = rule
    return rules


def cost_rule(kind: str) -> CostRule:
    """The rule of ``kind``, from its :class:`~nasgen.spec.BlockKind` descriptor.

    Raises:
        PluginError: No registered descriptor of ``kind`` names a rule.
    """
    descriptor = block_kinds().get(kind)
    rule = descriptor.resolved_cost_rule() if descriptor is not None else None
    if rule is None:
        known = ", ".join(sorted(registered_cost_kinds()))
        raise PluginError(f"no cost rule is registered for stage kind {kind!r} (known: {known})")
    return rule


def registered_cost_kinds() -> tuple[str, ...]:
    """Stage kinds whose descriptor names a cost rule: the built-in kinds first, then in registration order."""
    return tuple(_descriptor_rules())


def mbconv_cost(trace: LayerTrace, stage: Any, stride: int) -> None:
    """Cost rule of one MBConv block (the ``mbconv`` descriptor names it)."""
    # MobileNetV2 §3.3 / EfficientNet §4: expand 1×1 → depthwise k×k → SE → project 1×1 (linear).
    block_in, c_in = trace.current, trace.shape[0]
    hidden = hidden_channels(c_in, stage.expand_ratio)
    if stage.expand_ratio != 1:
        trace.conv("conv_pw", hidden, 1)
        trace.bn("bn1")
        trace.act("act1")
    trace.conv("conv_dw", hidden, stage.kernel_size, stride, groups=hidden)
    trace.bn("bn2")
    trace.act("act2")
    squeeze = se_channels(c_in, stage.se_ratio, stage.expand_ratio, trace.se_rounding)
    if squeeze:
        trace.se("se", squeeze)
    trace.conv("conv_pwl", stage.out_channels, 1)
    trace.bn("bn3")
    if getattr(stage, "residual", True) and stride == 1 and c_in == stage.out_channels:
        trace.add("add", block_in)


def fused_mbconv_cost(trace: LayerTrace, stage: Any, stride: int) -> None:
    """Cost rule of one Fused-MBConv block (the ``fused_mbconv`` descriptor names it)."""
    # EfficientNetV2 §3.2, Figure 2: the expand 1×1 and depthwise k×k fuse into one k×k conv; with
    # expansion 1 that conv maps straight to the output channels and there is no projection (unless
    # always_project keeps timm's EdgeResidual pair); expand_in_channels is timm's force_in_chs.
    block_in, c_in = trace.current, trace.shape[0]
    expand_in = getattr(stage, "expand_in_channels", None)  # a plugin kind may reuse this rule
    base = c_in if expand_in is None else expand_in
    expanded = stage.expand_ratio != 1 or getattr(stage, "always_project", False)
    width = hidden_channels(base, stage.expand_ratio) if expanded else stage.out_channels
    trace.conv("conv_exp", width, stage.kernel_size, stride)
    trace.bn("bn1")
    trace.act("act1")
    squeeze = se_channels(base, stage.se_ratio, stage.expand_ratio, trace.se_rounding)
    if squeeze:
        trace.se("se", squeeze)
    if expanded:
        trace.conv("conv_pwl", stage.out_channels, 1)
        trace.bn("bn2")
    if getattr(stage, "residual", True) and stride == 1 and c_in == stage.out_channels:
        trace.add("add", block_in)


class PartTotals(NamedTuple):
    """Totals of one part of a network (stem, a stage, or head), batch 1.

    Attributes:
        params: Trainable parameters.
        macs: Multiply-accumulates.
        elements: Output elements of all its layers (activation memory / dtype bytes).
        output_shape: Shape of the part's output.
        span: ``(start, stop)`` indices of its layers in :attr:`SpecTrace.layers`.
    """

    params: int
    macs: int
    elements: int
    output_shape: tuple[int, ...]
    span: tuple[int, int]


class SpecTrace(NamedTuple):
    """A traced spec: totals of the stem, each stage and the head, and the layers when kept.

    Attributes:
        stem: The stem conv-BN-activation.
        stages: One entry per stage.
        head: The 1×1 conv-BN-activation, pooling and classifier.
        layers: All layers in forward order, or ``None`` when not kept.
        resolution_px: The input resolution traced.
    """

    stem: PartTotals
    stages: list[PartTotals]
    head: PartTotals
    layers: list[Layer] | None
    resolution_px: int


def _check_resolution(spec: Any, resolution_px: int) -> None:
    if isinstance(resolution_px, bool) or not isinstance(resolution_px, int) or resolution_px <= 0:
        raise SpecError(f"must be a positive integer, got {resolution_px!r}", path="resolution_px", value=resolution_px)
    stride = total_stride(spec)
    if resolution_px < stride:
        raise SpecError(
            f"resolution_px {resolution_px} is below the total stride {stride} of the network",
            path="resolution_px", value=resolution_px,
        )


class _Marks:
    """Snapshots of a trace's running totals, turned into per-part differences."""

    def __init__(self, trace: LayerTrace) -> None:
        self.trace = trace
        self.last = (0, 0, 0, 0)

    def part(self) -> PartTotals:
        t = self.trace
        now = (t.params, t.macs, t.elements, len(t._shapes) - 1)
        last, self.last = self.last, now
        return PartTotals(now[0] - last[0], now[1] - last[1], now[2] - last[2], t.shape, (last[3], now[3]))


# A stage's totals depend only on its rule, its fields, its input shape, the activation and the SE rule, and the
# search prices many specs that share stages, so counting-only traces reuse them (bounded, cleared when full).
_STAGE_CACHE: dict[tuple[Any, ...], tuple[int, int, int, tuple[int, ...]]] = {}
_STAGE_CACHE_SIZE = 4096


def _stage_key(rule: CostRule, stage: Any, trace: LayerTrace) -> tuple[Any, ...] | None:
    key = (rule, stage, trace.shape, trace.activation, trace.se_rounding)
    try:
        hash(key)
    except TypeError:  # a plugin's stage spec that is not hashable is simply not cached
        return None
    return key


def as_spec(spec: Any) -> Any:
    """``spec`` itself when it is a spec, else :func:`~nasgen.spec.load_spec` of it (a name or path).

    Raises:
        SpecError: Unknown name, missing file or invalid spec.
    """
    if hasattr(spec, "stages"):
        return spec
    from nasgen.spec import load_spec

    return load_spec(spec)


def trace_spec(spec: Any, resolution_px: int | None = None, *, keep_layers: bool = True) -> SpecTrace:
    """Trace every layer of ``spec`` (a spec, built-in name or path) at ``resolution_px`` (default: the spec's).

    Raises:
        SpecError: Bad spec or resolution, or a block whose residual shapes disagree.
        PluginError: A stage kind without a cost rule.
    """
    spec = as_spec(spec)
    resolution = spec.resolution_px if resolution_px is None else resolution_px
    _check_resolution(spec, resolution)
    trace = LayerTrace((spec.in_channels, resolution, resolution), spec.activation, keep_layers=keep_layers,
                       padding=spec.padding, se_rounding=spec.se_rounding)  # fmt: skip
    marks = _Marks(trace)
    trace.prefix = "stem."
    trace.conv("conv", spec.stem.out_channels, spec.stem.kernel_size, spec.stem.stride)
    trace.bn("bn")
    trace.act("act")
    stem = marks.part()
    stages = []
    for index, stage in enumerate(spec.stages):
        rule = cost_rule(stage.kind)
        key = _stage_key(rule, stage, trace) if not keep_layers else None
        cached = _STAGE_CACHE.get(key) if key is not None else None
        if cached is not None:
            trace.replay(*cached)
        else:
            for block in range(stage.num_layers):
                trace.prefix = f"stages.{index}.{block}."
                rule(trace, stage, stage.stride if block == 0 else 1)
        part = marks.part()
        if key is not None and cached is None:
            if len(_STAGE_CACHE) >= _STAGE_CACHE_SIZE:
                _STAGE_CACHE.clear()
            _STAGE_CACHE[key] = (part.params, part.macs, part.elements, part.output_shape)
        stages.append(part)
    trace.prefix = "head."
    trace.conv("conv", spec.head_channels, 1)
    trace.bn("bn")
    trace.act("act")
    trace.prefix = ""
    trace.pool("pool")
    trace.linear("classifier", spec.num_classes)  # dropout before it is identity at inference: no node
    return SpecTrace(stem, stages, marks.part(), trace.layers, resolution)
