"""The parts a network's time is predicted from: the stem, every block, the head (FBNet §3.2, ProxylessNAS §3.3),
each keyed by what determines its time, with the MACs and activations that a part not yet timed is estimated by.

Torch-free: ``nasgen.nn`` builds a part (:func:`nasgen.nn.build_part`), :mod:`nasgen.cost._timing` times it,
:mod:`nasgen.cost._latency` keeps the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nasgen.cost._rules import cost_rule
from nasgen.cost._trace import LayerTrace, conv_output_size
from nasgen.errors import SpecError

__all__ = ["Part", "part_work", "parts_of"]


@dataclass(frozen=True)
class Part:
    """One timed piece of a network: the stem, a block, or the head.

    Attributes:
        name: Where it sits (``stem``, ``stages.3.1``, ``head``).
        key: What determines its time (kind and shape), the lookup-table key without mode and batch.
        role: ``stem``, ``block`` or ``head``.
        in_channels: Input channels.
        size_px: Input height = width (px).
        stage_index: The stage (blocks only).
        stride: The block's stride (blocks only).
    """

    name: str
    key: str
    role: str
    in_channels: int
    size_px: int
    stage_index: int = -1
    stride: int = 1


def _stage_key(stage: Any) -> str:
    data = stage.model_dump(mode="json", exclude={"num_layers", "stride"})
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def parts_of(spec: Any, resolution_px: int | None = None) -> list[Part]:
    """The parts of ``spec`` in network order, with their input channels and sizes (no torch).

    Raises:
        SpecError: A resolution below 1 px.
    """
    size = int(resolution_px or spec.resolution_px)
    if size < 1:
        raise SpecError(f"must be at least 1, got {size}", path="resolution_px", value=size)
    common = f"act={spec.activation},eps={spec.bn_eps}"
    parts = [Part("stem", f"stem|{spec.in_channels}>{spec.stem.out_channels}|k{spec.stem.kernel_size}|"
                          f"s{spec.stem.stride}|{size}px|{common}", "stem", spec.in_channels, size)]
    size = conv_output_size(size, spec.stem.kernel_size, spec.stem.stride)
    channels = spec.stem.out_channels
    for i, stage in enumerate(spec.stages):
        for j in range(stage.num_layers):
            stride = stage.stride if j == 0 else 1
            key = f"block|{channels}>|s{stride}|{size}px|{common}|{_stage_key(stage)}"
            parts.append(Part(f"stages.{i}.{j}", key, "block", channels, size, i, stride))
            size = conv_output_size(size, stage.kernel_size, stride)
            channels = stage.out_channels
    parts.append(Part("head", f"head|{channels}>{spec.head_channels}>{spec.num_classes}|{size}px|{common}", "head",
                      channels, size))
    return parts


def part_work(spec: Any, part: Part) -> tuple[int, int]:
    """``(MACs, output elements)`` of one part at batch 1 (Conv2d and Linear MACs, DESIGN.md's convention): what
    a part's time is estimated by before it is timed, and how long timing it will take.

    Raises:
        PluginError: A block kind without a cost rule.
    """
    trace = LayerTrace((part.in_channels, part.size_px, part.size_px), spec.activation, keep_layers=False)
    if part.role == "stem":
        trace.conv("conv", spec.stem.out_channels, spec.stem.kernel_size, spec.stem.stride)
        trace.bn("bn")
        trace.act("act")
    elif part.role == "head":
        trace.conv("conv", spec.head_channels, 1)
        trace.bn("bn")
        trace.act("act")
        trace.pool("pool")
        trace.linear("classifier", spec.num_classes)
    else:
        stage = spec.stages[part.stage_index]
        cost_rule(stage.kind)(trace, stage, part.stride)
    return trace.macs, trace.elements
