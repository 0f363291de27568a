"""Compound scaling (EfficientNet, Tan & Le 2019, §3.3): from one baseline to a family of architectures.

depth d = α^φ, width w = β^φ, resolution r = γ^φ with α·β²·γ² ≈ 2, so MACs grow by about (α·β²·γ²)^φ = 2^φ.
Every function returns a new spec; the input spec is never changed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nasgen.errors import SpecError
from nasgen.spec import ArchSpec, load_spec
from nasgen_scaling._presets import get_preset, preset_table
from nasgen_scaling._rounding import (
    check_at_least,
    check_non_negative,
    round_channels,
    round_repeats,
    round_resolution,
)

__all__ = [
    "ALPHA",
    "BETA",
    "DROPOUT_CAP",
    "GAMMA",
    "apply_multipliers",
    "predicted_cost_ratio",
    "scale",
    "scale_family",
    "scale_preset",
]

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
"""EfficientNet's coefficients found by grid search on B0 (§3.3, step 2): α·β²·γ² = 1.92 ≈ 2."""

DROPOUT_CAP = 0.5
"""The largest dropout of the released family (B6, B7); ``dropout_per_phi`` never raises beyond it."""


def apply_multipliers(
    spec: ArchSpec,
    *,
    width: float,
    depth: float,
    resolution_px: int,
    channel_divisor: int = 8,
    **changes: Any,
) -> ArchSpec:
    """Scale every stage's repeats by ``depth`` and every channel count (stem, stages, head) by ``width``.

    Args:
        spec: The baseline.
        width: Channel multiplier; counts go through :func:`round_channels`.
        depth: Repeat multiplier; repeats go through :func:`round_repeats`.
        resolution_px: The new input resolution in px.
        channel_divisor: Channels round to a multiple of this.
        **changes: Other fields to set (``name``, ``dropout``, ``bn_eps`` …).

    Returns:
        A new, validated spec. Kernels, strides, expansion and SE ratios (SE width follows the scaled
        block input), activation, padding, classes and the stochastic-depth rate are the baseline's; a stage's
        ``expand_in_channels`` scales like its channels.

    Raises:
        SpecError: The scaled spec is invalid.
    """
    data = spec.model_dump(mode="python")
    data["stem"]["out_channels"] = round_channels(spec.stem.out_channels * width, channel_divisor)
    for stage in data["stages"]:
        stage["out_channels"] = round_channels(stage["out_channels"] * width, channel_divisor)
        stage["num_layers"] = round_repeats(stage["num_layers"], depth)
        if stage.get("expand_in_channels") is not None:  # timm's fc is a channel count too (EdgeTPU)
            stage["expand_in_channels"] = round_channels(stage["expand_in_channels"] * width, channel_divisor)
    # TF round_filters(1280); torchvision writes 4 × the last stage's width, the same for every released width
    data["head_channels"] = round_channels(spec.head_channels * width, channel_divisor)
    data["resolution_px"] = resolution_px
    data.update(changes)
    return spec.replace(**data)


def predicted_cost_ratio(phi: float, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA) -> float:
    """MACs of the scaled network over the baseline's, to first order: ``(α·β²·γ²)^φ`` (§3.3, Eq. 3).

    Depth scales MACs linearly, width and resolution quadratically; rounding moves the measured ratio
    off this prediction.
    """
    return float((alpha * beta**2 * gamma**2) ** phi)


def _scaled_name(spec: ArchSpec, suffix: str) -> str:
    # an unnamed baseline is labelled by its hash, so family files never collide
    return f"{spec.name or spec.short_hash()}-{suffix}"


def _as_spec(spec: ArchSpec | str | Path) -> ArchSpec:
    return spec if isinstance(spec, ArchSpec) else load_spec(spec)


