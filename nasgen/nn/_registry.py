"""The block registry: stage ``kind`` → a builder that makes one block of that stage.

A builder is called once per block as::

    builder(stage, *, in_channels, stride, drop_path_rate, activation, bn_eps, bn_momentum) -> nn.Module

where ``stage`` is the stage spec (``kernel_size``, ``expand_ratio``, ``out_channels``, ``se_ratio``, …),
``in_channels``/``stride`` are those of this block (the stage's stride and the previous width for the
first block, 1 and ``stage.out_channels`` after it), ``drop_path_rate`` is this block's stochastic-depth
probability and the rest come from the :class:`~nasgen.spec.ArchSpec`. Only a spec that sets them also
passes ``padding="same"`` (TensorFlow's SAME, :func:`~nasgen.nn.make_conv`) and ``se_rounding="round"``
(:func:`~nasgen.spec.se_channels`), so a builder written before them still builds every spec that does not
(one that does gets a :class:`~nasgen.errors.SpecError` naming the keyword). The module must map
``(N, in_channels, H, W)`` to ``(N, stage.out_channels, ceil(H / stride), ceil(W / stride))``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from torch import nn

from nasgen.errors import PluginError
from nasgen.spec import block_kinds

__all__ = ["BlockBuilder", "block_registry", "register_block"]

BlockBuilder = Callable[..., nn.Module]

_BLOCKS: dict[str, BlockBuilder] = {}
"""Builders registered directly with :func:`register_block` (a kind's descriptor is the usual home)."""


class _BlockRegistry(Mapping[str, BlockBuilder]):
    """Read-only view: the builders of the registered :class:`~nasgen.spec.BlockKind` descriptors, then
    those registered with :func:`register_block`."""

    def _table(self) -> dict[str, BlockBuilder]:
        table: dict[str, BlockBuilder] = {}
        for kind, descriptor in block_kinds().items():
            builder = descriptor.resolved_builder()
            if builder is not None:
                table[kind] = builder
        for kind, builder in _BLOCKS.items():
            table.setdefault(kind, builder)
        return table

    def __getitem__(self, kind: str) -> BlockBuilder:
        return self._table()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


block_registry: Mapping[str, BlockBuilder] = _BlockRegistry()
"""Read-only view of the block builders, keyed by stage ``kind``."""


def register_block(kind: str, builder: BlockBuilder) -> BlockBuilder:
    """Register ``builder`` for stages whose ``kind`` is ``kind`` and whose descriptor names no builder.

    A plugin gives the builder in its :class:`~nasgen.spec.BlockKind` (``nasgen_block_kinds`` hook); this is
    for kinds made in code.

    Args:
        kind: The stage tag, e.g. ``"toy_conv"``.
        builder: Callable with the signature described in this module's docstring.

    Returns:
        ``builder`` unchanged.

    Raises:
        PluginError: ``kind`` is empty or not a string, ``builder`` is not callable, or ``kind`` already
            has a builder.

    Example:
        >>> from nasgen.nn import block_registry
        >>> sorted(block_registry)
        ['fused_mbconv', 'mbconv']
    """
    if not isinstance(kind, str) or not kind:
        raise PluginError(f"block kind must be a non-empty string, got {kind!r}")
    if not callable(builder):
        raise PluginError(f"builder for block kind {kind!r} must be callable, got {builder!r}")
    if kind in block_registry:
        raise PluginError(f"block kind {kind!r} is already registered (by {block_registry[kind]!r})")
    _BLOCKS[kind] = builder
    return builder
