"""The architecture spec: stem, stages (:mod:`nasgen.spec._stages`), head and the network-wide settings.

Sources: EfficientNet (Tan & Le, 2019, Table 1); EfficientNetV2 (Tan & Le, 2021, Table 4); timm's
``tf_`` ports for ``padding="same"``. All counts are plain ``int``; resolution is in px.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar, Literal

from pydantic import Field, SerializerFunctionWrapHandler, field_validator, model_serializer, model_validator

from nasgen.spec._base import SpecModel
from nasgen.spec._bounds import MAX_BN_EPS, MAX_BN_MOMENTUM, MAX_CHANNELS, MAX_IN_CHANNELS, MAX_NUM_CLASSES, \
    MAX_RESOLUTION_PX, MAX_STAGES
from nasgen.spec._formulas import network_stride
from nasgen.spec._kinds import (
    BUILTIN_STAGE_KINDS,
    BlockKind,
    register_stage_kind,
    registered_stage_kinds,
    unregister_stage_kind,
)
from nasgen.spec._stages import (
    _STRICT,
    ACTIVATIONS,
    KERNEL_SIZES,
    PADDINGS,
    PLUGIN_STAGE_TAG,
    SE_ROUNDINGS,
    STRIDES,
    BlockSpec,
    CustomStageSpec,
    FusedMBConvSpec,
    MBConvSpec,
    StemSpec,
    check_positive,
    omit_neutral,
)

__all__ = [
    "KERNEL_SIZES",
    "STRIDES",
    "ACTIVATIONS",
    "BUILTIN_STAGE_KINDS",
    "PADDINGS",
    "PLUGIN_STAGE_TAG",
    "SE_ROUNDINGS",
    "ArchSpec",
    "BlockKind",
    "BlockSpec",
    "CustomStageSpec",
    "FusedMBConvSpec",
    "MBConvSpec",
    "StemSpec",
    "register_stage_kind",
    "registered_stage_kinds",
    "unregister_stage_kind",
]


class ArchSpec(SpecModel):
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
        padding: ``"symmetric"`` (default): every conv pads ``k // 2`` on each side (PyTorch, torchvision,
            timm's own models); ``"same"``: TensorFlow's "SAME", which pads a stride-2 conv asymmetrically by
            the input size's parity (⌊p/2⌋ before, the rest after, p = (⌈H/s⌉ − 1)·s + k − H), as timm's ``tf_``
            ports of the official weights. Map sizes, MACs and params are the same either way.
        se_rounding: The SE squeeze width rule: ``"floor"`` (default) ``max(1, int(C · r))`` of the block input C
            (torchvision), or ``"round"`` timm's ``round(hidden · (r / e))`` (:func:`~nasgen.spec.se_channels`).
    """

    _NEUTRAL: ClassVar[dict[str, Any]] = {"padding": "symmetric", "se_rounding": "floor"}

    model_config = _STRICT

    name: str | None = Field(None, description="label, not part of the architecture")
    in_channels: int = Field(3, le=MAX_IN_CHANNELS, description="input image channels")
    resolution_px: int = Field(224, le=MAX_RESOLUTION_PX, description="input resolution in px (square)")
    stem: StemSpec
    stages: tuple[BlockSpec, ...] = Field(
        strict=False, min_length=1, max_length=MAX_STAGES, description="ordered stages"
    )
    head_channels: int = Field(1280, le=MAX_CHANNELS, description="channels of the final 1x1 conv")
    num_classes: int = Field(1000, le=MAX_NUM_CLASSES, description="classifier outputs")
    dropout: float = Field(0.2, ge=0.0, lt=1.0, allow_inf_nan=False, description="dropout rate before the classifier")
    drop_path_rate: float = Field(
        0.2, ge=0.0, lt=1.0, allow_inf_nan=False, description="stochastic-depth rate of the last block"
    )
    activation: Literal["silu", "relu", "relu6", "hardswish", "gelu"] = "silu"
    bn_eps: float = Field(1e-5, gt=0.0, le=MAX_BN_EPS, allow_inf_nan=False, description="BatchNorm epsilon")
    bn_momentum: float = Field(
        0.1,
        gt=0.0,
        allow_inf_nan=False,
        description="BatchNorm momentum in PyTorch's convention (weight of the new batch statistic; TF 0.99 = 0.01)",
        json_schema_extra={"maximum": MAX_BN_MOMENTUM},
    )
    padding: Literal[PADDINGS] = Field(  # type: ignore[valid-type]
        "symmetric", description="conv padding: symmetric k//2 (PyTorch) or same (TensorFlow SAME, timm's tf_ ports)"
    )
    se_rounding: Literal[SE_ROUNDINGS] = Field(  # type: ignore[valid-type]
        "floor", description="SE squeeze width: floor = int(C*r) of the block input (torchvision), round = timm's"
    )

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_neutral(handler(self), self._NEUTRAL)

    @field_validator("bn_momentum")
    @classmethod
    def _momentum_convention(cls, value: float) -> float:
        if value > MAX_BN_MOMENTUM:
            raise ValueError(
                f"must be at most {MAX_BN_MOMENTUM} in PyTorch's convention (the weight of the new batch "
                f"statistic), got {value!r}; this looks like TensorFlow's convention (the weight of the old "
                f"average): TF momentum 0.99 = PyTorch 0.01, so write {1 - value:.4g}"
            )
        return value

    @field_validator("in_channels", "resolution_px", "head_channels", "num_classes")
    @classmethod
    def _positive(cls, value: int) -> int:
        return check_positive(value)

    @model_validator(mode="after")
    def _feature_map_fits(self) -> ArchSpec:
        # Each stride-2 conv pads by k//2 (or TF's SAME, the same sizes), so the map only halves (ceil) and never vanishes; but a
        # resolution below the total stride means several stages run on a 1×1 map, which is a mistake.
        total_stride = network_stride(self.stem.stride, (s.stride for s in self.stages))
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
        """The architecture as plain JSON data, ``name`` excluded (what the hash is computed on).

        Options left at their neutral default (``padding``, ``se_rounding``, a stage's ``residual`` …) are left
        out, so every architecture written before they existed keeps its hash.
        """
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
