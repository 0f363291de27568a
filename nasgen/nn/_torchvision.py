"""Loading torchvision's ``efficientnet_b0..b7`` / ``efficientnet_v2_s/m/l`` weights under nasgen's names.

Key scheme (torchvision → nasgen; ``S`` = number of stages, stage ``i`` is ``features.{i+1}``):

==========================================  ==========================================
torchvision                                 nasgen
==========================================  ==========================================
``features.0.0`` / ``features.0.1``         ``stem.conv`` / ``stem.bn``
MBConv, expand_ratio ≠ 1: ``block.0.0/1``   ``conv_pw`` / ``bn1``
MBConv depthwise ``block.{o}.0/1``          ``conv_dw`` / ``bn2`` (``o`` = 1 with expansion, else 0)
MBConv SE ``block.{o+1}.fc1/fc2``           ``se.conv_reduce`` / ``se.conv_expand``
MBConv project ``block.{o+2}.0/1``          ``conv_pwl`` / ``bn3``
Fused-MBConv ``block.0.0/1``                ``conv_exp`` / ``bn1``
Fused-MBConv, expand ≠ 1: ``block.1.0/1``   ``conv_pwl`` / ``bn2``
``features.{S+1}.0`` / ``features.{S+1}.1`` ``head.conv`` / ``head.bn``
``classifier.1``                            ``classifier``
==========================================  ==========================================

Block keys are prefixed ``features.{i+1}.{j}.`` in torchvision and ``stages.{i}.{j}.`` in nasgen. BN
entries carry ``weight``, ``bias``, ``running_mean``, ``running_var``, ``num_batches_tracked``.
torchvision hard-codes SiLU, an SE of ``max(1, in // 4)`` in every MBConv and none in Fused-MBConv, so only
specs with ``activation: silu``, MBConv ``se_ratio`` giving that width and Fused-MBConv ``se_ratio: 0`` map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from nasgen.errors import SpecError
from nasgen.nn._blocks import se_channels
from nasgen.nn._model import EfficientNet
from nasgen.spec import ArchSpec, builtin_architectures, load_spec, spec_from_dict

__all__ = ["BN_ENTRIES", "from_torchvision", "load_mapped_state", "spec_from_torchvision", "torchvision_key_map"]

BN_ENTRIES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
"""State-dict entries of one BatchNorm2d (torchvision, timm and nasgen alike)."""

_ENTRIES = {"conv": ("weight",), "biased": ("weight", "bias"), "bn": BN_ENTRIES}


def _mbconv_pairs(stage: Any, path: str, in_channels: int) -> list[tuple[str, str, str]]:
    if se_channels(in_channels, stage.se_ratio) != max(1, in_channels // 4):
        raise SpecError(
            f"torchvision's MBConv has an SE of max(1, in // 4) = {max(1, in_channels // 4)} channels for "
            f"{in_channels} inputs, se_ratio {stage.se_ratio} gives {se_channels(in_channels, stage.se_ratio)}",
            path=f"{path}.se_ratio",
            value=stage.se_ratio,
        )
    pairs = [("0.0", "conv_pw", "conv"), ("0.1", "bn1", "bn")] if stage.expand_ratio != 1 else []
    o = len(pairs) // 2
    pairs += [(f"{o}.0", "conv_dw", "conv"), (f"{o}.1", "bn2", "bn")]
    pairs += [(f"{o + 1}.fc1", "se.conv_reduce", "biased"), (f"{o + 1}.fc2", "se.conv_expand", "biased")]
    pairs += [(f"{o + 2}.0", "conv_pwl", "conv"), (f"{o + 2}.1", "bn3", "bn")]
    return pairs


def _fused_pairs(stage: Any, path: str, in_channels: int) -> list[tuple[str, str, str]]:
    for option in ("always_project", "expand_in_channels"):
        if getattr(stage, option, None):
            raise SpecError(f"torchvision's Fused-MBConv has no {option}", path=f"{path}.{option}")
    if stage.se_ratio != 0.0:
        raise SpecError(
            f"torchvision's Fused-MBConv has no SE, got se_ratio {stage.se_ratio}",
            path=f"{path}.se_ratio",
            value=stage.se_ratio,
        )
    pairs = [("0.0", "conv_exp", "conv"), ("0.1", "bn1", "bn")]
    if stage.expand_ratio != 1:
        pairs += [("1.0", "conv_pwl", "conv"), ("1.1", "bn2", "bn")]
    return pairs


_BLOCK_PAIRS = {"mbconv": _mbconv_pairs, "fused_mbconv": _fused_pairs}


def _add(mapping: dict[str, str], tv_prefix: str, ours_prefix: str, entries: str) -> None:
    for entry in _ENTRIES[entries]:
        mapping[f"{tv_prefix}.{entry}"] = f"{ours_prefix}.{entry}"


def torchvision_key_map(spec: ArchSpec) -> dict[str, str]:
    """Map every torchvision state-dict key of ``spec``'s network to the nasgen key (see module docstring).

    Args:
        spec: An architecture torchvision can express (SiLU, MBConv and Fused-MBConv stages only).

    Returns:
        ``{torchvision_key: nasgen_key}`` covering parameters and BN buffers, in network order.

    Raises:
        SpecError: A stage kind torchvision lacks, an activation other than ``silu``, or an SE width
            torchvision does not use; the path names the field.

    Example:
        >>> from nasgen.nn import torchvision_key_map
        >>> from nasgen.spec import load_spec
        >>> torchvision_key_map(load_spec("efficientnet-b0"))["features.1.0.block.1.fc1.weight"]
        'stages.0.0.se.conv_reduce.weight'
    """
    if spec.activation != "silu":
        raise SpecError(
            f"torchvision's EfficientNet uses silu, got {spec.activation!r}", path="activation", value=spec.activation
        )
    mapping: dict[str, str] = {}
    _add(mapping, "features.0.0", "stem.conv", "conv")
    _add(mapping, "features.0.1", "stem.bn", "bn")
    in_channels = spec.stem.out_channels
    for i, stage in enumerate(spec.stages):
        path = f"stages.{i}"
        pairs_of = _BLOCK_PAIRS.get(stage.kind)
        if pairs_of is None:
            raise SpecError(f"torchvision has no {stage.kind!r} block", path=f"{path}.kind", value=stage.kind)
        for j in range(stage.num_layers):
            for tv_sub, ours_sub, entries in pairs_of(stage, path, in_channels):
                _add(mapping, f"features.{i + 1}.{j}.block.{tv_sub}", f"stages.{i}.{j}.{ours_sub}", entries)
            in_channels = stage.out_channels
    last = len(spec.stages) + 1
    _add(mapping, f"features.{last}.0", "head.conv", "conv")
    _add(mapping, f"features.{last}.1", "head.bn", "bn")
    _add(mapping, "classifier.1", "classifier", "biased")
    return mapping


def _stage_from_torchvision(stage: nn.Sequential, index: int) -> dict[str, Any]:
    from torchvision.models.efficientnet import FusedMBConv as TvFusedMBConv
    from torchvision.models.efficientnet import MBConv as TvMBConv

    first = stage[0]
    layers = list(first.block)
    if isinstance(first, TvMBConv):
        kind, in_conv, k_conv, se_ratio = "mbconv", layers[0][0], layers[-3][0], 0.25
        hidden = k_conv.out_channels
    elif isinstance(first, TvFusedMBConv):
        kind, in_conv, k_conv, se_ratio = "fused_mbconv", layers[0][0], layers[0][0], 0.0
        hidden = k_conv.out_channels if len(layers) == 2 else in_conv.in_channels
    else:
        raise SpecError(f"unknown torchvision block {type(first).__name__}", path=f"stages.{index}.kind")
    in_channels = in_conv.in_channels
    if hidden % in_channels:
        raise SpecError(
            f"hidden width {hidden} is not a multiple of the {in_channels} input channels",
            path=f"stages.{index}.expand_ratio",
            value=hidden / in_channels,
        )
    return {
        "kind": kind,
        "num_layers": len(stage),
        "kernel_size": k_conv.kernel_size[0],
        "stride": k_conv.stride[0],
        "expand_ratio": hidden // in_channels,
        "out_channels": first.out_channels,
        "se_ratio": se_ratio,
    }


def _drop_path_rate(model: nn.Module) -> float:
    # torchvision gives block i of n the rate p·i/n; recover p from the last block, preferring a short
    # decimal (0.2, not 0.19999999999999998) when it reproduces every block's rate exactly.
    rates = [block.stochastic_depth.p for stage in model.features[1:-1] for block in stage]
    n = len(rates)
    if n < 2:
        return 0.0
    raw = rates[-1] * n / (n - 1)
    short = round(raw, 6)
    return short if [short * float(i) / n for i in range(n)] == rates else raw


def _match_builtin(data: dict[str, Any]) -> dict[str, Any]:
    for name in builtin_architectures():
        known = load_spec(name)
        candidate = spec_from_dict({**data, "name": name, "resolution_px": known.resolution_px})
        if candidate == known:
            return {"name": name, "resolution_px": known.resolution_px}
    return {}


def spec_from_torchvision(model: nn.Module) -> ArchSpec:
    """Read the :class:`~nasgen.spec.ArchSpec` of a torchvision ``EfficientNet`` module.

    torchvision does not record the input resolution: when the network equals a shipped reference
    architecture (``efficientnet-b0`` … ``-b7``, ``efficientnetv2-s/m/l``) its name and resolution are taken,
    otherwise ``name`` is ``None`` and ``resolution_px`` 224.

    Raises:
        SpecError: ``model`` is not a torchvision EfficientNet, or uses something nasgen cannot express.
    """
    from torchvision.models.efficientnet import EfficientNet as TvEfficientNet

    if not isinstance(model, TvEfficientNet):
        raise SpecError(f"expected a torchvision EfficientNet, got {type(model).__name__}", value=type(model).__name__)
    stem_conv, stem_bn = model.features[0][0], model.features[0][1]
    if not isinstance(model.features[0][2], nn.SiLU):
        raise SpecError(f"only SiLU is supported, got {type(model.features[0][2]).__name__}", path="activation")
    data: dict[str, Any] = {
        "in_channels": stem_conv.in_channels,
        "stem": {
            "out_channels": stem_conv.out_channels,
            "kernel_size": stem_conv.kernel_size[0],
            "stride": stem_conv.stride[0],
        },
        "stages": [_stage_from_torchvision(stage, i) for i, stage in enumerate(model.features[1:-1])],
        "head_channels": model.features[-1][0].out_channels,
        "num_classes": model.classifier[1].out_features,
        "dropout": float(model.classifier[0].p),
        "drop_path_rate": _drop_path_rate(model),
        "activation": "silu",
        "bn_eps": float(stem_bn.eps),
        "bn_momentum": float(stem_bn.momentum),
    }
    return spec_from_dict({**data, "resolution_px": 224, **_match_builtin(data)})


def _mismatch(message: str, keys: list[str]) -> SpecError:
    shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
    return SpecError(f"{message}: {shown}", path="spec")


def _check_keys(state: Mapping[str, Tensor], key_map: dict[str, str]) -> None:
    missing = [key for key in key_map if key not in state]
    if missing:
        raise _mismatch("state dict does not match the spec; missing", missing)
    unexpected = [key for key in state if key not in key_map]
    if unexpected:
        raise _mismatch("state dict does not match the spec; unexpected", unexpected)


def from_torchvision(
    model_or_state_dict: nn.Module | Mapping[str, Tensor], spec: ArchSpec | None = None
) -> EfficientNet:
    """Build a nasgen :class:`EfficientNet` carrying torchvision EfficientNet weights.

    Args:
        model_or_state_dict: A torchvision ``efficientnet_b0..b7`` / ``efficientnet_v2_s/m/l`` module, or
            its ``state_dict()``.
        spec: The architecture. Inferred with :func:`spec_from_torchvision` for a module; required for a
            raw state dict (strides are not recorded in a state dict).

    Returns:
        The model in training mode (call ``.eval()`` for inference); in eval it computes the same function
        as the torchvision model.

    Raises:
        SpecError: No spec for a raw state dict, a spec torchvision cannot express, or keys or tensor
            shapes that do not match the spec (the first offending keys are named).

    Example:
        >>> import torch, torchvision
        >>> from nasgen.nn import from_torchvision
        >>> tv = torchvision.models.efficientnet_b0(weights=None).eval()
        >>> ours = from_torchvision(tv).eval()
        >>> x = torch.randn(1, 3, 64, 64)
        >>> torch.allclose(ours(x), tv(x), atol=1e-5)
        True
    """
    if isinstance(model_or_state_dict, nn.Module):
        spec = spec if spec is not None else spec_from_torchvision(model_or_state_dict)
        state = model_or_state_dict.state_dict()
    elif isinstance(model_or_state_dict, Mapping):
        if spec is None:
            raise SpecError("a raw torchvision state dict needs spec= (strides are not stored in it)", path="spec")
        state = model_or_state_dict
    else:
        raise SpecError(
            f"expected a torchvision EfficientNet or its state dict, got {type(model_or_state_dict).__name__}"
        )
    return load_mapped_state(spec, state, torchvision_key_map(spec))


def load_mapped_state(spec: ArchSpec, state: Mapping[str, Tensor], key_map: dict[str, str]) -> EfficientNet:
    """Build ``spec`` and load ``state`` renamed by ``key_map`` (foreign key → nasgen key), checking keys and shapes.

    Raises:
        SpecError: Missing or unexpected keys, or shapes that differ (the first offenders are named).
    """
    _check_keys(state, key_map)
    model = EfficientNet(spec)
    target = model.state_dict()
    wrong = [
        f"{key} {tuple(value.shape)} vs {tuple(target[key_map[key]].shape)}"
        for key, value in state.items()
        if tuple(value.shape) != tuple(target[key_map[key]].shape)
    ]
    if wrong:
        raise _mismatch("tensor shapes differ from the spec (source vs nasgen)", wrong)
    with torch.no_grad():
        model.load_state_dict({key_map[key]: value for key, value in state.items()}, strict=True)
    return model
