"""Depthwise convolution on tiny maps as a matrix product: MBConv's CPU training path at 1×1 and 2×2.

Copied into the generated ``model.py`` with the ``mbconv`` kind's ``source``, so the rules of
:mod:`nasgen.nn._layers` apply: only ``torch``, ``F``, ``Tensor`` and ``typing`` names at module level.
"""

from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["depthwise_conv_small_map"]


def _tap_index(height: int, width: int, kernel_size: int, stride: int, padding: int) -> Tuple[Tensor, int, int]:
    """(H·W, H_out·W_out) long tensor: which kernel tap links input pixel i to output pixel o (k² = none).

    Cached per geometry (at most 256 entries) on the function itself, so the module needs no global.
    """
    cache: Dict[Tuple[int, ...], Tuple[Tensor, int, int]] = _tap_index.__dict__.setdefault("cache", {})
    key = (height, width, kernel_size, stride, padding)
    if key in cache:
        return cache[key]
    out_h = (height + 2 * padding - kernel_size) // stride + 1
    out_w = (width + 2 * padding - kernel_size) // stride + 1
    index = torch.full((height * width, out_h * out_w), kernel_size * kernel_size, dtype=torch.long)
    for oy in range(out_h):
        for ox in range(out_w):
            for ty in range(kernel_size):
                iy = oy * stride + ty - padding
                if not 0 <= iy < height:
                    continue
                for tx in range(kernel_size):
                    ix = ox * stride + tx - padding
                    if 0 <= ix < width:
                        index[iy * width + ix, oy * out_w + ox] = ty * kernel_size + tx
    if len(cache) >= 256:
        cache.clear()
    cache[key] = (index, out_h, out_w)
    return cache[key]


def depthwise_conv_small_map(x: Tensor, weight: Tensor, stride: int, padding: int) -> Tensor:
    """Depthwise convolution written as a per-channel (H·W × H_out·W_out) matrix product, for tiny maps.

    The same function as ``F.conv2d(x, weight, stride=stride, padding=padding, groups=C)`` up to float
    rounding, with the same gradients. On the CPU, oneDNN's depthwise backward pass is pathologically slow
    when the map is no larger than the kernel (e.g. 42 ms for a (64, 1152, 1, 1) input and a 5×5 kernel,
    against 0.6 ms here; measured on 2 cores, ``benchmarks/depthwise_small_map.py``). That is the common case
    in a proxy training at 32 px, where the last stages of an EfficientNet run at 2×2 and 1×1.

    Args:
        x: ``(N, C, H, W)`` input with ``H·W`` small (the cost is ``N·C·H·W·H_out·W_out`` multiply-adds).
        weight: ``(C, 1, k, k)`` depthwise kernel.
        stride: Convolution stride.
        padding: Zero padding on each side (px).

    Returns:
        ``(N, C, H_out, W_out)`` with ``H_out = (H + 2·padding − k) // stride + 1``.
    """
    n, c, height, width = x.shape
    k = weight.shape[-1]
    index, out_h, out_w = _tap_index(height, width, k, stride, padding)
    taps = F.pad(weight.reshape(c, k * k), (0, 1))  # a zero tap for pixel pairs no tap links
    matrix = taps[:, index.to(x.device)]  # (C, H·W, H_out·W_out)
    y = (x.reshape(n, c, height * width, 1) * matrix).sum(2)
    return y.reshape(n, c, out_h, out_w)
