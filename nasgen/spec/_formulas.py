"""The width and stride formulas of the spec, written once and used by nn, cost, space, train, export and plugins.

Pure functions of plain numbers (no pydantic, no torch). ``se_channels`` and ``hidden_channels`` are also
copied verbatim into the generated ``model.py`` (see :mod:`nasgen.nn._standalone`), so they raise only
:class:`~nasgen.errors.SpecError`, which the generated module defines as a plain ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nasgen.errors import SpecError

__all__ = ["hidden_channels", "make_divisible", "network_stride", "se_channels", "total_stride"]


def se_channels(in_channels: int, se_ratio: float, expand_ratio: int = 1, rounding: str = "floor") -> int:
    """SE squeeze width of a block with ``in_channels`` inputs and expansion ``expand_ratio``.

    The squeeze is a fraction of the *block input* channels, not of the expanded width it gates
    (EfficientNet §4). ``rounding`` picks how the fraction becomes a count:

    * ``"floor"``: ``max(1, int(in_channels * se_ratio))``, torchvision's ``max(1, input_channels // 4)``
      at ratio 0.25 (nasgen's default);
    * ``"round"``: timm's ``round(hidden * (se_ratio / expand_ratio))`` with ``hidden = in_channels *
      expand_ratio`` (``EfficientNetBuilder._make_block`` divides the ratio by the expansion and
      ``SqueezeExcite`` rounds it against the hidden width), at least 1. Written in timm's order of float
      operations so that the count is the same bit for bit; the two rules differ where
      ``in_channels * se_ratio`` is not whole (e.g. 19 · 0.25: floor 4, round 5).

    Args:
        in_channels: Block input channels C_in (for a Fused-MBConv with ``expand_in_channels``: that count).
        se_ratio: Fraction in ``[0, 1]``; 0 = no SE.
        expand_ratio: The block's expansion ratio (read by ``"round"`` only).
        rounding: ``"floor"`` or ``"round"``.

    Returns:
        The squeeze width, or 0 (no SE) when ``se_ratio`` is 0.

    Raises:
        SpecError: ``se_ratio`` outside ``[0, 1]`` (path ``se_ratio``) or an unknown ``rounding`` (path
            ``se_rounding``).
    """
    if not 0.0 <= se_ratio <= 1.0:
        raise SpecError(f"must be in [0, 1], got {se_ratio!r}", path="se_ratio", value=se_ratio)
    if se_ratio == 0.0:
        return 0
    if rounding == "floor":
        return max(1, int(in_channels * se_ratio))
    if rounding == "round":
        return max(1, round(in_channels * expand_ratio * (se_ratio / expand_ratio)))
    raise SpecError(f"must be 'floor' or 'round', got {rounding!r}", path="se_rounding", value=rounding)


def hidden_channels(in_channels: int, expand_ratio: int) -> int:
    """Hidden (expanded) width of an MBConv / Fused-MBConv block: ``in_channels * expand_ratio``, no rounding.

    Equals torchvision's ``_make_divisible(in · e, 8)`` for every torchvision EfficientNet. A Fused-MBConv
    block with ``expand_ratio == 1`` has no hidden width: its single k×k conv maps straight to C_out.
    """
    return in_channels * expand_ratio


def network_stride(stem_stride: int, stage_strides: Iterable[int]) -> int:
    """Downsampling factor of a network: the stem stride times 2 for each stride-2 stage."""
    return stem_stride * 2 ** sum(1 for stride in stage_strides if stride == 2)


def total_stride(spec: Any) -> int:
    """Total downsampling factor of an :class:`~nasgen.spec.ArchSpec` (32 for EfficientNet-B0).

    The smallest valid ``resolution_px``: below it several stages would run on a 1×1 map.
    """
    return network_stride(spec.stem.stride, (stage.stride for stage in spec.stages))


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None, round_limit: float = 0.9) -> int:
    """Round a channel count to the nearest multiple of ``divisor`` (half up), never more than 10 % below it.

    TF EfficientNet's ``round_filters``, torchvision's ``_make_divisible`` and timm's ``make_divisible``.

    Args:
        value: The (scaled) channel count, e.g. ``320 * 1.1``.
        divisor: The multiple (8 in EfficientNet).
        min_value: Floor of the result; ``None`` = ``divisor``.
        round_limit: Add one ``divisor`` when rounding lost more than ``1 - round_limit`` of ``value``.

    Example:
        >>> make_divisible(32 * 1.1), make_divisible(40 * 1.4), make_divisible(16 * 1.8)
        (32, 56, 32)
    """
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return int(rounded)
