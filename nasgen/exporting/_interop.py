"""The architecture in other libraries' notations: timm's ``arch_def`` and torchvision's
``MBConvConfig`` / ``FusedMBConvConfig`` lists (no torch, no timm, no torchvision needed).

Each view says whether that library would build *exactly* this network (same widths, same SE, same
residuals), and if not, why: both libraries round channels to multiples of 8, torchvision's MBConv
always has SE 0.25 and its Fused-MBConv never has SE, timm's single-conv block has no SE, and so on.
Sources: timm ``_efficientnet_builder._decode_block_str`` / ``EfficientNetBuilder._make_block`` and
``efficientnet._gen_efficientnetv2_s``; torchvision ``models/efficientnet.py``.
"""

from __future__ import annotations

from typing import Any

from nasgen.spec import ArchSpec, block_kinds, hidden_channels, make_divisible, se_channels

__all__ = ["timm_view", "torchvision_view"]


_TV_CONFIG = {"mbconv": "MBConvConfig", "fused_mbconv": "FusedMBConvConfig"}
"""The torchvision config class of each kind torchvision can build (torchvision knows no other kinds)."""


def _timm_prefix(kind: str) -> str | None:
    """timm's block prefix of ``kind``, from its :class:`~nasgen.spec.BlockKind` (``None``: timm has none)."""
    descriptor = block_kinds().get(kind)
    return descriptor.timm_prefix if descriptor is not None else None


def _in_channels(spec: ArchSpec) -> list[int]:
    """Input channels of the first block of every stage."""
    widths = [spec.stem.out_channels]
    widths.extend(stage.out_channels for stage in spec.stages[:-1])
    return widths


def _timm_string(stage: Any) -> str:
    prefix = _timm_prefix(stage.kind)
    if prefix is None:
        return str(stage.display())  # a kind timm does not have: nasgen's own notation, which timm cannot read
    base = f"r{stage.num_layers}_k{stage.kernel_size}_s{stage.stride}_e{stage.expand_ratio}_c{stage.out_channels}"
    se = f"_se{stage.se_ratio:g}" if stage.se_ratio > 0 else ""
    residual = getattr(stage, "residual", True)
    if stage.expand_ratio == 1 and stage.kind == "mbconv":
        prefix = "ds"  # timm's own B0 writes the expansion-1 inverted residual as its depthwise-separable block
    if stage.expand_ratio == 1 and stage.kind == "fused_mbconv" and not stage.always_project:
        return f"cn_{base}_skip" if residual else f"cn_{base}"  # timm's ConvBnAct adds a residual only with skip
    fc = f"_fc{stage.expand_in_channels}" if getattr(stage, "expand_in_channels", None) is not None else ""
    return f"{prefix}_{base}{se}{fc}{'' if residual else '_noskip'}"


def _timm_notes(spec: ArchSpec) -> list[str]:
    notes = []
    if (spec.stem.kernel_size, spec.stem.stride) != (3, 2):
        k = spec.stem.kernel_size
        notes.append(f"timm's stem is 3x3 stride 2, this one is {k}x{k} stride {spec.stem.stride}")
    for name, width in (("stem.out_channels", spec.stem.out_channels), ("head_channels", spec.head_channels)):
        if make_divisible(width) != width:
            notes.append(f"{name}: timm rounds {width} to {make_divisible(width)}")
    for index, (stage, in_ch) in enumerate(zip(spec.stages, _in_channels(spec), strict=True)):
        where = f"stages.{index}"
        if _timm_prefix(stage.kind) is None:
            notes.append(f"{where}: the plugin block kind {stage.kind!r} has no timm equivalent")
            continue
        rounded = make_divisible(stage.out_channels)
        if rounded != stage.out_channels:
            notes.append(f"{where}: timm rounds out_channels {stage.out_channels} to {rounded}")
        for block_in in dict.fromkeys((in_ch, stage.out_channels) if stage.num_layers > 1 else (in_ch,)):
            notes.extend(_timm_block_notes(stage, block_in, where, spec.se_rounding))
    return list(dict.fromkeys(notes))


def _timm_block_notes(stage: Any, block_in: int, where: str, rounding: str) -> list[str]:
    notes = []
    e = stage.expand_ratio
    if stage.kind == "fused_mbconv" and e == 1 and not stage.always_project:
        if stage.se_ratio > 0:
            notes.append(f"{where}: timm's single-conv block (cn) has no SE")
        return notes
    base = getattr(stage, "expand_in_channels", None) or block_in
    mid = hidden_channels(base, e)
    if e != 1 and make_divisible(mid) != mid:
        notes.append(f"{where}: timm rounds the hidden width {mid} to {make_divisible(mid)}")
    if stage.se_ratio > 0:
        ours = se_channels(base, stage.se_ratio, e, rounding)
        theirs = round(make_divisible(mid) * (stage.se_ratio / e))
        if ours != theirs:
            notes.append(f"{where}: timm's SE width is {theirs}, nasgen's {ours} (block input {block_in})")
    return notes


