"""The family table: each scaled member's resolution, params and MACs, predicted vs measured cost ratio."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasgen.cost import count_cost
from nasgen.errors import SpecError
from nasgen.spec import ArchSpec, load_spec
from nasgen_scaling._presets import get_preset, preset_table
from nasgen_scaling._rounding import check_non_negative
from nasgen_scaling._scale import ALPHA, BETA, GAMMA, predicted_cost_ratio, scale, scale_preset

__all__ = ["FamilyRow", "family_table", "parse_family"]


@dataclass(frozen=True)
class FamilyRow:
    """One member of a scaled family.

    Attributes:
        label: ``"phi=3"`` or the preset name (``"b3"``).
        phi: φ in formula mode, ``None`` for a preset.
        spec: The scaled architecture.
        resolution_px: Its input resolution (px).
        params: Trainable parameters.
        macs: Conv + linear MACs at ``resolution_px``, batch 1.
        predicted_cost_ratio: First-order MACs ratio to the baseline: ``(α·β²·γ²)^φ``, or for a preset
            ``depth·width²·(resolution / base)²``.
        measured_cost_ratio: ``macs`` over the baseline's MACs.
    """

    label: str
    phi: float | None
    spec: ArchSpec
    resolution_px: int
    params: int
    macs: int
    predicted_cost_ratio: float
    measured_cost_ratio: float


_RANGE = re.compile(r"^\s*(b?)(\d+)\s*-\s*(b?)(\d+)\s*$", re.IGNORECASE)


def parse_family(text: str) -> list[float] | list[str]:
    """Parse a family selection: ``"0-7"`` or ``"1,2,3"`` (φ values), ``"b0-b7"`` or ``"b1,b4"`` (presets).

    Raises:
        SpecError: Malformed text, a descending range, a negative φ or an unknown preset.
    """
    match = _RANGE.match(text)
    if match is not None:
        prefix, low, prefix_high, high = match.groups()
        if prefix.lower() != prefix_high.lower() or int(low) > int(high):
            raise SpecError(f"must be an ascending range like 0-7 or b0-b7, got {text!r}", path="family", value=text)
        items = [f"{prefix.lower()}{i}" for i in range(int(low), int(high) + 1)]
    else:
        items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise SpecError(f"must name phi values or presets (0-7, 1,2,3 or b0-b7), got {text!r}", path="family",
                        value=text)
    if all(item.lower().startswith("b") for item in items):
        for item in items:
            get_preset(item)
        return [item.lower() for item in items]
    try:
        values = [float(item) for item in items]
    except ValueError:
        raise SpecError(f"must be phi values (0-7, 1,2,3) or presets (b0-b7), got {text!r}", path="family",
                        value=text) from None
    return [check_non_negative(value, "family") for value in values]


def family_table(
    spec: ArchSpec | str | Path,
    members: list[float] | list[str],
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    **options: Any,
) -> list[FamilyRow]:
    """Scale ``spec`` for each member and count its cost (:func:`nasgen.cost.count_cost`).

    Args:
        spec: The baseline.
        members: φ values (formula mode) or preset names (``"b0"`` … ``"b7"``), as from :func:`parse_family`.
        alpha: Depth coefficient (formula mode).
        beta: Width coefficient (formula mode).
        gamma: Resolution coefficient (formula mode).
        **options: Passed to :func:`scale`.

    Returns:
        One row per member, in order.

    Raises:
        SpecError: As :func:`scale` / :func:`scale_preset`.
    """
    base = spec if isinstance(spec, ArchSpec) else load_spec(spec)
    base_macs = count_cost(base).macs
    rows = []
    for member in members:
        if isinstance(member, str):
            scaled = scale_preset(base, member)
            preset = get_preset(member)
            px_ratio = preset.resolution_px / preset_table().base_resolution_px
            label, phi, predicted = member, None, preset.depth * preset.width**2 * px_ratio**2
        else:
            scaled = scale(base, member, alpha, beta, gamma, **options)
            label, phi, predicted = f"phi={member:g}", float(member), predicted_cost_ratio(member, alpha, beta, gamma)
        cost = count_cost(scaled)
        rows.append(FamilyRow(label, phi, scaled, scaled.resolution_px, cost.params, cost.macs, predicted,
                              cost.macs / base_macs))
    return rows
