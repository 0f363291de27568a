"""timm's one-line stage notation, as a display and interop format (never the primary spec).

``ir_r2_k3_s2_e6_c24_se0.25`` reads: inverted residual (MBConv), 2 repeats, kernel 3, stride 2,
expansion 6, 24 output channels, SE ratio 0.25. ``er_`` is timm's edge residual (Fused-MBConv);
``ds_`` (depthwise separable) and ``cn_`` (a single conv) are read as MBConv / Fused-MBConv with
expansion 1. Options read as timm builds them: ``noskip`` (no residual, ``residual: false``), ``fc24``
(the hidden width expands from 24 channels, ``expand_in_channels``), a ``cn`` block has a residual only
with ``skip``, and ``er_…_e1`` keeps its 1×1 projection (``always_project``). Source: timm
``_efficientnet_builder._decode_block_str`` and ``_efficientnet_blocks``.

Display strings (:func:`stage_to_string`) are nasgen's notation in timm's style, for logs and tables: there a
Fused-MBConv of expansion 1 is ``er_…_e1`` and keeps ``_proj`` when it projects. The exact timm ``arch_def`` of
an architecture is :func:`nasgen.exporting.timm_view`'s (the export manifest's).
"""

from __future__ import annotations

import re
from typing import Any

from nasgen.errors import SpecError

__all__ = ["parse_stage_string", "spec_from_arch_def", "stage_to_string", "timm_model_name"]

_KIND_PREFIX = {"mbconv": "ir", "fused_mbconv": "er"}
_PREFIX_KIND = {"ir": "mbconv", "ds": "mbconv", "er": "fused_mbconv", "cn": "fused_mbconv"}
_OPTION = re.compile(r"^([a-z]+?)(\d+(?:\.\d+)?)$")
_OPTION_FIELD = {
    "r": "num_layers", "k": "kernel_size", "s": "stride", "e": "expand_ratio", "c": "out_channels",
    "fc": "expand_in_channels",
}  # fmt: skip


def _ratio_text(value: float) -> str:
    return f"{value:g}"


def stage_to_string(stage: Any) -> str:
    """Render a stage spec in timm notation (``ir_r2_k3_s2_e6_c24_se0.25``), with ``_fc``, ``_proj`` and
    ``_noskip`` for the options that change the block."""
    text = (
        f"{_KIND_PREFIX[stage.kind]}_r{stage.num_layers}_k{stage.kernel_size}_s{stage.stride}"
        f"_e{stage.expand_ratio}_c{stage.out_channels}"
    )
    if stage.se_ratio > 0:
        text += f"_se{_ratio_text(stage.se_ratio)}"
    if getattr(stage, "expand_in_channels", None) is not None:
        text += f"_fc{stage.expand_in_channels}"
    if getattr(stage, "always_project", False):
        text += "_proj"
    if not getattr(stage, "residual", True):
        text += "_noskip"
    return text


def parse_stage_string(text: str, *, path: str = "") -> dict[str, Any]:
    """Parse one timm block string into a stage dict (validated later by :class:`ArchSpec`).

    Options other than r/k/s/e/c/se/fc, ``skip``, ``noskip`` and nasgen's ``proj`` (activation overrides
    ``nre``, CondConv ``cc``, …) are rejected, since nasgen's blocks do not model them.

    Raises:
        SpecError: Unknown block type or option, or a malformed number.
    """
    parts = text.strip().split("_")
    prefix = parts[0]
    if prefix not in _PREFIX_KIND:
        raise SpecError(f"unknown block type {prefix!r} in {text!r}; expected one of ir, ds, er, cn", path=path)
    stage: dict[str, Any] = {"kind": _PREFIX_KIND[prefix], "expand_ratio": 1, "se_ratio": 0.0}
    flags = set()
    for option in parts[1:]:
        if option in ("skip", "noskip", "proj", ""):
            flags.add(option)
            continue
        if option.startswith("se"):
            key, number = "se", option[2:]
        else:
            match = _OPTION.match(option)
            if match is None or match.group(1) not in _OPTION_FIELD:
                raise SpecError(f"unsupported option {option!r} in {text!r}", path=path, value=option)
            key, number = match.groups()
        try:
            if key == "se":
                stage["se_ratio"] = float(number)
            else:
                stage[_OPTION_FIELD[key]] = int(number) if float(number).is_integer() else float(number)
        except ValueError:
            raise SpecError(f"malformed number in option {option!r} of {text!r}", path=path, value=option) from None
    # timm: a residual unless noskip, except the cn conv block, which has one only when asked (skip)
    if "noskip" in flags or (prefix == "cn" and "skip" not in flags):
        stage["residual"] = False
    if prefix == "er" and stage["expand_ratio"] == 1 or "proj" in flags:
        stage["always_project"] = True  # timm's EdgeResidual projects at every expansion
    return stage


def spec_from_arch_def(
    arch_def: list[list[str]] | list[str],
    *,
    stem_channels: int = 32,
    head_channels: int = 1280,
    **fields: Any,
) -> Any:
    """Build an :class:`~nasgen.spec.ArchSpec` from a timm-style ``arch_def``.

    Args:
        arch_def: One list of block strings per timm stage (or a flat list). Consecutive strings in
            one timm stage that differ become separate nasgen stages.
        stem_channels: Stem output channels (timm keeps them outside ``arch_def``).
        head_channels: Channels of the final 1×1 conv.
        **fields: Other :class:`~nasgen.spec.ArchSpec` fields (resolution_px, num_classes, …).

    Example:
        >>> spec = spec_from_arch_def([["ds_r1_k3_s1_e1_c16_se0.25"], ["ir_r2_k3_s2_e6_c24_se0.25"]])
        >>> spec.display()
        ['ir_r1_k3_s1_e1_c16_se0.25', 'ir_r2_k3_s2_e6_c24_se0.25']

    Raises:
        SpecError: A block string cannot be parsed or the result is not a valid spec.
    """
    from nasgen.spec._io import spec_from_dict

    flat: list[str] = []
    for entry in arch_def:
        flat.extend([entry] if isinstance(entry, str) else list(entry))
    stages = [parse_stage_string(s, path=f"arch_def.{i}") for i, s in enumerate(flat)]
    data = {"stem": {"out_channels": stem_channels}, "stages": stages, "head_channels": head_channels}
    data.update(fields)
    return spec_from_dict(data)


def timm_model_name(name: str) -> str:
    """The name a nasgen architecture gets in timm's model registry: ``nasgen_`` + its name in snake case.

    ``nasgen.timm.register()`` and the entrypoint in an exported ``model.py`` both use it.

    Example:
        >>> timm_model_name("efficientnet-b0"), timm_model_name("My Net v2")
        ('nasgen_efficientnet_b0', 'nasgen_my_net_v2')
    """
    return "nasgen_" + (re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "arch")
