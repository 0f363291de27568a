"""Frozen, tagged architecture specs: stem, MBConv / Fused-MBConv stages, head.

Sources: EfficientNet (Tan & Le, 2019, Table 1) for MBConv stages; EfficientNetV2 (Tan & Le, 2021,
Table 4) for Fused-MBConv stages. All counts are plain ``int``; resolution is in px.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "KERNEL_SIZES",
    "STRIDES",
    "ACTIVATIONS",
    "ArchSpec",
    "BlockSpec",
    "FusedMBConvSpec",
    "MBConvSpec",
    "StemSpec",
]

KERNEL_SIZES = (3, 5, 7)
STRIDES = (1, 2)
ACTIVATIONS = ("silu", "relu", "relu6", "hardswish", "gelu")

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)


def _check_choice(value: int, choices: tuple[int, ...]) -> int:
    if value not in choices:
        allowed = ", ".join(str(c) for c in choices[:-1]) + f" or {choices[-1]}"
        raise ValueError(f"must be {allowed}, got {value!r}")
    return value


def _check_positive(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {value!r}")
    return value


class StemSpec(BaseModel):
    """The stem: one k×k conv-BN-activation with a stride.

    Attributes:
        out_channels: Output channels of the stem conv.
        kernel_size: Kernel size (3, 5 or 7).
        stride: Stride (1 or 2).
    """

    model_config = _STRICT

    out_channels: int = Field(description="output channels of the stem conv")
    kernel_size: int = Field(3, description="kernel size", json_schema_extra={"enum": list(KERNEL_SIZES)})
    stride: int = Field(2, description="stride", json_schema_extra={"enum": list(STRIDES)})

    @field_validator("out_channels")
    @classmethod
    def _positive(cls, value: int) -> int:
        return _check_positive(value)

    @field_validator("kernel_size")
    @classmethod
    def _kernel(cls, value: int) -> int:
        return _check_choice(value, KERNEL_SIZES)

    @field_validator("stride")
    @classmethod
    def _stride(cls, value: int) -> int:
        return _check_choice(value, STRIDES)


class _StageBase(BaseModel):
    """Fields shared by every stage kind. The stride applies to the first block of the stage."""

    model_config = _STRICT

    num_layers: int = Field(description="number of blocks in the stage (repeats)")
    kernel_size: int = Field(description="kernel size", json_schema_extra={"enum": list(KERNEL_SIZES)})
    stride: int = Field(description="stride of the first block", json_schema_extra={"enum": list(STRIDES)})
    expand_ratio: int = Field(description="expansion ratio of the hidden width (1 = no expansion)")
    out_channels: int = Field(description="output channels of every block in the stage")
    se_ratio: float = Field(
        0.0, ge=0.0, le=1.0, description="SE squeeze width as a fraction of the block *input* channels; 0 = no SE"
    )

    @field_validator("num_layers", "expand_ratio", "out_channels")
    @classmethod
    def _positive(cls, value: int) -> int:
        return _check_positive(value)

    @field_validator("kernel_size")
    @classmethod
    def _kernel(cls, value: int) -> int:
        return _check_choice(value, KERNEL_SIZES)

    @field_validator("stride")
    @classmethod
    def _stride(cls, value: int) -> int:
        return _check_choice(value, STRIDES)

    def display(self) -> str:
        """One-line timm notation, e.g. ``ir_r2_k3_s2_e6_c24_se0.25`` (``er_`` for Fused-MBConv)."""
        from nasgen.spec._notation import stage_to_string

        return stage_to_string(self)


class MBConvSpec(_StageBase):
    """A stage of MBConv blocks (inverted residual; MobileNetV2 §3.3, EfficientNet §4).

    Block: 1×1 expand (when expand_ratio ≠ 1) → k×k depthwise (stride) → SE → 1×1 project,
    residual with stochastic depth when stride is 1 and input channels equal output channels.
    """

    kind: Literal["mbconv"] = "mbconv"


class FusedMBConvSpec(_StageBase):
    """A stage of Fused-MBConv blocks (EfficientNetV2 §3.2, Figure 2).

    Block: k×k expand conv carrying the stride → SE → 1×1 project (when expand_ratio ≠ 1); a single
    k×k conv when expand_ratio is 1. Residual as MBConv.
    """

    kind: Literal["fused_mbconv"] = "fused_mbconv"


BlockSpec = Annotated[Union[MBConvSpec, FusedMBConvSpec], Field(discriminator="kind")]
"""A stage spec: :class:`MBConvSpec` or :class:`FusedMBConvSpec`, told apart by ``kind``."""


class ArchSpec(BaseModel):
    """A complete EfficientNet-family architecture.

    Attributes:
        name: Optional label; not part of the architecture (excluded from :meth:`content_hash`).
        in_channels: Input image channels (3 for RGB, 1 for grey).
        resolution_px: Input resolution in px (square) at which cost is counted.
        stem: The stem conv.
        stages: Ordered stages; at least one.
        head_channels: Output channels of the final 1×1 conv before pooling.
        num_classes: Classifier outputs.
        dropout: Dropout rate before the classifier.
        drop_path_rate: Stochastic-depth rate of the last block; block i of n gets rate·i/n.
        activation: Activation used everywhere except inside SE's gate.
        bn_eps: BatchNorm epsilon.
        bn_momentum: BatchNorm momentum in PyTorch's convention (weight of the *new* batch statistic,
            0.1 = TensorFlow's 0.9).
    """

    model_config = _STRICT

    name: str | None = Field(None, description="label, not part of the architecture")
    in_channels: int = Field(3, description="input image channels")
    resolution_px: int = Field(224, description="input resolution in px (square)")
    stem: StemSpec
    stages: tuple[BlockSpec, ...] = Field(strict=False, min_length=1, description="ordered stages")
    head_channels: int = Field(1280, description="channels of the final 1x1 conv")
    num_classes: int = Field(1000, description="classifier outputs")
    dropout: float = Field(0.2, ge=0.0, lt=1.0, description="dropout rate before the classifier")
    drop_path_rate: float = Field(0.2, ge=0.0, lt=1.0, description="stochastic-depth rate of the last block")
    activation: Literal["silu", "relu", "relu6", "hardswish", "gelu"] = "silu"
    bn_eps: float = Field(1e-5, gt=0.0, description="BatchNorm epsilon")
    bn_momentum: float = Field(0.1, gt=0.0, le=1.0, description="BatchNorm momentum (PyTorch convention)")

    @field_validator("in_channels", "resolution_px", "head_channels", "num_classes")
    @classmethod
    def _positive(cls, value: int) -> int:
        return _check_positive(value)

    @model_validator(mode="after")
    def _feature_map_fits(self) -> ArchSpec:
        # Each stride-2 conv pads by k//2, so the map only halves (ceil) and never vanishes; but a
        # resolution below the total stride means several stages run on a 1×1 map, which is a mistake.
        total_stride = self.stem.stride * 2 ** sum(1 for s in self.stages if s.stride == 2)
        if self.resolution_px < total_stride:
            raise ValueError(
                f"resolution_px {self.resolution_px} is below the total stride {total_stride} of the network"
            )
        return self

    # -- derived views ---------------------------------------------------------------------------
    @property
    def num_blocks(self) -> int:
        """Total number of blocks over all stages."""
        return sum(stage.num_layers for stage in self.stages)

    def canonical_dict(self) -> dict[str, Any]:
        """The architecture as plain JSON data, ``name`` excluded (what the hash is computed on)."""
        return self.model_dump(mode="json", exclude={"name"})

    def content_hash(self) -> str:
        """Stable SHA-256 hex digest of the architecture (independent of ``name`` and key order)."""
        text = json.dumps(self.canonical_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def short_hash(self) -> str:
        """First 12 hex digits of :meth:`content_hash`."""
        return self.content_hash()[:12]

    def display(self) -> list[str]:
        """One timm-notation string per stage, e.g. ``["ds_r1_k3_s1_e1_c16_se0.25", ...]``."""
        return [stage.display() for stage in self.stages]

    def replace(self, **changes: Any) -> ArchSpec:
        """Return a new, validated spec with ``changes`` applied (the spec itself is never mutated).

        Raises:
            SpecError: The changed spec is invalid.
        """
        from nasgen.spec._io import spec_from_dict

        data = self.model_dump(mode="python")
        data.update(changes)
        return spec_from_dict(data)