def timm_view(spec: ArchSpec) -> dict[str, Any]:
    """The architecture as timm builds it: ``arch_def`` (one list per stage) and model kwargs.

    MBConv with expansion 1 is timm's depthwise-separable ``ds`` block and Fused-MBConv with expansion 1
    its ``cn`` conv block (with ``skip``), as in timm's own B0 and V2-S definitions. The strings parse
    back with :func:`nasgen.spec.spec_from_arch_def`.

    Returns:
        ``{"arch_def", "kwargs", "exact", "notes"}``; ``kwargs`` are ``timm.models.efficientnet.EfficientNet``
        arguments (``stem_size``, ``num_features``, ``in_chans``, ``num_classes``, ``act_layer`` …).
    """
    notes = _timm_notes(spec)
    return {
        "arch_def": [[_timm_string(stage)] for stage in spec.stages],
        "kwargs": {
            "stem_size": spec.stem.out_channels,
            "num_features": spec.head_channels,
            "in_chans": spec.in_channels,
            "num_classes": spec.num_classes,
            "act_layer": spec.activation,
            "bn_eps": spec.bn_eps,
            "bn_momentum": spec.bn_momentum,
            "drop_rate": spec.dropout,
            "drop_path_rate": spec.drop_path_rate,
            **({"pad_type": "same"} if spec.padding == "same" else {}),
        },
        "exact": not notes,
        "notes": notes,
    }


def _torchvision_notes(spec: ArchSpec) -> list[str]:
    notes = []
    if spec.activation != "silu":
        notes.append(f"torchvision's EfficientNet uses SiLU, this one {spec.activation}")
    if spec.in_channels != 3:
        notes.append(f"torchvision's stem takes 3 input channels, this one {spec.in_channels}")
    if (spec.stem.kernel_size, spec.stem.stride) != (3, 2):
        notes.append("torchvision's stem is 3x3 stride 2")
    if spec.padding == "same":
        notes.append("torchvision pads every conv k//2 on each side; this network uses TensorFlow's SAME")
    for index, (stage, in_ch) in enumerate(zip(spec.stages, _in_channels(spec), strict=True)):
        where = f"stages.{index}"
        if stage.kind not in _TV_CONFIG:
            notes.append(f"{where}: the plugin block kind {stage.kind!r} has no torchvision equivalent")
            continue
        notes.extend(_torchvision_option_notes(spec, stage, in_ch, where))
        for name, width in (("input_channels", in_ch), ("out_channels", stage.out_channels)):
            if make_divisible(width) != width:
                notes.append(f"{where}: torchvision rounds {name} {width} to {make_divisible(width)}")
        for block_in in dict.fromkeys((in_ch, stage.out_channels) if stage.num_layers > 1 else (in_ch,)):
            mid = hidden_channels(block_in, stage.expand_ratio)
            if make_divisible(mid) != mid and stage.expand_ratio != 1:
                notes.append(f"{where}: torchvision rounds the hidden width {mid} to {make_divisible(mid)}")
        if stage.kind == "mbconv" and stage.se_ratio != 0.25:
            notes.append(f"{where}: torchvision's MBConv always has SE 0.25, this stage {stage.se_ratio:g}")
        if stage.kind == "fused_mbconv" and stage.se_ratio > 0:
            notes.append(f"{where}: torchvision's FusedMBConv has no SE, this stage {stage.se_ratio:g}")
    return list(dict.fromkeys(notes))


def _torchvision_option_notes(spec: ArchSpec, stage: Any, in_ch: int, where: str) -> list[str]:
    notes = []
    if not stage.residual:
        notes.append(f"{where}: torchvision adds every residual the shapes allow; this stage has none")
    if getattr(stage, "expand_in_channels", None) is not None:
        notes.append(f"{where}: torchvision expands from the block input, this stage from {stage.expand_in_channels}")
    if getattr(stage, "always_project", False):
        notes.append(f"{where}: torchvision's FusedMBConv at expansion 1 is one conv; this stage also projects")
    if stage.kind == "mbconv" and stage.se_ratio > 0 and spec.se_rounding != "floor":
        for block_in in dict.fromkeys((in_ch, stage.out_channels)):
            ours = se_channels(block_in, stage.se_ratio, stage.expand_ratio, spec.se_rounding)
            if ours != max(1, block_in // 4):
                notes.append(f"{where}: torchvision's SE width is {max(1, block_in // 4)}, this one {ours}")
    return notes


def torchvision_view(spec: ArchSpec) -> dict[str, Any]:
    """The architecture as ``torchvision.models.efficientnet.EfficientNet`` arguments.

    Returns:
        ``{"inverted_residual_setting", "code", "last_channel", "dropout", "stochastic_depth_prob",
        "num_classes", "norm_layer", "exact", "notes"}``. Each setting entry is a dict with ``config``
        (``"MBConvConfig"`` / ``"FusedMBConvConfig"``), ``expand_ratio``, ``kernel``, ``stride``,
        ``input_channels``, ``out_channels``, ``num_layers``; ``code`` holds the same as constructor
        calls, e.g. ``"MBConvConfig(6, 3, 2, 16, 24, 2)"``.
    """
    settings = []
    for stage, in_ch in zip(spec.stages, _in_channels(spec), strict=True):
        settings.append(
            {
                "config": _TV_CONFIG.get(stage.kind, stage.kind),
                "expand_ratio": stage.expand_ratio,
                "kernel": stage.kernel_size,
                "stride": stage.stride,
                "input_channels": in_ch,
                "out_channels": stage.out_channels,
                "num_layers": stage.num_layers,
            }
        )
    code = [
        f"{s['config']}({s['expand_ratio']}, {s['kernel']}, {s['stride']}, {s['input_channels']}, "
        f"{s['out_channels']}, {s['num_layers']})"
        for s in settings
    ]
    notes = _torchvision_notes(spec)
    return {
        "inverted_residual_setting": settings,
        "code": code,
        "last_channel": spec.head_channels,
        "dropout": spec.dropout,
        "stochastic_depth_prob": spec.drop_path_rate,
        "num_classes": spec.num_classes,
        "norm_layer": f"functools.partial(torch.nn.BatchNorm2d, eps={spec.bn_eps!r}, momentum={spec.bn_momentum!r})",
        "exact": not notes,
        "notes": notes,
    }
