"""A third-party plugin that adds the block kind ``conv``: one k×k convolution → BatchNorm → activation.

timm's ``ConvBnAct`` block (notation ``cn``): a plain dense convolution, the cheapest block in the family to
reason about, with a residual (and drop path) when the stride is 1 and the widths match. It has no
expansion and no SE, so a stage of this kind must say ``expand_ratio: 1`` and ``se_ratio: 0``.

A plugin is one module with one hook: ``nasgen_block_kinds`` returns a :class:`~nasgen.spec.BlockKind`
naming, as import strings, the builder (``build_model``), the cost rule (analytic MACs / params / memory,
which must agree with the module — ``nasgen.testing.check_block_kind`` checks it) and the objects copied into
an exported ``model.py``. Once installed with the entry point of ``pyproject.toml`` next to this file, a
space or an architecture YAML can say ``kind: conv`` with no further set-up; examples/plugin_block_kind.py
registers it by hand instead, to run from a checkout.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from nasgen.errors import SpecError
from nasgen.hooks import hookimpl
from nasgen.nn import check_block_args, make_activation, make_bn, residual_parts
from nasgen.spec import BlockKind

__all__ = ["ConvBlock", "build_conv", "conv_cost", "nasgen_block_kinds"]


class ConvBlock(nn.Module):
    """Dense k×k conv-BN-act (timm ``cn``), plus the input when the stride is 1 and widths match.

    State-dict names: ``conv``, ``bn1``. Shape: ``(N, C_in, H, W) → (N, C_out, ceil(H / s), ceil(W / s))``.

    Raises:
        SpecError: A non-positive width, an even kernel, a stride other than 1 or 2, a bad rate or activation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size: int = 3,
        stride: int = 1,
        activation: str = "silu",
        drop_path_rate: float = 0.0,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        check_block_args(in_channels, out_channels, kernel_size, stride, 1)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False)
        self.bn1 = make_bn(out_channels, bn_eps, bn_momentum)
        self.act1 = make_activation(activation)
        self.has_skip, self.drop_path = residual_parts(in_channels, out_channels, stride, drop_path_rate)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.act1(self.bn1(self.conv(x)))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


def build_conv(stage: Any, **kwargs: Any) -> nn.Module:
    """Builder of one ``conv`` block (nasgen's block-builder signature).

    Raises:
        SpecError: The stage asks for an expansion or SE (a conv block has neither).
    """
    if stage.expand_ratio != 1:
        raise SpecError(f"a conv block has no expansion, got {stage.expand_ratio}", path="expand_ratio",
                        value=stage.expand_ratio)
    if stage.se_ratio != 0:
        raise SpecError(f"a conv block has no SE, got {stage.se_ratio}", path="se_ratio", value=stage.se_ratio)
    return ConvBlock(kwargs.pop("in_channels"), stage.out_channels, kernel_size=stage.kernel_size, **kwargs)


def conv_cost(trace: Any, stage: Any, stride: int) -> None:
    """Cost rule of one ``conv`` block; layer names are the built module's."""
    block_in, c_in = trace.current, trace.shape[0]
    trace.conv("conv", stage.out_channels, stage.kernel_size, stride)
    trace.bn("bn1")
    trace.act("act1")
    if stride == 1 and c_in == stage.out_channels:
        trace.add("add", block_in)


@hookimpl
def nasgen_block_kinds() -> list[BlockKind]:
    return [
        BlockKind(
            "conv",
            builder="nasgen_conv_block:build_conv",
            cost_rule="nasgen_conv_block:conv_cost",
            source=("nasgen_conv_block:ConvBlock",),
            timm_prefix="cn",
            description="dense k×k conv-BN-act (timm cn)",
        )
    ]