def scale(
    spec: ArchSpec | str | Path,
    phi: float,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    *,
    dropout_per_phi: float = 0.0,
    channel_divisor: int = 8,
    resolution_divisor: int = 1,
) -> ArchSpec:
    """Compound-scale ``spec`` by φ (EfficientNet §3.3, Eq. 3).

    Repeats become ``ceil(α^φ · L)`` per stage; channels (stem, stages, head) ``β^φ · C`` rounded by
    :func:`round_channels` (multiple of 8, never below 90%); resolution ``γ^φ · R`` rounded to the
    nearest multiple of ``resolution_divisor`` px (default: the nearest integer px, halves up).

    Args:
        spec: The baseline (a spec, a built-in name or a YAML/JSON path).
        phi: The compound coefficient φ ≥ 0 (0 returns an equal spec); fractions allowed.
        alpha: Depth coefficient α ≥ 1.
        beta: Width coefficient β ≥ 1.
        gamma: Resolution coefficient γ ≥ 1.
        dropout_per_phi: Raise the classifier dropout by this much per unit of φ, never beyond
            :data:`DROPOUT_CAP` (0.5, the released B7's); 0 keeps the baseline's. The released family
            rises 0.2 → 0.5 over B0 → B7, about 0.04 per step.
        channel_divisor: Channel counts round to a multiple of this (8).
        resolution_divisor: Resolution rounds to a multiple of this (1 = nearest integer px).

    Returns:
        A new spec named ``<name>-phi<φ>`` (an unnamed baseline: its short hash); ``spec`` is unchanged.

    Raises:
        SpecError: φ < 0, a coefficient < 1, a negative ``dropout_per_phi``, a divisor < 1, or an
            invalid scaled spec; the message names the argument and echoes its value.

    Example:
        >>> b0 = load_spec("efficientnet-b0")
        >>> s = scale(b0, 1)
        >>> s.resolution_px, s.stem.out_channels, s.head_channels, [st.num_layers for st in s.stages]
        (258, 32, 1408, [2, 3, 3, 4, 4, 5, 2])
    """
    base = _as_spec(spec)
    phi = check_non_negative(phi, "phi")
    alpha, beta, gamma = (check_at_least(v, n) for v, n in ((alpha, "alpha"), (beta, "beta"), (gamma, "gamma")))
    step = check_non_negative(dropout_per_phi, "dropout_per_phi")
    channel_divisor = int(check_at_least(channel_divisor, "channel_divisor"))
    resolution_divisor = int(check_at_least(resolution_divisor, "resolution_divisor"))
    dropout = min(base.dropout + step * phi, max(base.dropout, DROPOUT_CAP))
    return apply_multipliers(
        base,
        width=beta**phi,
        depth=alpha**phi,
        resolution_px=round_resolution(base.resolution_px * gamma**phi, resolution_divisor),
        channel_divisor=channel_divisor,
        name=_scaled_name(base, f"phi{phi:g}"),
        dropout=dropout,
    )


def scale_preset(spec: ArchSpec | str | Path, preset: str) -> ArchSpec:
    """Scale ``spec`` with a released (width, depth, resolution, dropout) preset, ``b0`` … ``b7``.

    From the shipped EfficientNet-B0 this reproduces torchvision's ``efficientnet_b1`` … ``b7``
    exactly (params and conv+linear MACs of docs/design.md). The preset's resolution is for a 224 px baseline;
    another baseline resolution R gets ``round(R · preset_px / 224)``. Presets ``b5`` … ``b7`` also set
    torchvision's BatchNorm eps 1e-3 / momentum 0.01 (the table in ``presets.yaml`` says why).

    Args:
        spec: The baseline (a spec, a built-in name or a YAML/JSON path).
        preset: ``"b0"`` … ``"b7"`` (case-insensitive).

    Returns:
        A new spec named ``<name>-<preset>`` (an unnamed baseline: its short hash); a name ending in ``-b0``
        gets the preset's suffix instead (``efficientnet-b4``).

    Raises:
        SpecError: Unknown preset (naming it and the known ones), or an invalid scaled spec.

    Example:
        >>> scale_preset("efficientnet-b0", "b4").display()[-1]
        'ir_r2_k3_s1_e6_c448_se0.25'
    """
    base = _as_spec(spec)
    chosen = get_preset(preset)
    key = preset.lower()
    base_px = preset_table().base_resolution_px
    changes: dict[str, Any] = {"dropout": chosen.dropout, "name": _scaled_name(base, key)}
    if base.name is not None and base.name.endswith("-b0"):
        changes["name"] = re.sub(r"-b0$", f"-{key}", base.name)
    if chosen.bn_eps is not None:
        changes["bn_eps"] = chosen.bn_eps
    if chosen.bn_momentum is not None:
        changes["bn_momentum"] = chosen.bn_momentum
    return apply_multipliers(
        base,
        width=chosen.width,
        depth=chosen.depth,
        resolution_px=round_resolution(base.resolution_px * chosen.resolution_px / base_px),
        **changes,
    )


def scale_family(
    spec: ArchSpec | str | Path,
    phis: Any,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    **options: Any,
) -> list[ArchSpec]:
    """``[scale(spec, φ, α, β, γ, **options) for φ in phis]``: the family of a found baseline.

    This is what ``nasgen search … --scale-phi 1,2,3`` writes when a search ends.

    Args:
        spec: The baseline.
        phis: The φ values, e.g. ``[1, 2, 3]``; each must be ≥ 0.
        alpha: Depth coefficient α ≥ 1.
        beta: Width coefficient β ≥ 1.
        gamma: Resolution coefficient γ ≥ 1.
        **options: Passed to :func:`scale` (``dropout_per_phi``, divisors).

    Returns:
        One spec per φ, in the order given.

    Raises:
        SpecError: ``phis`` is empty or not a sequence of numbers, or as :func:`scale`.
    """
    if isinstance(phis, (str, bytes)) or not hasattr(phis, "__iter__"):
        raise SpecError(f"must be a sequence of numbers, got {phis!r}", path="phis", value=phis)
    values = list(phis)
    if not values:
        raise SpecError("must name at least one phi, got an empty list", path="phis", value=phis)
    base = _as_spec(spec)
    return [scale(base, phi, alpha, beta, gamma, **options) for phi in values]
