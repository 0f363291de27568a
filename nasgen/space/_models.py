"""Pydantic models of a search space: the stem, each stage and the global fields, each a dimension.

Every value a dimension can take is checked against what :class:`nasgen.spec.ArchSpec` accepts, by
validating it through the spec's own field validators, so a space can never produce an invalid spec:
``stages.3.kernel_size: must be 3, 5 or 7, got 4``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from nasgen.errors import SpecError, short_repr
from nasgen.space._dimensions import Choice, Dimension, Fixed, IntRange, dimension_to_data, parse_dimension
from nasgen.spec import (
    ArchSpec,
    FusedMBConvSpec,
    MBConvSpec,
    SpecModel,
    StemSpec,
    block_kinds,
    discover_plugin_kinds,
    pydantic_errors,
)

__all__ = ["BLOCK_KINDS", "DimensionField", "StageSpace", "StemSpace"]

BLOCK_KINDS: tuple[str, ...] = (
    MBConvSpec.model_fields["kind"].default,
    FusedMBConvSpec.model_fields["kind"].default,
)
"""The built-in stage kinds; a space may choose among every registered kind (:func:`nasgen.spec.block_kinds`)."""

_CONFIG = ConfigDict(frozen=True, extra="forbid", strict=True, arbitrary_types_allowed=True)

DimensionField = Annotated[Dimension, PlainSerializer(dimension_to_data)]
"""A model field holding a :class:`Dimension`; dumps to its YAML form."""

# Smallest valid documents: one field at a time is swapped in to ask the spec whether a value is valid.
_STAGE_BASE = {"kind": "mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 8}
_BASE: dict[type[BaseModel], dict[str, Any]] = {
    StemSpec: {"out_channels": 8, "stride": 1},
    MBConvSpec: _STAGE_BASE,
    ArchSpec: {"stem": {"out_channels": 8, "stride": 1}, "stages": [_STAGE_BASE]},
}
_EXHAUSTIVE_CHECK = 4096  # ranges longer than this are checked at both ends only


def _error_text(exc: ValidationError, field: str) -> str:
    errors = exc.errors(include_url=False)
    error = next((e for e in errors if e.get("loc", ())[:1] == (field,)), errors[0])
    msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if "got " not in msg:
        msg = f"{msg}, got {short_repr(error.get('input'))}"
    return msg


def _checked(model: type[BaseModel], field: str, raw: Any) -> Dimension:
    """Parse ``raw`` into a dimension whose every value ``model`` accepts in ``field``; canonical values."""
    dim = parse_dimension(raw)
    # a long range is checked at its ends only, without listing it (every field's valid values are an
    # interval, so the ends decide; the spec's upper bounds keep any accepted range short)
    values = (dim.low, dim.high) if isinstance(dim, IntRange) and len(dim) > _EXHAUSTIVE_CHECK else dim.values()
    canonical = []
    for value in values:
        try:
            with pydantic_errors():
                instance = model.model_validate({**_BASE[model], field: value})
        except ValidationError as exc:
            raise ValueError(_error_text(exc, field)) from None
        canonical.append(getattr(instance, field))
    if isinstance(dim, Choice):
        return Choice(canonical)
    if isinstance(dim, Fixed):
        return Fixed(canonical[0])
    return dim


def _parse_kind(raw: Any) -> Dimension:
    # any registered block kind (built-in or a plugin's BlockKind); an unknown one scans the plugins once
    dim = parse_dimension(raw)
    if isinstance(dim, IntRange):
        kinds = ", ".join(map(repr, block_kinds()))
        raise ValueError(f"kind must be one of {kinds} or a list of them, got {short_repr(raw)}")
    for value in dim.values():
        if value not in block_kinds():
            discover_plugin_kinds()
        if value not in block_kinds():
            allowed = " or ".join(repr(k) for k in block_kinds())
            raise ValueError(f"must be {allowed}, got {short_repr(value)}")
    return dim


class StemSpace(SpecModel):
    """Dimensions of the stem (labels ``stem.out_channels``, ``stem.kernel_size``, ``stem.stride``).

    Each field is a fixed value, a list of choices or an integer range ``{low, high, step}``.
    """

    model_config = _CONFIG

    out_channels: DimensionField
    kernel_size: DimensionField = Fixed(3)
    stride: DimensionField = Fixed(2)

    @field_validator("out_channels", "kernel_size", "stride", mode="before")
    @classmethod
    def _dimension(cls, raw: Any, info: ValidationInfo) -> Dimension:
        return _checked(StemSpec, info.field_name, raw)


STAGE_FIELDS = ("kind", "num_layers", "kernel_size", "stride", "expand_ratio", "out_channels", "se_ratio")
"""Stage fields in label order (``stages.{i}.{field}``)."""


class StageSpace(SpecModel):
    """Dimensions of one stage; labels ``stages.{i}.{field}`` with ``i`` the stage's index in the space.

    Attributes:
        kind: A registered block kind (``"mbconv"``, ``"fused_mbconv"`` or a plugin's) or a choice of them.
        num_layers: Blocks in the stage.
        kernel_size: Kernel size (3, 5 or 7).
        stride: Stride of the first block (1 or 2).
        expand_ratio: Expansion ratio (1 = none).
        out_channels: Output channels.
        se_ratio: SE squeeze width as a fraction of the block input channels (0 = no SE).
        optional: The stage may be removed (label ``stages.{i}.present``); a removed stage samples nothing.
    """

    model_config = _CONFIG

    kind: DimensionField = Fixed("mbconv")
    num_layers: DimensionField
    kernel_size: DimensionField
    stride: DimensionField
    expand_ratio: DimensionField
    out_channels: DimensionField
    se_ratio: DimensionField = Fixed(0.0)
    optional: bool = False

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, raw: Any) -> Dimension:
        return _parse_kind(raw)

    @field_validator(*STAGE_FIELDS[1:], mode="before")
    @classmethod
    def _dimension(cls, raw: Any, info: ValidationInfo) -> Dimension:
        return _checked(MBConvSpec, info.field_name, raw)

    def field_dimensions(self) -> dict[str, Dimension]:
        """``{field: dimension}`` in label order (``kind`` first)."""
        return {name: getattr(self, name) for name in STAGE_FIELDS}


GLOBAL_FIELDS = ("resolution_px", "head_channels", "dropout", "drop_path_rate", "activation", "bn_eps", "bn_momentum")
"""Top-level ArchSpec fields a space holds as dimensions (labels are the field names)."""


def check_global(field: str, raw: Any) -> Dimension:
    """Parse and check a top-level dimension against :class:`ArchSpec`'s validators.

    Raises:
        ValueError: A value the spec rejects (pydantic turns it into an error at ``field``).
    """
    return _checked(ArchSpec, field, raw)


def check_count(field: str, value: Any) -> int:
    """Check a plain ``in_channels`` / ``num_classes`` value through :class:`ArchSpec`.

    Raises:
        SpecError: Not a positive ``int``; ``path`` is ``field``.
    """
    try:
        with pydantic_errors():
            ArchSpec.model_validate({**_BASE[ArchSpec], field: value})
    except ValidationError as exc:
        raise SpecError(_error_text(exc, field), path=field, value=value) from None
    return value
