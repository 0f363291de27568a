"""The block registry: stage ``kind`` → a builder that makes one block of that stage.

A builder is called once per block as::

    builder(stage, *, in_channels, stride, drop_path_rate, activation, bn_eps, bn_momentum) -> nn.Module

where ``stage`` is the stage spec (``kernel_size``, ``expand_ratio``, ``out_channels``, ``se_ratio``, …),
``in_channels``/``stride`` are those of this block (the stage's stride and the previous width for the
first block, 1 and ``stage.out_channels`` after it), ``drop_path_rate`` is this block's stochastic-depth
probability and the rest come from the :class:`~nasgen.spec.ArchSpec`. The module must map
``(N, in_channels, H, W)`` to ``(N, stage.out_channels, ceil(H / stride), ceil(W / stride))``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from torch import nn

from nasgen.errors import PluginError
from nasgen.nn._blocks import FusedMBConv, MBConv

__all__ = ["BlockBuilder", "block_registry", "register_block"]

BlockBuilder = Callable[..., nn.Module]

_BLOCKS: dict[str, BlockBuilder] = {}

block_registry: Mapping[str, BlockBuilder] = MappingProxyType(_BLOCKS)
"""Read-only view of the registered block builders, keyed by stage ``kind``."""


def register_block(kind: str, builder: BlockBuilder) -> BlockBuilder:
    """Register ``builder`` for stages whose ``kind`` is ``kind``.

    Args:
        kind: The stage tag, e.g. ``"mbconv"``.
        builder: Callable with the signature described in this module's docstring.

    Returns:
        ``builder`` unchanged, so this can be used as ``register_block("kind", f)`` or in a decorator helper.

    Raises:
        PluginError: ``kind`` is empty or not a string, ``builder`` is not callable, or ``kind`` is
            already registered.

    Example:
        >>> from nasgen.nn import block_registry
        >>> sorted(block_registry)
        ['fused_mbconv', 'mbconv']
    """
    if not isinstance(kind, str) or not kind:
        raise PluginError(f"block kind must be a non-empty string, got {kind!r}")
    if not callable(builder):
        raise PluginError(f"builder for block kind {kind!r} must be callable, got {builder!r}")
    if kind in _BLOCKS:
        raise PluginError(f"block kind {kind!r} is already registered (by {_BLOCKS[kind]!r})")
    _BLOCKS[kind] = builder
    return builder


def _build_mbconv(stage: Any, **kwargs: Any) -> nn.Module:
    return MBConv(
        kwargs.pop("in_channels"),
        stage.out_channels,
        kernel_size=stage.kernel_size,
        expand_ratio=stage.expand_ratio,
        se_ratio=stage.se_ratio,
        **kwargs,
    )


def _build_fused_mbconv(stage: Any, **kwargs: Any) -> nn.Module:
    return FusedMBConv(
        kwargs.pop("in_channels"),
        stage.out_channels,
        kernel_size=stage.kernel_size,
        expand_ratio=stage.expand_ratio,
        se_ratio=stage.se_ratio,
        **kwargs,
    )


register_block("mbconv", _build_mbconv)
register_block("fused_mbconv", _build_fused_mbconv)
