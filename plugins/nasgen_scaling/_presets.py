"""The released B0–B7 table (``presets.yaml``), read once and validated like every nasgen YAML file."""

from __future__ import annotations

import functools
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from nasgen.errors import SpecError
from nasgen.spec import validate_document, yaml_document

__all__ = ["Preset", "PresetTable", "get_preset", "preset_table"]

_FILE = "presets.yaml"


class Preset(BaseModel):
    """One released member of the family: multipliers applied to a baseline.

    Attributes:
        width: Channel multiplier.
        depth: Repeat multiplier.
        resolution_px: Input resolution (px) for a baseline of ``base_resolution_px``.
        dropout: Classifier dropout.
        bn_eps: BatchNorm epsilon to set, or ``None`` to keep the baseline's.
        bn_momentum: BatchNorm momentum (PyTorch convention) to set, or ``None`` to keep the baseline's.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    width: float = Field(ge=1.0)
    depth: float = Field(ge=1.0)
    resolution_px: int = Field(gt=0)
    dropout: float = Field(ge=0.0, lt=1.0)
    bn_eps: float | None = Field(None, gt=0.0)
    bn_momentum: float | None = Field(None, gt=0.0, le=1.0)


class PresetTable(BaseModel):
    """The whole table: the baseline resolution it assumes and the presets by name (``b0`` … ``b7``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    base_resolution_px: int = Field(gt=0)
    presets: dict[str, Preset] = Field(min_length=1)


@functools.cache
def preset_table() -> PresetTable:
    """The validated table shipped in the plugin package (cached).

    Raises:
        SpecError: The shipped file is malformed (a packaging bug), naming file, line and field.
    """
    text = resources.files(__package__).joinpath(_FILE).read_text(encoding="utf-8")
    data, node = yaml_document(text, file=_FILE)
    return validate_document(PresetTable, data, file=_FILE, node=node)


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (case-insensitive, ``"b4"`` or ``"B4"``).

    Raises:
        SpecError: Unknown preset, naming it and the known ones.
    """
    presets = preset_table().presets
    key = name.lower() if isinstance(name, str) else name
    if key not in presets:
        known = ", ".join(presets)
        raise SpecError(f"unknown preset {name!r}; known presets: {known}", path="preset", value=name)
    return presets[key]
