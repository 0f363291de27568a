"""Generic layers of nasgen's networks, written once: ``nasgen.nn`` runs them and export copies them.

Every object named in :data:`MODEL_CODE_SHARED` and in a block kind's ``source`` is copied verbatim
(``inspect.getsource``) into the generated, torch-only ``model.py``
(:func:`nasgen.exporting.render_model_code`), so the exported file is the code nasgen trains, not a second
copy kept in step by tests. Hence the rules of this module: it uses only ``torch``, ``F``, ``nn``, ``Tensor``
and ``typing`` names, plus ``SpecError`` (``model.py`` defines it as a ``ValueError``) and the spec formulas
``se_channels`` / ``hidden_channels`` (copied from :mod:`nasgen.spec` as well); no other module-level names.

Widths follow the spec contract (docs/internals.md): the hidden width is ``in_channels * expand_ratio``
and the SE squeeze width ``max(1, int(in_channels * se_ratio))`` of the *block input* channels. Optional
parts are ``nn.Identity()``, so ``forward`` is a straight line plus the residual. Every layer is
TorchScript-able and exports to ONNX.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable, Dict, Mapping, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasgen.errors import SpecError

__all__ = [
    "ACTIVATION_LAYERS",
    "MODEL_CODE_SAME_PADDING",
    "MODEL_CODE_SHARED",
    "Conv2dSame",
    "ConvBnAct",
    "DropPath",
    "SqueezeExcite",
    "activation_factories",
    "build_flat",
    "check_block_args",
    "check_kernel_stride",
    "check_positive",
    "init_weights",
    "make_activation",
    "make_bn",
    "make_conv",
    "residual_parts",
]

MODEL_CODE_SAME_PADDING = ("Conv2dSame",)
"""Shared names copied into ``model.py`` only for a network with ``padding: same``."""

MODEL_CODE_SHARED = (
    "activation_factories",
    "make_activation",
    "check_positive",
    "check_kernel_stride",
    "make_bn",
    "Conv2dSame",
    "make_conv",
    "ConvBnAct",
    "SqueezeExcite",
    "DropPath",
    "check_block_args",
    "residual_parts",
    "build_flat",
    "init_weights",
)
"""Names of this module copied into every ``model.py``, in order (block kinds add their own ``source``)."""


def activation_factories() -> Dict[str, Callable[[], nn.Module]]:
    """The spec's ``activation`` names mapped to factories of a fresh activation module."""
    return {
        "silu": lambda: nn.SiLU(inplace=True),
        "relu": lambda: nn.ReLU(inplace=True),
        "relu6": lambda: nn.ReLU6(inplace=True),
        "hardswish": lambda: nn.Hardswish(inplace=True),
        "gelu": lambda: nn.GELU(),
    }


ACTIVATION_LAYERS: Mapping[str, Callable[[], nn.Module]] = MappingProxyType(activation_factories())
"""Read-only map from the spec's ``activation`` name to a factory of a fresh activation module."""


def make_activation(name: str) -> nn.Module:
    """Return a new activation module for ``name`` (a key of :func:`activation_factories`).

    Raises:
        SpecError: ``name`` is not a known activation (path ``activation``).
    """
    factories = activation_factories()
    if name not in factories:
        known = ", ".join(factories)
        raise SpecError(f"unknown activation {name!r}; expected one of {known}", path="activation", value=name)
    return factories[name]()


def check_positive(name: str, value: int) -> None:
    """Raise :class:`SpecError` naming ``name`` unless ``value`` is a positive ``int``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SpecError(f"must be a positive integer, got {value!r}", path=name, value=value)


def check_kernel_stride(kernel_size: int, stride: int) -> None:
    """Raise :class:`SpecError` unless ``kernel_size`` is odd and positive and ``stride`` is 1 or 2.

    Odd kernels with padding ``k // 2`` keep "same" geometry: the map size is ``ceil(H / stride)``.
    """
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size <= 0 or kernel_size % 2 == 0:
        raise SpecError(f"must be a positive odd integer, got {kernel_size!r}", path="kernel_size", value=kernel_size)
    if stride not in (1, 2) or isinstance(stride, bool):
        raise SpecError(f"must be 1 or 2, got {stride!r}", path="stride", value=stride)


def make_bn(channels: int, bn_eps: float, bn_momentum: float) -> nn.BatchNorm2d:
    """A ``BatchNorm2d`` with the spec's epsilon and momentum (PyTorch convention)."""
    return nn.BatchNorm2d(channels, eps=bn_eps, momentum=bn_momentum)


