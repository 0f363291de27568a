"""Upper bounds of the numeric spec fields, stated in the JSON Schema.

No real network comes near them (EfficientNet-B7: 640 stage / 2560 head channels, 15-layer stages, 600 px;
EfficientNetV2-L: 25-layer stages). They keep a typo or a fuzzed value from making cost counting, space
counting or model building do work proportional to it: every value is checked against them before use.
"""

from __future__ import annotations

__all__ = [
    "MAX_BN_EPS",
    "MAX_BN_MOMENTUM",
    "MAX_CHANNELS",
    "MAX_EXPAND_RATIO",
    "MAX_IN_CHANNELS",
    "MAX_LAYERS",
    "MAX_NUM_CLASSES",
    "MAX_RESOLUTION_PX",
    "MAX_STAGES",
]

MAX_CHANNELS = 16384
"""Most output channels of the stem, of a stage and of the head."""

MAX_LAYERS = 100
"""Most blocks in one stage."""

MAX_EXPAND_RATIO = 16
"""Largest expansion ratio of a stage's hidden width."""

MAX_STAGES = 64
"""Most stages of an architecture (and of a search space)."""

MAX_RESOLUTION_PX = 4096
"""Largest input resolution, px."""

MAX_IN_CHANNELS = 1024
"""Most input image channels (hyperspectral images included)."""

MAX_NUM_CLASSES = 1_000_000
"""Most classifier outputs."""

MAX_BN_EPS = 0.1
"""Largest BatchNorm epsilon (PyTorch's default is 1e-5, TensorFlow's 1e-3)."""

MAX_BN_MOMENTUM = 0.5
"""Largest BatchNorm momentum in PyTorch's convention; TensorFlow's 0.99 is PyTorch's 0.01."""
