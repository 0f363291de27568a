"""Key mapping from timm's EfficientNet state dicts (``timm/models/efficientnet.py``) to nasgen's names.

timm is not a dependency; the scheme below was read from timm's source (``EfficientNet.__init__`` and
``timm/models/_efficientnet_blocks.py``: ``DepthwiseSeparableConv``, ``InvertedResidual``,
``EdgeResidual``, ``ConvBnAct``):

==========================================  ==========================================
timm                                        nasgen
==========================================  ==========================================
``conv_stem`` / ``bn1``                     ``stem.conv`` / ``stem.bn``
``blocks.{i}.{j}.*``                        ``stages.{i}.{j}.*``
``ir`` (MBConv, expand ≠ 1)                 same names: ``conv_pw``, ``bn1``, ``conv_dw``, ``bn2``,
                                            ``se.conv_reduce``, ``se.conv_expand``, ``conv_pwl``, ``bn3``
``ds`` (MBConv, expand 1): ``conv_dw``,     ``conv_dw``, ``bn2``, ``se.*``, ``conv_pwl``, ``bn3``
``bn1``, ``se.*``, ``conv_pw``, ``bn2``
``er`` (Fused-MBConv, expand ≠ 1 or          same names: ``conv_exp``, ``bn1``, ``se.*``, ``conv_pwl``, ``bn2``
``always_project``)
``cn`` (Fused-MBConv, expand 1): ``conv``,  ``conv_exp``, ``bn1``
``bn1``
``conv_head`` / ``bn2``                     ``head.conv`` / ``head.bn``
``classifier``                              ``classifier``
==========================================  ==========================================

Only names are mapped; shapes are checked on loading. The outputs agree with timm's where the spec states
what the timm model computes (``padding: same`` for the ``tf_`` ports, their BN epsilon, ``se_rounding:
round`` where timm's ``round`` and nasgen's ``int`` squeeze widths differ, …): :func:`nasgen.timm.from_timm`
reads that spec off a timm model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from nasgen.errors import SpecError
from nasgen.nn._model import EfficientNet
from nasgen.nn._torchvision import BN_ENTRIES, load_mapped_state
from nasgen.spec import ArchSpec

__all__ = ["from_timm_state_dict", "timm_key_map"]

_CONV = ("weight",)
_BIASED = ("weight", "bias")
_SE = [("se.conv_reduce", "se.conv_reduce", _BIASED), ("se.conv_expand", "se.conv_expand", _BIASED)]


def _mbconv_names(stage: Any, path: str) -> list[tuple[str, str, tuple[str, ...]]]:
    se = _SE if stage.se_ratio > 0 else []
    if stage.expand_ratio == 1:  # timm "ds": DepthwiseSeparableConv
        return [("conv_dw", "conv_dw", _CONV), ("bn1", "bn2", BN_ENTRIES), *se,
                ("conv_pw", "conv_pwl", _CONV), ("bn2", "bn3", BN_ENTRIES)]
    return [("conv_pw", "conv_pw", _CONV), ("bn1", "bn1", BN_ENTRIES), ("conv_dw", "conv_dw", _CONV),
            ("bn2", "bn2", BN_ENTRIES), *se, ("conv_pwl", "conv_pwl", _CONV), ("bn3", "bn3", BN_ENTRIES)]


def _fused_names(stage: Any, path: str) -> list[tuple[str, str, tuple[str, ...]]]:
    se = _SE if stage.se_ratio > 0 else []
    if stage.expand_ratio == 1 and not stage.always_project:  # timm "cn": ConvBnAct, which has no SE
        if se:
            raise SpecError(
                f"timm's single-conv block (cn) has no SE, got se_ratio {stage.se_ratio}",
                path=f"{path}.se_ratio",
                value=stage.se_ratio,
            )
        return [("conv", "conv_exp", _CONV), ("bn1", "bn1", BN_ENTRIES)]
    return [("conv_exp", "conv_exp", _CONV), ("bn1", "bn1", BN_ENTRIES), *se,
            ("conv_pwl", "conv_pwl", _CONV), ("bn2", "bn2", BN_ENTRIES)]


_BLOCK_NAMES = {"mbconv": _mbconv_names, "fused_mbconv": _fused_names}


def timm_key_map(spec: ArchSpec) -> dict[str, str]:
    """Map every timm state-dict key of ``spec``'s network to the nasgen key (see module docstring).

    Args:
        spec: An architecture of MBConv and Fused-MBConv stages.

    Returns:
        ``{timm_key: nasgen_key}`` covering parameters and BN buffers, in network order.

    Raises:
        SpecError: A stage kind timm's EfficientNet lacks, or an SE on a single-conv Fused-MBConv.

    Example:
        >>> from nasgen.nn import timm_key_map
        >>> from nasgen.spec import load_spec
        >>> timm_key_map(load_spec("efficientnet-b0"))["blocks.0.0.conv_pw.weight"]
        'stages.0.0.conv_pwl.weight'
    """
    pairs: list[tuple[str, str, tuple[str, ...]]] = [
        ("conv_stem", "stem.conv", _CONV),
        ("bn1", "stem.bn", BN_ENTRIES),
    ]
    for i, stage in enumerate(spec.stages):
        names_of = _BLOCK_NAMES.get(stage.kind)
        if names_of is None:
            raise SpecError(f"timm has no {stage.kind!r} block", path=f"stages.{i}.kind", value=stage.kind)
        names = names_of(stage, f"stages.{i}")
        for j in range(stage.num_layers):
            pairs += [(f"blocks.{i}.{j}.{theirs}", f"stages.{i}.{j}.{ours}", kept) for theirs, ours, kept in names]
    pairs += [("conv_head", "head.conv", _CONV), ("bn2", "head.bn", BN_ENTRIES), ("classifier", "classifier", _BIASED)]
    return {f"{theirs}.{entry}": f"{ours}.{entry}" for theirs, ours, entries in pairs for entry in entries}


def from_timm_state_dict(state_dict: Mapping[str, Tensor], spec: ArchSpec) -> EfficientNet:
    """Build ``spec`` and load a timm EfficientNet state dict into it (keys renamed by :func:`timm_key_map`).

    Args:
        state_dict: ``timm.create_model("efficientnet_b0").state_dict()`` or the like.
        spec: The architecture the weights belong to (a state dict does not record strides).

    Returns:
        The model in training mode.

    Raises:
        SpecError: The spec has a kind timm lacks, or the keys or shapes do not match it.
    """
    return load_mapped_state(spec, state_dict, timm_key_map(spec))
