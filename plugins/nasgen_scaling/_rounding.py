"""The rounding rules of compound scaling (EfficientNet §3.3; TF ``round_filters`` / ``round_repeats``)."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from nasgen.errors import SpecError
from nasgen.spec import make_divisible

__all__ = ["check_at_least", "check_non_negative", "round_channels", "round_repeats", "round_resolution"]


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise SpecError(f"must be a finite number, got {value!r}", path=name, value=value)
    return float(value)


def check_non_negative(value: Any, name: str) -> float:
    """``value`` as a float when it is a finite number ≥ 0.

    Raises:
        SpecError: Naming ``name`` and echoing the value.
    """
    number = _number(value, name)
    if number < 0:
        raise SpecError(f"must be >= 0, got {value!r}", path=name, value=value)
    return number


def check_at_least(value: Any, name: str, low: float = 1.0) -> float:
    """``value`` as a float when it is a finite number ≥ ``low`` (scaling coefficients never shrink).

    Raises:
        SpecError: Naming ``name`` and echoing the value.
    """
    number = _number(value, name)
    if number < low:
        raise SpecError(f"must be >= {low:g}, got {value!r}", path=name, value=value)
    return number


def round_channels(channels: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a scaled channel count to a multiple of ``divisor``, never below 90% of it.

    The rule of TF EfficientNet's ``round_filters`` and torchvision/timm ``_make_divisible``: round to the
    nearest multiple (half up), at least ``min_value`` (default ``divisor``), and add one ``divisor``
    when rounding lost more than 10%.

    Args:
        channels: The scaled count, e.g. ``320 * 1.1``.
        divisor: The multiple (8 in EfficientNet).
        min_value: Floor of the result; ``None`` = ``divisor``.

    Returns:
        The rounded channel count.

    Example:
        >>> round_channels(32 * 1.1), round_channels(40 * 1.4), round_channels(16 * 1.8)
        (32, 56, 32)
    """
    return make_divisible(channels, divisor, min_value)


def round_repeats(num_layers: int, depth: float) -> int:
    """Scaled repeats of a stage: ``ceil(depth · num_layers)`` (TF ``round_repeats``, torchvision ``adjust_depth``).

    Example:
        >>> round_repeats(3, 1.1), round_repeats(1, 3.1), round_repeats(4, 1.2)
        (4, 4, 5)
    """
    return int(math.ceil(num_layers * depth))


def round_resolution(resolution_px: float, divisor: int = 1) -> int:
    """Scaled input resolution: the nearest multiple of ``divisor`` px, halves rounded up, at least ``divisor``.

    With the default ``divisor=1`` this is the nearest integer (B0's 224 px at γ = 1.15 → 258 px); the
    released family is not on a grid of 8 either (260, 300, 380 px).

    Example:
        >>> round_resolution(224 * 1.15), round_resolution(224 * 1.15, 8)
        (258, 256)
    """
    return max(divisor, int(math.floor(resolution_px / divisor + 0.5)) * divisor)
