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

from nasgen.spec import block_kinds

__all__ = ["BlockBuilder", "block_registry"]

BlockBuilder = Callable[..., nn.Module]


class _BlockRegistry(Mapping[str, BlockBuilder]):
    """Read-only view of the builders of the registered :class:`~nasgen.spec.BlockKind` descriptors.

    A kind made in code registers its builder in its descriptor, as a plugin's does:
    ``nasgen.spec.register_block_kind(BlockKind("toy_conv", builder=build))``.

    Example:
        >>> from nasgen.nn import block_registry
        >>> sorted(block_registry)
        ['fused_mbconv', 'mbconv']
    """

    def _table(self) -> dict[str, BlockBuilder]:
        table: dict[str, BlockBuilder] = {}
        for kind, descriptor in block_kinds().items():
            builder = descriptor.resolved_builder()
            if builder is not None:
                table[kind] = builder
        return table

    def __getitem__(self, kind: str) -> BlockBuilder:
        return self._table()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


block_registry: Mapping[str, BlockBuilder] = _BlockRegistry()
"""Read-only view of the block builders, keyed by stage ``kind`` (each kind's :class:`~nasgen.spec.BlockKind`)."""
