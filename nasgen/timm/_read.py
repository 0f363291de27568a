"""Reading one of timm's EfficientNet blocks off the built module: what it computes, as plain numbers.

timm (``timm/models/_efficientnet_blocks.py``) builds every EfficientNet-family block from its decoded
``arch_def`` arguments; the module keeps those arguments in its layers (kernel, stride and widths in the convs,
the squeeze width in the SE, the residual in ``has_skip``, the padding in the conv class, the normalization
and activation in its ``BatchNormAct2d``). Each reader below checks that a block is one nasgen can express and
returns a :class:`TimmBlock`; anything else is a :class:`~nasgen.errors.SpecError` naming the module path and
the part (a GroupNorm, a CondConv, anti-aliasing, space-to-depth, another attention module …).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from nasgen.errors import SpecError

__all__ = ["ACTIVATION_CLASSES", "BLOCK_READERS", "ModelFacts", "TimmBlock", "read_block", "read_conv", "read_norm"]

ACTIVATION_CLASSES = {
    "SiLU": "silu", "Swish": "silu", "SwishMe": "silu", "ReLU": "relu", "ReLU6": "relu6",
    "Hardswish": "hardswish", "HardSwish": "hardswish", "HardSwishMe": "hardswish", "GELU": "gelu",
}  # fmt: skip
"""Class names of torch's and timm's activation modules → the spec's ``activation`` (timm's memory-efficient
and scriptable variants compute the same function as torch's)."""


@dataclass
class TimmBlock:
    """What one timm block computes.

    Attributes:
        kind: ``"mbconv"`` or ``"fused_mbconv"``.
        in_channels: Block input channels.
        out_channels: Block output channels.
        kernel_size: Depthwise (MBConv) or fused (Fused-MBConv) kernel.
        stride: That conv's stride.
        hidden: Expanded width, or ``None`` where the block has none (``ds``: no expand conv; ``cn``: one conv).
        squeeze: SE squeeze width (0 = no SE).
        has_skip: Whether the block adds its residual.
        drop_path: Its stochastic-depth probability.
    """

    kind: str
    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    hidden: int | None
    squeeze: int
    has_skip: bool
    drop_path: float


@dataclass
class ModelFacts:
    """Facts every layer of a network must agree on, collected while reading it.

    Attributes:
        paddings: ``{path: "symmetric" | "same"}`` of the stride-2 convs with k ≥ 3 (elsewhere both agree).
        norms: ``{path: (eps, momentum)}`` of every BatchNorm.
        activations: ``{path: activation name}`` of every activation.
    """

    paddings: dict[str, str]
    norms: dict[str, tuple[float, float]]
    activations: dict[str, str]

    @classmethod
    def empty(cls) -> ModelFacts:
        return cls({}, {}, {})


def _fail(path: str, message: str) -> SpecError:
    return SpecError(f"{message}, which nasgen's blocks cannot express", path=path)


def _name(module: Any) -> str:
    return type(module).__name__


