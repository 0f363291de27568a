"""Measure a built model's MACs and params with thop under nasgen's cost convention.

The only module of :mod:`nasgen.cost` that imports torch and thop. Default thop also counts BatchNorm
(2 ops per element) and pooling, which gives EfficientNet-B0 415.1M instead of the papers' 0.39B; the
custom rules here count Conv2d and Linear only (docs/design.md, "The cost convention"), and every other
module thop has a rule for counts zero.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import thop
import torch
from thop.profile import register_hooks
from thop.vision.basic_hooks import zero_ops
from torch import nn

from nasgen.errors import SpecError

__all__ = ["MeasuredCost", "measure_cost", "thop_rules"]

_THOP_ATTRS = ("total_ops", "total_params")


class MeasuredCost(NamedTuple):
    """MACs and params measured on a built model.

    Attributes:
        macs: Multiply-accumulates of Conv2d and Linear layers for one image.
        params: ``sum(p.numel() for p in model.parameters())``.
    """

    macs: int
    params: int

    @property
    def flops(self) -> int:
        """FLOPs defined as 2 · MACs."""
        return 2 * self.macs


def _count_conv2d(module: nn.Conv2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
    # C_out·H_out·W_out output elements per image, each C_in/groups·k_h·k_w multiply-accumulates; bias free
    kernel_h, kernel_w = module.kernel_size
    per_image = output.numel() // output.shape[0]
    module.total_ops += per_image * (module.in_channels // module.groups) * kernel_h * kernel_w


def _count_linear(module: nn.Linear, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
    module.total_ops += output.numel() // output.shape[0] * module.in_features


def thop_rules() -> dict[type, Any]:
    """``custom_ops`` for :func:`thop.profile` implementing the convention: Conv2d and Linear counted,
    every other module type thop knows (BatchNorm, pooling, other convs, norms, …) zero."""
    rules: dict[type, Any] = {module_type: zero_ops for module_type in register_hooks}
    rules[nn.Conv2d] = _count_conv2d
    rules[nn.Linear] = _count_linear
    return rules


def _positive(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SpecError(f"must be a positive integer, got {value!r}", path=path, value=value)
    return value


def _example_input(model: nn.Module, in_channels: int, resolution_px: int) -> torch.Tensor:
    reference = next(model.parameters(), None)
    device = reference.device if reference is not None else torch.device("cpu")
    dtype = reference.dtype if reference is not None and reference.is_floating_point() else torch.float32
    return torch.zeros(1, in_channels, resolution_px, resolution_px, device=device, dtype=dtype)


def measure_cost(model: nn.Module, resolution_px: int | None = None, in_channels: int | None = None) -> MeasuredCost:
    """Measure MACs (Conv2d and Linear, batch 1) and params of ``model`` with thop.

    Runs one forward pass of a zero image ``(1, in_channels, resolution_px, resolution_px)`` on the
    model's device in eval mode without gradients. The model is left as it was: thop's temporary
    ``total_ops`` / ``total_params`` attributes and hooks are removed, each module's training flag is
    restored, and BatchNorm running statistics are not updated (eval mode), so profiling twice gives
    the same result and the ``state_dict`` keeps its keys and values.

    Args:
        model: The network; a :func:`nasgen.nn.build_model` model or any ``nn.Module`` taking
            ``(N, C, H, W)`` images.
        resolution_px: Input resolution in px; defaults to ``model.spec.resolution_px``.
        in_channels: Input channels; defaults to ``model.spec.in_channels``, else 3.

    Raises:
        SpecError: No resolution given and the model has no spec, a non-positive resolution or
            channel count, or the forward pass rejects the input shape.
        TypeError: ``model`` is not an ``nn.Module``.

    Example:
        >>> from torchvision.models import efficientnet_b0
        >>> measure_cost(efficientnet_b0(), 224)
        MeasuredCost(macs=385814752, params=5288548)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"measure_cost needs a torch.nn.Module, got {type(model).__name__}")
    spec = getattr(model, "spec", None)
    if resolution_px is None:
        if spec is None:
            raise SpecError("no resolution given and the model has no spec", path="resolution_px")
        resolution_px = spec.resolution_px
    if in_channels is None:
        in_channels = spec.in_channels if spec is not None else 3
    image = _example_input(model, _positive(in_channels, "in_channels"), _positive(resolution_px, "resolution_px"))
    modules = list(model.modules())
    modes = [module.training for module in modules]
    had = [{name for name in _THOP_ATTRS if name in vars(m) or name in m._buffers} for m in modules]
    try:
        macs, _ = thop.profile(model, inputs=(image,), custom_ops=thop_rules(), verbose=False)
    except RuntimeError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(
            f"forward pass of a (1, {in_channels}, {resolution_px}, {resolution_px}) image failed: {first_line}",
            value=(in_channels, resolution_px),
        ) from exc
    finally:
        # thop ≥ 2.2 cleans up itself; older releases left buffers or a single root-level mode behind
        for module, mode, before in zip(modules, modes, had):
            for name in _THOP_ATTRS:
                if name not in before:
                    module._buffers.pop(name, None)
                    vars(module).pop(name, None)
            module.training = mode
    params = sum(p.numel() for p in model.parameters())
    return MeasuredCost(round(macs), params)
