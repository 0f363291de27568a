"""Block modules with flat keyword arguments, MBConv and Fused-MBConv, and their builders.

Written once for ``nasgen.nn`` and the generated ``model.py``: the rules of :mod:`nasgen.nn._layers` apply
(each class and builder here is copied verbatim into ``model.py`` when an architecture uses its kind, as
listed in the kind's :class:`~nasgen.spec.BlockKind` ``source``). Widths come from the spec formulas
:func:`~nasgen.spec.hidden_channels` and :func:`~nasgen.spec.se_channels`.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from nasgen.nn._layers import (
    SqueezeExcite,
    build_flat,
    check_block_args,
    make_activation,
    make_bn,
    make_conv,
    residual_parts,
)
from nasgen.nn._small_map import depthwise_conv_small_map
from nasgen.spec import hidden_channels, se_channels

__all__ = ["SMALL_MAP_MAX_PIXELS", "FusedMBConv", "MBConv", "build_fused_mbconv", "build_mbconv", "se_channels"]


class MBConv(nn.Module):
    """Mobile inverted bottleneck (MobileNetV2 §3.3; EfficientNet §4 with SE).

    1×1 expand conv-BN-act (only when ``expand_ratio != 1``) → k×k depthwise conv-BN-act carrying the
    stride → SE (only when ``se_ratio > 0``) → 1×1 project conv-BN (no activation) → residual with drop
    path when ``stride == 1`` and ``in_channels == out_channels``.

    State-dict names: ``conv_pw``, ``bn1``, ``conv_dw``, ``bn2``, ``se.conv_reduce``, ``se.conv_expand``,
    ``conv_pwl``, ``bn3`` (``conv_pw``/``bn1``/``se`` are ``nn.Identity`` when absent).

    Args:
        in_channels: Input channels C_in.
        out_channels: Output channels C_out.
        kernel_size: Odd depthwise kernel size k (padding ``k // 2``, or TF's SAME).
        stride: Depthwise stride, 1 or 2.
        expand_ratio: Hidden width = ``in_channels * expand_ratio``.
        se_ratio: SE squeeze width as a fraction of ``in_channels``; 0 = no SE.
        activation: Activation name (``silu``, ``relu``, ``relu6``, ``hardswish``, ``gelu``).
        drop_path_rate: Stochastic-depth probability of this block's residual branch.
        bn_eps: BatchNorm epsilon.
        bn_momentum: BatchNorm momentum (PyTorch convention).
        residual: ``False`` = never a residual (timm's ``noskip``).
        padding: ``"symmetric"`` or ``"same"`` (TensorFlow's, :class:`~nasgen.nn.Conv2dSame`).
        se_rounding: ``"floor"`` or ``"round"`` (:func:`~nasgen.spec.se_channels`).

    Shape:
        ``(N, C_in, H, W) → (N, C_out, ceil(H / stride), ceil(W / stride))``.

    Raises:
        SpecError: A non-positive width or ratio, an even kernel, a stride other than 1 or 2, a rate
            outside ``[0, 1]`` or an unknown activation; the path names the argument.
    """

    small_map_max_pixels = 4  # largest H·W (px²) where CPU training uses depthwise_conv_small_map

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: int = 1,
        se_ratio: float = 0.0,
        activation: str = "silu",
        drop_path_rate: float = 0.0,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
        residual: bool = True,
        padding: str = "symmetric",
        se_rounding: str = "floor",
    ) -> None:
        super().__init__()
        check_block_args(in_channels, out_channels, kernel_size, stride, expand_ratio)
        hidden = hidden_channels(in_channels, expand_ratio)
        squeeze = se_channels(in_channels, se_ratio, expand_ratio, se_rounding)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.drop_path_rate = float(drop_path_rate)
        if expand_ratio != 1:
            self.conv_pw: nn.Module = nn.Conv2d(in_channels, hidden, 1, bias=False)
            self.bn1: nn.Module = make_bn(hidden, bn_eps, bn_momentum)
            self.act1: nn.Module = make_activation(activation)
        else:
            self.conv_pw, self.bn1, self.act1 = nn.Identity(), nn.Identity(), nn.Identity()
        self.conv_dw = make_conv(hidden, hidden, kernel_size, stride, groups=hidden, padding=padding)
        self.bn2 = make_bn(hidden, bn_eps, bn_momentum)
        self.act2 = make_activation(activation)
        self.se: nn.Module = SqueezeExcite(hidden, squeeze, activation) if squeeze else nn.Identity()
        self.conv_pwl = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self.bn3 = make_bn(out_channels, bn_eps, bn_momentum)
        self.has_skip, self.drop_path = residual_parts(in_channels, out_channels, stride, drop_path_rate, residual)

    def _use_small_map_path(self, x: Tensor) -> bool:
        # Training on the CPU only: inference, tracing, export and scripting keep the plain nn.Conv2d call.
        return (
            self.training
            and torch.is_grad_enabled()
            and x.device.type == "cpu"
            and x.shape[-2] * x.shape[-1] <= self.small_map_max_pixels
            and not torch.jit.is_tracing()
            and not torch.compiler.is_compiling()
        )

    @torch.jit.unused
    def _conv_dw_eager(self, x):  # unannotated on purpose: TorchScript gives an unused method Tensor → Tensor
        if self._use_small_map_path(x):
            conv = self.conv_dw
            if hasattr(conv, "same_pad"):  # a Conv2dSame (TF's SAME): pad first, then the unpadded product
                x = conv.same_pad(x)
            return depthwise_conv_small_map(x, conv.weight, conv.stride[0], conv.padding[0])
        return self.conv_dw(x)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.act1(self.bn1(self.conv_pw(x)))
        if torch.jit.is_scripting():
            x = self.conv_dw(x)
        else:
            x = self._conv_dw_eager(x)
        x = self.act2(self.bn2(x))
        x = self.se(x)
        x = self.bn3(self.conv_pwl(x))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


def build_mbconv(stage: Any, **kwargs: Any) -> nn.Module:
    """The block builder of ``mbconv`` stages (see :mod:`nasgen.nn._registry` for the signature)."""
    return build_flat(MBConv, stage, **kwargs)


class FusedMBConv(nn.Module):
    """Fused-MBConv (EfficientNetV2 §3.2, Figure 2): the expand 1×1 and depthwise k×k fused into one k×k conv.

    With ``expand_ratio != 1`` (or ``always_project``): k×k expand conv-BN-act carrying the stride → SE (when
    ``se_ratio > 0``) → 1×1 project conv-BN (no activation); this is timm's ``EdgeResidual``. With
    ``expand_ratio == 1``: a single k×k conv-BN-act from C_in to C_out carrying the stride → SE. Residual with
    drop path as in :class:`MBConv`.

    State-dict names: ``conv_exp``, ``bn1``, ``se.conv_reduce``, ``se.conv_expand``, ``conv_pwl``, ``bn2``
    (a single-conv block has only ``conv_exp``/``bn1`` and optionally ``se``).

    Args:
        in_channels: Input channels C_in.
        out_channels: Output channels C_out.
        kernel_size: Odd kernel size k of the fused conv (padding ``k // 2``, or TF's SAME).
        stride: Stride of the fused conv, 1 or 2.
        expand_ratio: Hidden width = ``in_channels * expand_ratio``; 1 = single conv.
        se_ratio: SE squeeze width as a fraction of ``in_channels``; 0 = no SE.
        activation: Activation name.
        drop_path_rate: Stochastic-depth probability of this block's residual branch.
        bn_eps: BatchNorm epsilon.
        bn_momentum: BatchNorm momentum (PyTorch convention).
        residual: ``False`` = never a residual (timm's ``noskip``).
        expand_in_channels: Take the hidden and SE widths from this many channels instead of ``in_channels``
            (timm's ``force_in_chs``); ``None`` = ``in_channels``.
        always_project: At ``expand_ratio == 1`` keep the k×k conv + 1×1 projection pair (hidden = C_in).
        padding: ``"symmetric"`` or ``"same"``.
        se_rounding: ``"floor"`` or ``"round"`` (:func:`~nasgen.spec.se_channels`).

    Shape:
        ``(N, C_in, H, W) → (N, C_out, ceil(H / stride), ceil(W / stride))``.

    Raises:
        SpecError: As :class:`MBConv`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: int = 1,
        se_ratio: float = 0.0,
        activation: str = "silu",
        drop_path_rate: float = 0.0,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
        residual: bool = True,
        expand_in_channels: Optional[int] = None,
        always_project: bool = False,
        padding: str = "symmetric",
        se_rounding: str = "floor",
    ) -> None:
        super().__init__()
        check_block_args(in_channels, out_channels, kernel_size, stride, expand_ratio)
        base = in_channels if expand_in_channels is None else expand_in_channels
        projects = expand_ratio != 1 or always_project
        hidden = hidden_channels(base, expand_ratio) if projects else out_channels
        squeeze = se_channels(base, se_ratio, expand_ratio, se_rounding)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.drop_path_rate = float(drop_path_rate)
        self.conv_exp = make_conv(in_channels, hidden, kernel_size, stride, padding=padding)
        self.bn1 = make_bn(hidden, bn_eps, bn_momentum)
        self.act1 = make_activation(activation)
        self.se: nn.Module = SqueezeExcite(hidden, squeeze, activation) if squeeze else nn.Identity()
        if projects:
            self.conv_pwl: nn.Module = nn.Conv2d(hidden, out_channels, 1, bias=False)
            self.bn2: nn.Module = make_bn(out_channels, bn_eps, bn_momentum)
        else:
            self.conv_pwl, self.bn2 = nn.Identity(), nn.Identity()
        self.has_skip, self.drop_path = residual_parts(in_channels, out_channels, stride, drop_path_rate, residual)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.act1(self.bn1(self.conv_exp(x)))
        x = self.se(x)
        x = self.bn2(self.conv_pwl(x))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


def build_fused_mbconv(stage: Any, **kwargs: Any) -> nn.Module:
    """The block builder of ``fused_mbconv`` stages (see :mod:`nasgen.nn._registry` for the signature)."""
    options = {name: getattr(stage, name) for name in ("expand_in_channels", "always_project") if hasattr(stage, name)}
    return build_flat(FusedMBConv, stage, **options, **kwargs)


SMALL_MAP_MAX_PIXELS = MBConv.small_map_max_pixels
"""Largest map (H·W, px²) that :func:`depthwise_conv_small_map` handles in CPU training."""
