"""Stage and stem specs: frozen, tagged pydantic models of the parts of an architecture (no torch).

Sources: EfficientNet (Tan & Le, 2019, Table 1) for MBConv stages; EfficientNetV2 (Tan & Le, 2021,
Table 4) for Fused-MBConv stages; timm's ``_efficientnet_blocks`` for the options that make a stage compute
exactly what a timm block computes (``residual`` = timm's ``noskip``, ``expand_in_channels`` = its ``fc``,
``always_project`` = its ``er`` block at expansion 1). All counts are plain ``int``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from nasgen.errors import short_repr
from nasgen.spec._base import SpecModel
from nasgen.spec._bounds import MAX_CHANNELS, MAX_EXPAND_RATIO, MAX_LAYERS
from nasgen.spec._kinds import (
    BUILTIN_STAGE_KINDS,
    BlockKind,
    block_kinds,
    discover_plugin_kinds,
    register_block_kind,
    registered_stage_kinds,
)

__all__ = [
    "ACTIVATIONS",
    "KERNEL_SIZES",
    "PADDINGS",
    "PLUGIN_STAGE_TAG",
    "SE_ROUNDINGS",
    "STRIDES",
    "BlockSpec",
    "CustomStageSpec",
    "FusedMBConvSpec",
    "MBConvSpec",
    "StemSpec",
    "check_choice",
    "check_positive",
    "omit_neutral",
]

KERNEL_SIZES = (3, 5, 7)
STRIDES = (1, 2)
ACTIVATIONS = ("silu", "relu", "relu6", "hardswish", "gelu")
PADDINGS = ("symmetric", "same")
"""Conv padding of a network: PyTorch's ``k // 2`` on every side, or TensorFlow's "SAME" (timm's ``tf_`` ports)."""
SE_ROUNDINGS = ("floor", "round")
"""How the SE squeeze width rounds: torchvision's ``int`` or timm's ``round`` (:func:`~nasgen.spec.se_channels`)."""

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)


def check_choice(value: int, choices: tuple[int, ...]) -> int:
    if value not in choices:
        allowed = ", ".join(str(c) for c in choices[:-1]) + f" or {choices[-1]}"
        raise ValueError(f"must be {allowed}, got {short_repr(value)}")
    return value


def check_positive(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {short_repr(value)}")
    return value


def omit_neutral(data: dict[str, Any], neutral: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the fields of ``neutral`` that hold their neutral default.

    The exactness options (TF padding, timm's SE rounding, ``residual`` …) came after architectures had been
    hashed and written; a spec that does not use one serializes as before, so its YAML, JSON and
    :meth:`~nasgen.spec.ArchSpec.content_hash` are unchanged.
    """
    for name, default in neutral.items():
        if name in data and data[name] == default and type(data[name]) is type(default):
            del data[name]
    return data


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
        return check_positive(value)

    @field_validator("kernel_size")
    @classmethod
    def _kernel(cls, value: int) -> int:
        return check_choice(value, KERNEL_SIZES)

    @field_validator("stride")
    @classmethod
    def _stride(cls, value: int) -> int:
        return check_choice(value, STRIDES)


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
        return check_positive(value)

    @field_validator("kernel_size")
    @classmethod
    def _kernel(cls, value: int) -> int:
        return check_choice(value, KERNEL_SIZES)

    @field_validator("stride")
    @classmethod
    def _stride(cls, value: int) -> int:
        return check_choice(value, STRIDES)

    def display(self) -> str:
        """One-line timm notation, e.g. ``ir_r2_k3_s2_e6_c24_se0.25`` (``er_`` for Fused-MBConv)."""
        from nasgen.spec._notation import stage_to_string

        return stage_to_string(self)


class _BuiltinStage(_StageBase):
    """Fields of the built-in kinds beyond the shared ones; each defaults to nasgen's original block and is
    left out of the serialized form at that default (:func:`omit_neutral`)."""

    _NEUTRAL: ClassVar[dict[str, Any]] = {"residual": True}

    residual: bool = Field(
        True,
        description="add the residual (with drop path) where stride is 1 and the widths match; false = never "
        "(timm's noskip)",
    )

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_neutral(handler(self), self._NEUTRAL)


class MBConvSpec(_BuiltinStage):
    """A stage of MBConv blocks (inverted residual; MobileNetV2 §3.3, EfficientNet §4).

    Block: 1×1 expand (when expand_ratio ≠ 1) → k×k depthwise (stride) → SE → 1×1 project,
    residual with stochastic depth when stride is 1 and input channels equal output channels (unless
    ``residual`` is false).
    """

    kind: Literal["mbconv"] = "mbconv"


class FusedMBConvSpec(_BuiltinStage):
    """A stage of Fused-MBConv blocks (EfficientNetV2 §3.2, Figure 2; timm's ``EdgeResidual``).

    Block: k×k expand conv carrying the stride → SE → 1×1 project (when expand_ratio ≠ 1); a single
    k×k conv when expand_ratio is 1, unless ``always_project`` keeps the expand-project pair (timm's
    ``er_…_e1``, EfficientNetV2-rw). Residual as MBConv. The hidden width is ``expand_in_channels ×
    expand_ratio`` when ``expand_in_channels`` is set (timm's ``fc``: EfficientNet-EdgeTPU's first stage
    expands from fewer channels than it receives), else ``block input × expand_ratio``.
    """

    _NEUTRAL: ClassVar[dict[str, Any]] = {"residual": True, "expand_in_channels": None, "always_project": False}

    kind: Literal["fused_mbconv"] = "fused_mbconv"
    expand_in_channels: int | None = Field(
        None,
        le=MAX_CHANNELS,
        description="compute the hidden width (and SE width) from this many channels instead of the block input "
        "(timm's fc); null = the block input",
    )
    always_project: bool = Field(
        False, description="at expand_ratio 1 keep the kxk conv + 1x1 projection pair (timm's er_..._e1)"
    )

    @field_validator("expand_in_channels")
    @classmethod
    def _expand_in_positive(cls, value: int | None) -> int | None:
        return value if value is None else check_positive(value)

    @model_validator(mode="after")
    def _options_apply(self) -> FusedMBConvSpec:
        if self.always_project and self.expand_ratio != 1:
            raise ValueError(
                f"always_project applies at expand_ratio 1 only (every block projects at {self.expand_ratio})"
            )
        if self.expand_in_channels is not None and self.expand_ratio == 1 and not self.always_project:
            raise ValueError("expand_in_channels needs a hidden width: expand_ratio > 1 or always_project")
        return self


register_block_kind(
    BlockKind(
        "mbconv",
        builder="nasgen.nn._blocks:build_mbconv",
        cost_rule="nasgen.cost._rules:mbconv_cost",
        description="MBConv: 1x1 expand, kxk depthwise, SE, 1x1 project (MobileNetV2, EfficientNet)",
        stage_model=MBConvSpec,
        source=(
            "nasgen.nn._small_map:_tap_index",
            "nasgen.nn._small_map:depthwise_conv_small_map",
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


