"""Frozen, tagged architecture specs: stem, MBConv / Fused-MBConv stages, head.

Sources: EfficientNet (Tan & Le, 2019, Table 1) for MBConv stages; EfficientNetV2 (Tan & Le, 2021,
Table 4) for Fused-MBConv stages. All counts are plain ``int``; resolution is in px.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from nasgen.errors import short_repr
from nasgen.spec._bounds import (
    MAX_BN_EPS,
    MAX_BN_MOMENTUM,
    MAX_CHANNELS,
    MAX_EXPAND_RATIO,
    MAX_IN_CHANNELS,
    MAX_LAYERS,
    MAX_NUM_CLASSES,
    MAX_RESOLUTION_PX,
    MAX_STAGES,
)
from nasgen.spec._base import SpecModel
from nasgen.spec._formulas import network_stride
from nasgen.spec._kinds import (
    BUILTIN_STAGE_KINDS,
    BlockKind,
    block_kinds,
    discover_plugin_kinds,
    register_block_kind,
    register_stage_kind,
    registered_stage_kinds,
    unregister_stage_kind,
)

__all__ = [
    "KERNEL_SIZES",
    "STRIDES",
    "ACTIVATIONS",
    "BUILTIN_STAGE_KINDS",
    "PLUGIN_STAGE_TAG",
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

KERNEL_SIZES = (3, 5, 7)
STRIDES = (1, 2)
ACTIVATIONS = ("silu", "relu", "relu6", "hardswish", "gelu")

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)


def _check_choice(value: int, choices: tuple[int, ...]) -> int:
    if value not in choices:
        allowed = ", ".join(str(c) for c in choices[:-1]) + f" or {choices[-1]}"
        raise ValueError(f"must be {allowed}, got {short_repr(value)}")
    return value


def _check_positive(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {short_repr(value)}")
    return value


class StemSpec(SpecModel):
    """The stem: one k×k conv-BN-activation with a stride.

    Attributes:
        out_channels: Output channels of the stem conv.
        kernel_size: Kernel size (3, 5 or 7).
        stride: Stride (1 or 2).
    """

    model_config = _STRICT

    out_channels: int = Field(le=MAX_CHANNELS, description="output channels of the stem conv")
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


class _StageBase(SpecModel):
    """Fields shared by every stage kind. The stride applies to the first block of the stage."""

    model_config = _STRICT

    num_layers: int = Field(le=MAX_LAYERS, description="number of blocks in the stage (repeats)")
    kernel_size: int = Field(description="kernel size", json_schema_extra={"enum": list(KERNEL_SIZES)})
    stride: int = Field(description="stride of the first block", json_schema_extra={"enum": list(STRIDES)})
    expand_ratio: int = Field(
        le=MAX_EXPAND_RATIO, description="expansion ratio of the hidden width (1 = no expansion)"
    )
    out_channels: int = Field(le=MAX_CHANNELS, description="output channels of every block in the stage")
    se_ratio: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="SE squeeze width as a fraction of the block *input* channels; 0 = no SE",
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


register_block_kind(
    BlockKind(
        "mbconv",
        builder="nasgen.nn._blocks:build_mbconv",
        cost_rule="nasgen.cost._rules:mbconv_cost",
        description="MBConv: 1x1 expand, kxk depthwise, SE, 1x1 project (MobileNetV2, EfficientNet)",
        stage_model=MBConvSpec,
        source=(
            "nasgen.nn._layers:_tap_index",
            "nasgen.nn._layers:depthwise_conv_small_map",
            "nasgen.nn._blocks:MBConv",
        ),
        timm_prefix="ir",
        slicing="nasgen.nn._slicing:MBCONV_SLICING",
    ),
    builtin=True,
)
register_block_kind(
    BlockKind(
        "fused_mbconv",
        builder="nasgen.nn._blocks:build_fused_mbconv",
        cost_rule="nasgen.cost._rules:fused_mbconv_cost",
        description="Fused-MBConv: kxk expand, SE, 1x1 project; one kxk conv at expansion 1 (EfficientNetV2)",
        stage_model=FusedMBConvSpec,
        source=("nasgen.nn._blocks:FusedMBConv",),
        timm_prefix="er",
        monotone_macs=False,
        slicing="nasgen.nn._slicing:FUSED_MBCONV_SLICING",
    ),
    builtin=True,
)

PLUGIN_STAGE_TAG = "plugin_kind"
"""Union tag of :class:`CustomStageSpec`; error paths drop it like the built-in tags."""


class _KindFirst(SpecModel):
    """Declares ``kind`` first, so an unknown kind is the error reported before any other field."""

    model_config = _STRICT

    kind: str = Field(
        description="a stage kind registered by a plugin",
        json_schema_extra={"not": {"enum": list(BUILTIN_STAGE_KINDS)}},
    )


OptionValue = Union[bool, int, float, str]


class CustomStageSpec(_StageBase, _KindFirst):
    """A stage of a block kind added by a plugin (``nasgen_block_kinds`` hook).

    It carries the shared stage fields, which generic transforms such as compound scaling rewrite, and
    the kind's own ``options``, validated by the options model of the kind's :class:`BlockKind`, which
    also names the block builder, the cost rule and the ``model.py`` source.
    """

    options: dict[str, OptionValue] = Field(default_factory=dict, description="options of the plugin block kind")

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, data: Any) -> Any:
        if not isinstance(data, (dict, BaseModel)):
            raise ValueError("Input should be a valid dictionary or object to extract fields from")
        return data

    @field_validator("kind", mode="before")
    @classmethod
    def _registered(cls, value: Any) -> str:
        if value in BUILTIN_STAGE_KINDS:
            raise ValueError(f"{short_repr(value)} is a built-in kind, not a plugin kind")
        if isinstance(value, str) and value not in registered_stage_kinds():
            discover_plugin_kinds()
        if not isinstance(value, str) or value not in registered_stage_kinds():
            expected = ", ".join(repr(kind) for kind in block_kinds())
            raise ValueError(f"must be one of {expected}, got {short_repr(value)}")
        return value

    @field_validator("options", mode="before")
    @classmethod
    def _plain_values(cls, value: Any) -> Any:
        # one message per bad entry instead of one per member of the value union
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValueError(f"option names must be strings, got {short_repr(key)}")
                if not isinstance(item, (bool, int, float, str)):
                    raise ValueError(f"{key}: must be a bool, int, float or string, got {short_repr(item)}")
        return value

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, OptionValue], info: ValidationInfo) -> dict[str, OptionValue]:
        entry = block_kinds().get(info.data.get("kind", ""))
        if entry is None:
            return value  # the kind itself failed; that error is the one reported
        if entry.options_model is None:
            if value:
                raise ValueError(f"stage kind {info.data['kind']!r} takes no options, got {short_repr(value)}")
            return value
        try:
            return entry.options_model.model_validate(value).model_dump()
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            raise ValueError(f"{where}: {first.get('msg', 'invalid')}, got {short_repr(first.get('input'))}") from None

    def __hash__(self) -> int:
        # frozen pydantic models hash their fields; a dict is not hashable, its sorted items are
        return hash((self.kind, self.num_layers, self.kernel_size, self.stride, self.expand_ratio,
                     self.out_channels, self.se_ratio, tuple(sorted(self.options.items()))))

    def display(self) -> str:
        """One-line notation in timm's style with the kind as prefix, e.g. ``plain_conv_r2_k3_s2_e1_c32_groups2``."""
        text = (
            f"{self.kind}_r{self.num_layers}_k{self.kernel_size}_s{self.stride}"
            f"_e{self.expand_ratio}_c{self.out_channels}"
        )
        if self.se_ratio > 0:
            text += f"_se{self.se_ratio:g}"
        return text + "".join(f"_{key}{value}" for key, value in sorted(self.options.items()))


def _stage_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) and kind in BUILTIN_STAGE_KINDS else PLUGIN_STAGE_TAG


BlockSpec = Annotated[
    Union[
        Annotated[MBConvSpec, Tag("mbconv")],
        Annotated[FusedMBConvSpec, Tag("fused_mbconv")],
        Annotated[CustomStageSpec, Tag(PLUGIN_STAGE_TAG)],
    ],
    Discriminator(_stage_tag),
]
"""A stage spec: :class:`MBConvSpec`, :class:`FusedMBConvSpec` or, for a kind a plugin registered,
:class:`CustomStageSpec`, told apart by ``kind``."""


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
    """

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
        return _check_positive(value)

    @model_validator(mode="after")
    def _feature_map_fits(self) -> ArchSpec:
        # Each stride-2 conv pads by k//2, so the map only halves (ceil) and never vanishes; but a
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
