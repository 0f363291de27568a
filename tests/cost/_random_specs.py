"""A seeded generator of small, valid random architectures for cost cross-checks.

Covers both stage kinds, expansion 1 (single-conv Fused-MBConv, MBConv without the 1×1 expand),
SE off and odd SE ratios, stride 1/2, kernels 3/5/7, residual and non-residual blocks, 1 or 3 input
channels, stem kernel/stride, any activation, few or many classes, and odd resolutions (32–96 px,
32–64 px with a stride-1 stem) so that ``ceil(H / 2)`` rounding is exercised.
"""

from __future__ import annotations

import random

from nasgen.spec import ACTIVATIONS, KERNEL_SIZES, STRIDES, ArchSpec, spec_from_dict


def _stage(rng: random.Random, in_channels: int) -> dict:
    out_channels = in_channels if rng.random() < 0.3 else rng.randint(4, 24)
    return {
        "kind": rng.choice(["mbconv", "fused_mbconv"]),
        "num_layers": rng.randint(1, 2),
        "kernel_size": rng.choice(KERNEL_SIZES),
        "stride": rng.choice(STRIDES),
        "expand_ratio": rng.choice([1, 1, 2, 3, 4, 6]),
        "out_channels": out_channels,
        "se_ratio": rng.choice([0.0, 0.0, 0.25, 0.25, 0.1, 0.3, 0.5]),
    }


def random_spec(seed: int) -> ArchSpec:
    """A valid random :class:`ArchSpec`, the same one for the same ``seed``."""
    rng = random.Random(seed)
    stem = {"out_channels": rng.randint(4, 16), "kernel_size": rng.choice(KERNEL_SIZES), "stride": rng.choice(STRIDES)}
    stages, channels = [], stem["out_channels"]
    for _ in range(rng.randint(1, 4)):
        stage = _stage(rng, channels)
        stages.append(stage)
        channels = stage["out_channels"]
    # a stride-1 stem keeps the full resolution through the first stages: cap it to keep the test fast
    resolution_px = rng.randint(32, 64) if stem["stride"] == 1 else rng.randint(32, 96)
    return spec_from_dict(
        {
            "name": f"random-{seed}",
            "in_channels": rng.choice([1, 3]),
            "resolution_px": resolution_px,
            "stem": stem,
            "stages": stages,
            "head_channels": rng.randint(8, 48),
            "num_classes": rng.randint(1, 20),
            "activation": rng.choice(ACTIVATIONS),
        }
    )