class Conv2dSame(nn.Conv2d):
    """A stride-2 convolution with TensorFlow's "SAME" padding (the official EfficientNet weights' convention).

    TF pads a total of ``p = (⌈H / s⌉ − 1) · s + k − H`` rows, ``⌊p / 2⌋`` before and the rest after (and the
    same for columns), so at stride 2 an even-sized map is padded one row less at the top than PyTorch's
    symmetric ``k // 2``: the windows sit one pixel further down and right. The output size is ``⌈H / s⌉``
    either way. timm's ``tf_`` models use its ``Conv2dSame`` for these convs; at stride 1 TF's padding equals
    ``k // 2`` on every side, so :func:`make_conv` keeps a plain ``nn.Conv2d`` there (as timm does). The pad is
    computed from the input's size in ``forward``, which TorchScript scripts and the ONNX exporter traces as
    shape arithmetic (dynamic height and width). Parameters and state-dict keys are those of ``nn.Conv2d``.

    Args:
        in_channels: Input channels C_in.
        out_channels: Output channels C_out.
        kernel_size: Odd kernel size k ≥ 3.
        stride: 2.
        groups: Convolution groups.
        bias: Whether the conv has a bias.

    Shape:
        ``(N, C_in, H, W) → (N, C_out, ceil(H / 2), ceil(W / 2))``.

    Raises:
        SpecError: An even or 1×1 kernel, or a stride other than 2.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 2, *, groups: int = 1,
                 bias: bool = False) -> None:  # fmt: skip
        if kernel_size < 3 or kernel_size % 2 == 0 or stride != 2:
            raise SpecError(f"needs an odd k >= 3 at stride 2, got k={kernel_size}, stride={stride}", path="kernel_size")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=0, groups=groups, bias=bias)

    def same_pad(self, x: Tensor) -> Tensor:
        """``x`` zero-padded as TF's SAME for this conv: ``(N, C, H, W) → (N, C, H + p_h, W + p_w)``."""
        k, s = self.kernel_size[0], self.stride[0]
        height, width = x.shape[-2], x.shape[-1]
        pad_h = ((height + s - 1) // s - 1) * s + k - height  # ≥ 1 for k ≥ 3 at stride 2: no clamp needed
        pad_w = ((width + s - 1) // s - 1) * s + k - width
        return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(self.same_pad(x), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def make_conv(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, *, groups: int = 1, bias: bool = False,
    padding: str = "symmetric",
) -> nn.Conv2d:
    """A k×k conv padded ``k // 2`` on every side, or by TF's SAME (:class:`Conv2dSame`) where that differs.

    ``padding`` is the spec's: ``"symmetric"`` or ``"same"``, which differs at stride 2 only (``model.py`` holds
    :class:`Conv2dSame` only for a network that uses it).

    Raises:
        SpecError: An unknown ``padding`` (path ``padding``), an even kernel or a stride other than 1 or 2.
    """
    check_kernel_stride(kernel_size, stride)
    if padding == "same" and stride == 2 and kernel_size > 1:
        return Conv2dSame(in_channels, out_channels, kernel_size, stride, groups=groups, bias=bias)
    if padding not in ("symmetric", "same"):
        raise SpecError(f"must be 'symmetric' or 'same', got {padding!r}", path="padding", value=padding)
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, groups=groups, bias=bias)


class ConvBnAct(nn.Module):
    """k×k convolution (no bias, padded by :func:`make_conv`) → BatchNorm → activation.

    Used for the stem and the head (EfficientNet Table 1, "Conv3x3" and "Conv1x1 & Pooling & FC").
    State-dict names: ``conv``, ``bn`` (the activation has no parameters).

    Args:
        in_channels: Input channels C_in.
        out_channels: Output channels C_out.
        kernel_size: Odd kernel size k.
        stride: 1 or 2.
        groups: Convolution groups (``C_in`` for a depthwise conv).
        activation: Name in ``ACTIVATION_LAYERS``, or ``None`` for no activation (``nn.Identity``).
        bn_eps: BatchNorm epsilon.
        bn_momentum: BatchNorm momentum (PyTorch convention).
        padding: ``"symmetric"`` or ``"same"`` (TensorFlow's; see :class:`Conv2dSame`).

    Shape:
        ``(N, C_in, H, W) → (N, C_out, ceil(H / stride), ceil(W / stride))``.

    Raises:
        SpecError: A non-positive channel count, an even kernel, a stride other than 1 or 2, or an
            unknown activation or padding.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        *,
        groups: int = 1,
        activation: str | None = "silu",
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
        padding: str = "symmetric",
    ) -> None:
        super().__init__()
        check_positive("in_channels", in_channels)
        check_positive("out_channels", out_channels)
        self.conv = make_conv(in_channels, out_channels, kernel_size, stride, groups=groups, padding=padding)
        self.bn = make_bn(out_channels, bn_eps, bn_momentum)
        self.act = make_activation(activation) if activation is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


class SqueezeExcite(nn.Module):
    """Squeeze-and-Excitation (Hu et al., 2018, §3; as used in EfficientNet §4).

    ``x * sigmoid(conv_expand(act(conv_reduce(avgpool(x)))))``: global average pool, a 1×1 conv down to
    ``squeeze_channels`` with bias, the activation, a 1×1 conv back up with bias, a sigmoid gate that
    scales each channel. In MBConv the squeeze width is a fraction of the *block input* channels
    (``max(1, int(in_channels * se_ratio))``), not of the expanded width it gates.

    Args:
        channels: Channels C of the tensor being gated.
        squeeze_channels: Width of the bottleneck.
        activation: Activation between the two convs (the gate is always a sigmoid).

    Shape:
        ``(N, C, H, W) → (N, C, H, W)``.

    Raises:
        SpecError: A non-positive channel count or an unknown activation.
    """

    def __init__(self, channels: int, squeeze_channels: int, activation: str = "silu") -> None:
        super().__init__()
        check_positive("channels", channels)
        check_positive("squeeze_channels", squeeze_channels)
        self.conv_reduce = nn.Conv2d(channels, squeeze_channels, 1, bias=True)
        self.act = make_activation(activation)
        self.conv_expand = nn.Conv2d(squeeze_channels, channels, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = F.adaptive_avg_pool2d(x, 1)
        scale = self.conv_expand(self.act(self.conv_reduce(scale)))
        return x * self.gate(scale)


class DropPath(nn.Module):
    """Stochastic depth in "row" mode (Huang et al., 2016, "Deep Networks with Stochastic Depth", §3).

    In training, each sample's residual branch is zeroed with probability ``drop_prob`` and the kept
    ones are scaled by ``1 / (1 - drop_prob)``; in eval it is the identity. Draws the same random numbers
    as ``torchvision.ops.StochasticDepth(p, "row")`` (one Bernoulli per sample from the global generator),
    so both agree under the same seed.

    Args:
        drop_prob: Probability of dropping a sample's branch, in ``[0, 1]``.

    Shape:
        ``(N, *) → (N, *)``.

    Raises:
        SpecError: ``drop_prob`` outside ``[0, 1]``.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= float(drop_prob) <= 1.0:
            raise SpecError(f"must be in [0, 1], got {drop_prob!r}", path="drop_path_rate", value=drop_prob)
        self.drop_prob = float(drop_prob)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.drop_prob == 0.0:
            return x
        keep_prob = 1.0 - self.drop_prob
        size = [x.shape[0]] + [1] * (x.dim() - 1)
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(keep_prob)
        if keep_prob > 0.0:
            noise.div_(keep_prob)
        return x * noise

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


def check_block_args(in_channels: int, out_channels: int, kernel_size: int, stride: int, expand_ratio: int) -> None:
    """Raise :class:`SpecError` naming the argument unless the block arguments are valid."""
    check_positive("in_channels", in_channels)
    check_positive("out_channels", out_channels)
    check_positive("expand_ratio", expand_ratio)
    check_kernel_stride(kernel_size, stride)


def residual_parts(
    in_channels: int, out_channels: int, stride: int, drop_path_rate: float, residual: bool = True
) -> Tuple[bool, nn.Module]:
    """``(has_skip, drop_path)``: a block keeps a residual when stride is 1, the widths match and ``residual``;
    its drop path is ``DropPath(rate)`` there (``nn.Identity`` at rate 0 or without a residual)."""
    has_skip = residual and stride == 1 and in_channels == out_channels
    drop = DropPath(drop_path_rate)  # validates the rate even where the block has no skip
    return has_skip, drop if has_skip and drop_path_rate > 0.0 else nn.Identity()


def build_flat(block: Callable[..., nn.Module], stage: Any, **kwargs: Any) -> nn.Module:
    """One block of a class with MBConv's flat keyword arguments, from a stage and the builder keywords.

    ``block(in_channels, stage.out_channels, kernel_size=, expand_ratio=, se_ratio=, residual=, stride=,
    drop_path_rate=, activation=, bn_eps=, bn_momentum=[, padding=, se_rounding=])`` plus the keywords given
    (the Fused-MBConv builder adds its own options): what the ``mbconv`` and ``fused_mbconv`` builders share.
    """
    return block(
        kwargs.pop("in_channels"),
        stage.out_channels,
        kernel_size=stage.kernel_size,
        expand_ratio=stage.expand_ratio,
        se_ratio=stage.se_ratio,
        residual=getattr(stage, "residual", True),  # a plugin kind may reuse this with a custom stage
        **kwargs,
    )


def init_weights(model: nn.Module) -> None:
    """torchvision's EfficientNet initialisation (matches the reference training recipe): Kaiming-normal
    (fan-out) convs, unit norm layers, uniform(±1 / sqrt(out_features)) linear layers, zero biases."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            init_range = 1.0 / module.out_features**0.5
            nn.init.uniform_(module.weight, -init_range, init_range)
            nn.init.zeros_(module.bias)