def read_conv(conv: Any, path: str, facts: ModelFacts, *, groups: int | None = 1, kernel: int | None = None) -> tuple[
        int, int, int, int]:  # fmt: skip
    """``(in, out, kernel, stride)`` of a square, bias-free, undilated conv padded as nasgen can.

    Raises:
        SpecError: Another conv (CondConv, mixed kernels …), a bias, dilation, unexpected groups or padding.
    """
    if not isinstance(conv, nn.Conv2d):
        raise _fail(path, f"{_name(conv)} (e.g. CondConv or a mixed-kernel conv) in place of a Conv2d")
    (k, k_w), (stride, stride_w) = conv.kernel_size, conv.stride
    if k != k_w or stride != stride_w or conv.dilation != (1, 1) or conv.bias is not None:
        raise _fail(path, f"a conv with kernel {conv.kernel_size}, stride {conv.stride}, dilation {conv.dilation}"
                    f"{' and a bias' if conv.bias is not None else ''}")
    if kernel is not None and k != kernel:
        raise _fail(path, f"a {k}x{k} conv where nasgen's block has a {kernel}x{kernel} one")
    if groups is not None and conv.groups != groups:
        raise _fail(path, f"a conv of {conv.groups} groups")
    if _name(conv) in ("Conv2dSame", "Conv2dSameExport"):
        padding = "same"
    elif conv.padding == (k // 2, k // 2) and conv.padding_mode == "zeros":
        padding = "symmetric"
    else:
        raise _fail(path, f"padding {conv.padding} ({conv.padding_mode}), neither k // 2 nor TensorFlow's SAME")
    if stride == 2 and k >= 3:
        facts.paddings[path] = padding
    return conv.in_channels, conv.out_channels, k, stride


def _activation(module: Any, path: str) -> str | None:
    if isinstance(module, nn.Identity):
        return None
    name = ACTIVATION_CLASSES.get(_name(module))
    if name is None or (name == "gelu" and getattr(module, "approximate", "none") != "none"):
        raise _fail(path, f"the activation {_name(module)}")
    return name


def read_norm(norm: Any, path: str, facts: ModelFacts, *, act: bool) -> None:
    """Check a timm ``BatchNormAct2d`` (BatchNorm, then the activation or none) and record eps, momentum, act.

    Raises:
        SpecError: Another normalization (GroupNorm, EvoNorm, LayerNorm …), a BatchNorm without affine
            parameters or running statistics, dropout inside it, or an activation where nasgen has none (and
            the reverse).
    """
    if not isinstance(norm, nn.BatchNorm2d):
        raise _fail(path, f"the normalization {_name(norm)} (nasgen's blocks use BatchNorm)")
    if not (norm.affine and norm.track_running_stats) or norm.momentum is None:
        raise _fail(path, "a BatchNorm without affine parameters, running statistics or momentum")
    drop = getattr(norm, "drop", None)
    if drop is not None and not isinstance(drop, nn.Identity):
        raise _fail(f"{path}.drop", f"{_name(drop)} inside the norm layer")
    facts.norms[path] = (float(norm.eps), float(norm.momentum))
    activation = _activation(getattr(norm, "act", nn.Identity()), f"{path}.act")
    if (activation is not None) != act:
        raise _fail(f"{path}.act", "an activation where nasgen has none" if activation else "no activation here")
    if activation is not None:
        facts.activations[f"{path}.act"] = activation


def _squeeze(se: Any, path: str, channels: int, facts: ModelFacts) -> int:
    if isinstance(se, nn.Identity):
        return 0
    if _name(se) != "SqueezeExcite" or not hasattr(se, "conv_reduce"):
        raise _fail(path, f"the attention module {_name(se)} (nasgen's SE is timm's SqueezeExcite)")
    reduce, expand = se.conv_reduce, se.conv_expand
    if (reduce.in_channels, expand.out_channels) != (channels, channels) or reduce.bias is None or expand.bias is None:
        raise _fail(path, "an SE whose widths or biases differ from timm's SqueezeExcite")
    if _name(se.gate) not in ("Sigmoid", "SigmoidMe"):
        raise _fail(f"{path}.gate", f"the gate {_name(se.gate)} (nasgen's SE gates with a sigmoid)")
    activation = _activation(se.act1, f"{path}.act1")
    if activation is None:
        raise _fail(f"{path}.act1", "an SE without an activation")
    facts.activations[f"{path}.act1"] = activation
    return int(reduce.out_channels)


def _plain_extras(block: Any, path: str) -> None:
    """Anti-aliasing and space-to-depth, which timm adds only when asked and nasgen never has."""
    if not isinstance(getattr(block, "aa", nn.Identity()), nn.Identity):
        raise _fail(f"{path}.aa", f"anti-aliased downsampling ({_name(block.aa)})")
    if getattr(block, "conv_s2d", None) is not None:
        raise _fail(f"{path}.conv_s2d", "a space-to-depth stem of the block")


def _drop_path(block: Any) -> float:
    drop = getattr(block, "drop_path", None)
    return float(getattr(drop, "drop_prob", 0.0) or 0.0)


def _read_ds(block: Any, path: str, facts: ModelFacts) -> TimmBlock:
    """timm's ``DepthwiseSeparableConv`` (``ds``): nasgen's MBConv at expansion 1."""
    _plain_extras(block, path)
    if getattr(block, "has_pw_act", False):
        raise _fail(path, "an activation after the projection (timm's dsa block)")
    c_in, _, k, stride = read_conv(block.conv_dw, f"{path}.conv_dw", facts, groups=None)
    if block.conv_dw.groups != c_in or block.conv_dw.out_channels != c_in:
        raise _fail(f"{path}.conv_dw", "a depthwise conv that is not one filter per channel")
    read_norm(block.bn1, f"{path}.bn1", facts, act=True)
    squeeze = _squeeze(block.se, f"{path}.se", c_in, facts)
    _, c_out, _, _ = read_conv(block.conv_pw, f"{path}.conv_pw", facts, kernel=1)
    read_norm(block.bn2, f"{path}.bn2", facts, act=False)
    return TimmBlock("mbconv", c_in, c_out, k, stride, None, squeeze, bool(block.has_skip), _drop_path(block))


def _read_ir(block: Any, path: str, facts: ModelFacts) -> TimmBlock:
    """timm's ``InvertedResidual`` (``ir``): nasgen's MBConv."""
    _plain_extras(block, path)
    c_in, hidden, _, _ = read_conv(block.conv_pw, f"{path}.conv_pw", facts, kernel=1)
    read_norm(block.bn1, f"{path}.bn1", facts, act=True)
    _, _, k, stride = read_conv(block.conv_dw, f"{path}.conv_dw", facts, groups=hidden)
    read_norm(block.bn2, f"{path}.bn2", facts, act=True)
    squeeze = _squeeze(block.se, f"{path}.se", hidden, facts)
    _, c_out, _, _ = read_conv(block.conv_pwl, f"{path}.conv_pwl", facts, kernel=1)
    read_norm(block.bn3, f"{path}.bn3", facts, act=False)
    return TimmBlock("mbconv", c_in, c_out, k, stride, hidden, squeeze, bool(block.has_skip), _drop_path(block))


def _read_er(block: Any, path: str, facts: ModelFacts) -> TimmBlock:
    """timm's ``EdgeResidual`` (``er``): nasgen's Fused-MBConv with its projection."""
    _plain_extras(block, path)
    c_in, hidden, k, stride = read_conv(block.conv_exp, f"{path}.conv_exp", facts)
    read_norm(block.bn1, f"{path}.bn1", facts, act=True)
    squeeze = _squeeze(block.se, f"{path}.se", hidden, facts)
    _, c_out, _, _ = read_conv(block.conv_pwl, f"{path}.conv_pwl", facts, kernel=1)
    read_norm(block.bn2, f"{path}.bn2", facts, act=False)
    return TimmBlock("fused_mbconv", c_in, c_out, k, stride, hidden, squeeze, bool(block.has_skip), _drop_path(block))


def _read_cn(block: Any, path: str, facts: ModelFacts) -> TimmBlock:
    """timm's ``ConvBnAct`` (``cn``): nasgen's Fused-MBConv at expansion 1 (one k×k conv)."""
    _plain_extras(block, path)
    c_in, c_out, k, stride = read_conv(block.conv, f"{path}.conv", facts)
    read_norm(block.bn1, f"{path}.bn1", facts, act=True)
    return TimmBlock("fused_mbconv", c_in, c_out, k, stride, None, 0, bool(block.has_skip), _drop_path(block))


BLOCK_READERS: dict[str, Callable[[Any, str, ModelFacts], TimmBlock]] = {
    "DepthwiseSeparableConv": _read_ds,
    "InvertedResidual": _read_ir,
    "EdgeResidual": _read_er,
    "ConvBnAct": _read_cn,
}
"""timm block class name → its reader (a CondConvResidual, UniversalInvertedResidual or MobileAttention has none)."""


def read_block(block: Any, path: str, facts: ModelFacts) -> TimmBlock:
    """Read the timm block at ``path`` (``blocks.2.1``).

    Raises:
        SpecError: A block class nasgen has no counterpart of, or a part of it nasgen cannot express.
    """
    reader = BLOCK_READERS.get(_name(block))
    if reader is None or not type(block).__module__.startswith("timm."):
        known = ", ".join(BLOCK_READERS)
        hint = " (CondConv)" if _name(block) == "CondConvResidual" else ""
        raise SpecError(f"the block {_name(block)}{hint}, which nasgen's blocks cannot express (it reads {known})",
                        path=path)  # fmt: skip
    return reader(block, path, facts)
