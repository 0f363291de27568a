"""What every test in tests/gpu/ shares: the ``gpu`` marker with a skip that says why, and small known tasks.

Run them with ``python -m pytest -m gpu`` on a machine with a CUDA device (``scripts/gpu_check.sh`` does, and
writes the figures of docs/gpu.md); elsewhere each one is collected and skipped with :data:`REASON`. The CPU
side of every branch they cover is tested in the normal suite (see docs/gpu.md, "What the tests cover").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from torch import nn

from nasgen.data import ImageDataset

CUDA = torch.cuda.is_available()
REASON = (
    "needs a CUDA device: torch.cuda.is_available() is False on this machine "
    f"(torch {torch.__version__}, {'built for CUDA ' + torch.version.cuda if torch.version.cuda else 'CPU-only build'})"
)

#: ``pytestmark = GPU_ONLY`` in a module: marked ``gpu`` (deselected by the default ``-m 'not gpu'``) and skipped
#: with :data:`REASON` where there is no CUDA device.
GPU_ONLY = [pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason=REASON)]


def toy(n: int = 64, seed: int = 0, size: int = 8, channels: int = 1) -> ImageDataset:
    """Two classes a tiny CNN separates in a few steps: a bright top-left square vs a bright bottom-right one."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, size=(n, size, size, channels), dtype=np.uint8)
    labels = np.arange(n) % 2
    half = size // 2
    images[labels == 0, :half, :half] += 150
    images[labels == 1, half:, half:] += 150
    return ImageDataset(images, labels.astype(np.int64), ["tl", "br"], "toy")


def toy_net(seed: int = 0, channels: int = 1) -> nn.Module:
    """Conv–BN–ReLU–conv–pool–linear, seeded without touching the global RNG. ``[3]``, the second convolution, has
    8 input channels: its tensors' layout is unambiguous (a 1-channel tensor is NCHW and NHWC at once)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Conv2d(channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 2),
        )


def conv_outputs(module: nn.Module) -> list[tuple[bool, torch.dtype, bool, str]]:
    """Record ``(training, output dtype, output is channels_last, device type)`` of every call of ``module``.

    Use it on a layer with more than one input channel (``toy_net()[3]``).
    """
    seen: list[tuple[bool, torch.dtype, bool, str]] = []

    def hook(mod, args, out):
        seen.append((mod.training, out.dtype, out.is_contiguous(memory_format=torch.channels_last), out.device.type))

    module.register_forward_hook(hook)
    return seen


@contextmanager
def exact_float32() -> Iterator[None]:
    """TF32 off for convolutions and matrix products (on by default for cuDNN convolutions since Ampere), so GPU
    and CPU float32 results can be compared to float32 rounding."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def assert_logits_close(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-3) -> None:
    """``max |actual − expected| ≤ rtol · max |expected|`` (an untrained net's logits are small, so a bare absolute
    tolerance would pass anything)."""
    actual, expected = actual.detach().float().cpu(), expected.detach().float().cpu()
    assert actual.shape == expected.shape
    scale = float(expected.abs().max())
    assert scale > 0
    assert float((actual - expected).abs().max()) <= rtol * scale, (actual, expected)
