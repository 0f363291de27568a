"""Compound scaling (EfficientNet, Tan & Le 2019, §3.3): grow a found baseline into a family.

A nasgen plugin shipped in nasgen's wheel under the import name ``nasgen_scaling`` and registered by the
entry point ``compound_scaling`` (group ``nasgen``); its hooks provide the transforms ``scale`` and
``scale_preset``. The functions here are pure: they return new specs and never change their input.

* :func:`scale` — formula mode: repeats ``ceil(α^φ·L)``, channels ``β^φ·C`` rounded to a multiple of 8
  never below 90%, resolution ``γ^φ·R`` rounded to the nearest px; α, β, γ = 1.2, 1.1, 1.15.
* :func:`scale_preset` — the released B0–B7 (width, depth, resolution, dropout) table (``presets.yaml``).
* :func:`scale_family` / :func:`family_table` — a family and its predicted vs measured MACs ratios.
* :func:`search_coefficients` — the φ = 1 grid search of α, β, γ under α·β²·γ² ≈ 2.

Example:
    >>> from nasgen.cost import count_cost
    >>> from nasgen_scaling import scale_preset
    >>> count_cost(scale_preset("efficientnet-b0", "b4")).macs
    4393771024
"""

from nasgen_scaling._coefficients import (
    CoefficientCandidate,
    CoefficientSearch,
    coefficient_grid,
    proxy_scorer,
    search_coefficients,
)
from nasgen_scaling._family import FamilyRow, family_table, parse_family
from nasgen_scaling._presets import Preset, PresetTable, get_preset, preset_table
from nasgen_scaling._rounding import round_channels, round_repeats, round_resolution
from nasgen_scaling._scale import (
    ALPHA,
    BETA,
    DROPOUT_CAP,
    GAMMA,
    apply_multipliers,
    predicted_cost_ratio,
    scale,
    scale_family,
    scale_preset,
)

__all__ = [
    "ALPHA",
    "BETA",
    "DROPOUT_CAP",
    "GAMMA",
    "CoefficientCandidate",
    "CoefficientSearch",
    "FamilyRow",
    "Preset",
    "PresetTable",
    "apply_multipliers",
    "coefficient_grid",
    "family_table",
    "get_preset",
    "parse_family",
    "predicted_cost_ratio",
    "preset_table",
    "proxy_scorer",
    "round_channels",
    "round_repeats",
    "round_resolution",
    "scale",
    "scale_family",
    "scale_preset",
    "search_coefficients",
]
