"""The layout of a supernet, derived from a search space: which branches each stage holds and how wide they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from nasgen.nn import SlicingRule, block_registry, no_init, slicing_rule
from nasgen.space import SearchSpace
from nasgen.spec import spec_from_dict

__all__ = ["Branch", "branches", "input_widths", "largest"]


@dataclass(frozen=True)
class Branch:
    """The weights of one block kind (and variant) in one stage of the supernet.

    Attributes:
        key: Its name in the state dict, ``stages.{i}.{key}.{block}.…``: the kind (``kind-variant`` for a variant
            its rule keeps apart, ``…-e{ratio}`` for an expansion ratio the largest blocks cannot hold).
        kind: The block kind.
        variant: The kind's weight-sharing variant (:meth:`nasgen.nn.SlicingRule.variant_of`, usually ``""``).
        stage: The stage spec of its largest blocks.
        in_channels: Input channels of its first block (the widest possible).
        rule: The kind's slicing rule.
    """

    key: str
    kind: str
    variant: str
    stage: Any
    in_channels: int
    rule: SlicingRule


def largest(dim: Any) -> Any:
    return max(dim.values())


def _stage_spec(fields: dict[str, Any]) -> Any:
    """A validated stage spec of ``fields`` (any registered kind), through a one-stage architecture."""
    arch = spec_from_dict({"resolution_px": 8, "stem": {"out_channels": 8, "stride": 1}, "stages": [fields],
                           "head_channels": 8, "num_classes": 2})  # fmt: skip
    return arch.stages[0]


def _holds(storage: Any, stage: Any, in_channels: int) -> bool:
    """Whether the blocks of ``storage`` (a stage spec) hold those of ``stage``: every tensor of its first and of
    a later block is there and no larger (the kinds' builders decide the names and shapes)."""
    builder = block_registry[stage.kind]

    def shapes(spec: Any, width: int) -> dict[str, torch.Size]:
        with torch.device("meta"), no_init():
            block = builder(spec, in_channels=width, stride=1, drop_path_rate=0.0, activation="silu", bn_eps=1e-5,
                            bn_momentum=0.1)  # fmt: skip
        return {name: tensor.shape for name, tensor in block.state_dict().items()}

    for width in (in_channels, stage.out_channels):
        big, small = shapes(storage, width), shapes(stage, width)
        if any(name not in big or len(big[name]) != len(shape) or any(a < b for a, b in zip(big[name], shape))
               for name, shape in small.items()):  # fmt: skip
            return False
    return True


def branches(space: SearchSpace, index: int, in_channels: int) -> dict[tuple[str, int], Branch]:
    """The branches of stage ``index`` by ``(kind, expand_ratio)``: per kind (and variant), the largest blocks.

    A kind's expansion ratios share one branch (its largest ratio's blocks) wherever those blocks hold the smaller
    ratio's tensors (MBConv with expansion 1 runs on the first channels of the depthwise and projection weights); a
    ratio they cannot hold (Fused-MBConv's single conv wider than the largest hidden width) gets its own branch.
    """
    stage = space.stages[index]
    fixed = {"num_layers": largest(stage.num_layers), "kernel_size": largest(stage.kernel_size), "stride": 1,
             "out_channels": largest(stage.out_channels), "se_ratio": largest(stage.se_ratio)}  # fmt: skip
    found: dict[tuple[str, int], Branch] = {}
    for kind in stage.kind.values():
        rule = slicing_rule(kind, path=f"stages.{index}.kind")
        own: list[Branch] = []
        for ratio in sorted(stage.expand_ratio.values(), reverse=True):
            biggest = _stage_spec({"kind": kind, "expand_ratio": ratio, **fixed})
            variant = rule.variant_of(biggest)
            home = next((b for b in own if b.variant == variant and _holds(b.stage, biggest, in_channels)), None)
            if home is None:
                key = kind + (f"-{variant}" if variant else "") + (f"-e{ratio}" if own else "")
                home = Branch(key, kind, variant, biggest, in_channels, rule)
                own.append(home)
            found[(kind, ratio)] = home
    return found


def input_widths(space: SearchSpace) -> list[int]:
    """The widest input of each stage's first block, then of the head (an optional stage may pass its input on)."""
    widths = [largest(space.stem.out_channels)]
    for stage in space.stages:
        out = largest(stage.out_channels)
        widths.append(max(out, widths[-1]) if stage.optional else out)
    return widths
