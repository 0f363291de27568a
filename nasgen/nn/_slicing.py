"""Weight slicing: a smaller architecture's weights cut out of a larger one's (Once-for-All's elastic dimensions).

Once-for-All (Cai et al., 2020, §3.2) shares one network's weights among its sub-networks: elastic depth keeps
the first blocks of a stage, elastic width (expansion, output channels) keeps the first channels, elastic kernel
keeps the centre of the largest kernel. Prefix slices are only good sub-networks when the first channels are the
important ones, so OFA sorts each block's hidden channels by importance, the L1 norm of their output-side weights
(§3.2, "elastic width"), a reordering that leaves the network's function unchanged. Here:

* :class:`SlicingRule` (one per block kind, named by :attr:`nasgen.spec.BlockKind.slicing`) says which of a
  block's channels may be permuted together (:class:`ChannelGroup`), optionally which stages never share weights
  (``variant``) and how one tensor is cut (default :func:`slice_tensor`). Tensors are matched by name, so a block
  without a part takes none of it: MBConv with expansion 1 (no expansion conv) runs on the first channels of a
  larger block's depthwise and projection weights, a block without SE leaves the SE out;
* :func:`sort_channels` reorders every block's hidden and SE channels by importance, function-preserving;
* :func:`~nasgen.nn.inherit_state_dict` (``_inherit.py``) cuts a sub-architecture's state dict out of a larger
  one's, checking that it is one.

The stage widths (the residual stream) are sliced as plain prefixes, as BigNAS trains them (Yu et al., 2020,
§3.1): sorting them would have to permute every block of a stage, the next stage's input and the head together.
The supernet (:mod:`nasgen.supernet`) uses the same rules and the same cutting (one implementation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from nasgen.errors import PluginError, SpecError
from nasgen.spec import block_kind, resolve

__all__ = [
    "FUSED_MBCONV_SLICING",
    "MBCONV_SLICING",
    "ChannelGroup",
    "SlicingRule",
    "bn_members",
    "se_channel_group",
    "slice_block",
    "slice_tensor",
    "slicing_rule",
    "sort_block_channels",
    "sort_channels",
]

Member = tuple[str, int]
"""``(tensor name in the block's state dict, dimension)`` indexed by a group's channels."""


@dataclass(frozen=True)
class ChannelGroup:
    """Channels of one block that can be permuted together without changing the block's function.

    Attributes:
        requires: The group exists only when the block has this tensor (e.g. ``conv_pw.weight``: an MBConv
            block without expansion has no hidden channels of its own, they are its input's).
        importance: ``(tensor, dim)``: a channel's importance is the L1 norm of this tensor's slice at the
            channel over every other dimension (OFA §3.2: the output-side weights).
        members: Every ``(tensor, dim)`` indexed by these channels; members the block lacks are skipped.
    """

    requires: str
    importance: Member
    members: tuple[Member, ...]


@dataclass(frozen=True)
class SlicingRule:
    """How a larger block of one kind holds the kind's smaller blocks.

    Attributes:
        groups: The block's permutable channel groups, sorted by :func:`sort_block_channels`.
        variant: ``variant(stage) → str``: stages of one kind share weights only within one variant; ``None``
            (the built-in kinds): every stage of the kind is one variant, ``""``.
        slice: ``slice(name, source, shape) → Tensor`` cutting one tensor of the block (its name in the block's
            state dict); ``None`` = :func:`slice_tensor` (prefix per dimension, centre crop of kernels).
    """

    groups: tuple[ChannelGroup, ...] = ()
    variant: Callable[[Any], str] | None = None
    slice: Callable[[str, Tensor, Sequence[int]], Tensor] | None = None

    def variant_of(self, stage: Any) -> str:
        """The weight-sharing variant of ``stage`` (``""`` when the kind has one)."""
        return self.variant(stage) if self.variant is not None else ""

    def cut(self, name: str, source: Tensor, shape: Sequence[int]) -> Tensor:
        """Tensor ``name`` of a smaller block of ``shape``, a view of ``source`` (see :attr:`slice`)."""
        return self.slice(name, source, shape) if self.slice is not None else slice_tensor(source, shape)


def bn_members(prefix: str, dim: int = 0) -> tuple[Member, ...]:
    """The four per-channel tensors of BatchNorm ``prefix`` (affine weight and bias, running mean and variance)."""
    return tuple((f"{prefix}.{name}", dim) for name in ("weight", "bias", "running_mean", "running_var"))


def se_channel_group(prefix: str = "se") -> ChannelGroup:
    """The squeeze channels of the :class:`~nasgen.nn.SqueezeExcite` at ``prefix``, ranked by ``conv_expand``."""
    return ChannelGroup(
        requires=f"{prefix}.conv_reduce.weight",
        importance=(f"{prefix}.conv_expand.weight", 1),
        members=((f"{prefix}.conv_reduce.weight", 0), (f"{prefix}.conv_reduce.bias", 0),
                 (f"{prefix}.conv_expand.weight", 1)),
    )  # fmt: skip


_SE_GATED = (("se.conv_reduce.weight", 1), ("se.conv_expand.weight", 0), ("se.conv_expand.bias", 0))


MBCONV_SLICING = SlicingRule(
    groups=(
        ChannelGroup(
            requires="conv_pw.weight",
            importance=("conv_pwl.weight", 1),
            members=(("conv_pw.weight", 0), *bn_members("bn1"), ("conv_dw.weight", 0), *bn_members("bn2"),
                     *_SE_GATED, ("conv_pwl.weight", 1)),
        ),  # fmt: skip
        se_channel_group(),
    ),
)
"""MBConv: hidden channels (expansion conv rows … projection columns) and SE squeeze channels."""

FUSED_MBCONV_SLICING = SlicingRule(
    groups=(
        ChannelGroup(
            requires="conv_pwl.weight",
            importance=("conv_pwl.weight", 1),
            members=(("conv_exp.weight", 0), *bn_members("bn1"), *_SE_GATED, ("conv_pwl.weight", 1)),
        ),
        se_channel_group(),
    ),
)
"""Fused-MBConv: hidden channels of the k×k expansion and SE squeeze channels."""


def slicing_rule(kind: str, *, path: str = "kind") -> SlicingRule:
    """The :class:`SlicingRule` of block kind ``kind`` (its descriptor's :attr:`~nasgen.spec.BlockKind.slicing`).

    Raises:
        SpecError: The kind has no slicing rule (``path`` names the field).
        PluginError: Unknown kind, or its ``slicing`` does not import or is not a :class:`SlicingRule`.
    """
    rule = resolve(block_kind(kind).slicing)
    if rule is None:
        raise SpecError(f"block kind {kind!r} has no slicing rule, a supernet cannot share it", path=path,
                        value=kind)  # fmt: skip
    if not isinstance(rule, SlicingRule):
        raise PluginError(f"the slicing rule of block kind {kind!r} must be a nasgen.nn.SlicingRule, got {rule!r}")
    return rule


def slice_tensor(source: Tensor, shape: Sequence[int]) -> Tensor:
    """The leading ``shape`` of ``source`` as a view; the two kernel dimensions of a 4-D weight centre-cropped.

    OFA §3.2: a smaller kernel is the centre of the largest (its transformation matrices are not used), every
    other dimension keeps its first entries (channels sorted by importance come first).

    Args:
        source: A tensor of the larger block, e.g. a conv weight ``(C_out, C_in / groups, K, K)``.
        shape: The smaller tensor's shape; each size at most the source's, and a kernel's odd like it.

    Returns:
        A view of ``source`` (gradients flow back into it).

    Raises:
        SpecError: Another number of dimensions, a larger size, or a kernel crop that is not centred.
    """
    if source.ndim != len(shape):
        raise SpecError(f"needs {len(shape)} dimensions, the source has {source.ndim}", value=tuple(shape))
    index = []
    for dim, (have, want) in enumerate(zip(source.shape, shape)):
        if want > have:
            raise SpecError(f"needs shape {tuple(shape)}, the source has only {tuple(source.shape)}",
                            value=tuple(shape))  # fmt: skip
        start = 0
        if source.ndim == 4 and dim >= 2:
            if (have - want) % 2:
                raise SpecError(f"a {want}-wide kernel has no centre in a {have}-wide one", value=want)
            start = (have - want) // 2
        index.append(slice(start, start + want))
    return source[tuple(index)]


def slice_block(
    rule: SlicingRule, source: Mapping[str, Tensor], targets: Mapping[str, Sequence[int]], *, where: str = ""
) -> dict[str, Tensor]:
    """Every tensor of a smaller block, cut from the larger block's ``source`` by ``rule``.

    Args:
        rule: The block kind's rule.
        source: The larger block's tensors by state-dict name (``conv_pw.weight``, ``bn1.running_mean``, …).
        targets: The smaller block's tensor shapes by the same names.
        where: Prefix of the names in error paths (``stages.2.0``).

    Returns:
        ``{name: view of the source tensor}`` in the order of ``targets``.

    Raises:
        SpecError: A target tensor the source lacks or cannot hold; ``path`` is its full name.
    """
    out = {}
    for name, shape in targets.items():
        path = f"{where}.{name}" if where else name
        if name not in source:
            raise SpecError("the source has no such tensor", path=path)
        try:
            out[name] = rule.cut(name, source[name], shape)
        except SpecError as exc:
            raise SpecError(exc.message, path=path, value=exc.value) from None
    return out


# -- sorting ----------------------------------------------------------------------------------------


@torch.no_grad()
def sort_block_channels(block: nn.Module, rule: SlicingRule) -> int:
    """Reorder each channel group of ``block`` by importance, most important first; the function is unchanged.

    Returns:
        How many groups were sorted (those whose ``requires`` tensor the block has).
    """
    tensors = block.state_dict(keep_vars=True)
    sorted_groups = 0
    for group in rule.groups:
        if group.requires not in tensors:
            continue
        name, dim = group.importance
        weight = tensors[name].detach()
        importance = weight.abs().sum(dim=[d for d in range(weight.ndim) if d != dim])
        order = torch.argsort(importance, descending=True, stable=True)
        for key, member_dim in group.members:
            if key in tensors:
                tensor = tensors[key].data
                tensor.copy_(tensor.index_select(member_dim, order.to(tensor.device)))
        sorted_groups += 1
    return sorted_groups


def sort_channels(model: nn.Module) -> nn.Module:
    """Sort every block's hidden (expansion) and SE channels by importance, in place (OFA §3.2).

    A function-preserving reordering: logits are unchanged up to float rounding, but the first channels of each
    block are now its most important, so a prefix slice (:func:`inherit_state_dict`) keeps them. Stage widths
    are left in their order (see the module docstring).

    Args:
        model: An :class:`~nasgen.nn.EfficientNet` (``model.spec`` and ``model.stages``).

    Returns:
        ``model``.

    Raises:
        SpecError: A stage's kind has no slicing rule (path ``stages.{i}.kind``).
    """
    for index, stage in enumerate(model.spec.stages):
        rule = slicing_rule(stage.kind, path=f"stages.{index}.kind")
        for block in model.stages[index]:
            sort_block_channels(block, rule)
    return model
