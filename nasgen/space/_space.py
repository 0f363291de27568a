"""The :class:`SearchSpace` model: a frozen, framework-free description of a set of architectures.

The space flattens to ``{label: dimension}`` (NNI ``nni.mutable`` style); a sample is a plain dict
``{label: value}`` and :meth:`SearchSpace.freeze` turns it into an :class:`~nasgen.spec.ArchSpec`.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from nasgen.space._dimensions import Choice, Dimension, Fixed
from nasgen.space._models import _CONFIG, GLOBAL_FIELDS, DimensionField, StageSpace, StemSpace, check_global
from nasgen.spec import MAX_IN_CHANNELS, MAX_NUM_CLASSES, MAX_STAGES, ArchSpec, SpecModel, network_stride

__all__ = ["PRESENT", "SearchSpace"]

PRESENT = Choice((True, False))
"""The dimension ``stages.{i}.present`` of an optional stage."""


class SearchSpace(SpecModel):
    """A search space over EfficientNet-family architectures.

    Every field of the stem, of each stage and the top-level ``resolution_px``, ``head_channels``,
    ``dropout``, ``drop_path_rate``, ``activation``, ``bn_eps`` and ``bn_momentum`` is a
    :class:`~nasgen.space.Fixed` value, a :class:`~nasgen.space.Choice` or an
    :class:`~nasgen.space.IntRange`; in YAML a scalar, a list or ``{low, high, step}``. ``in_channels``
    and ``num_classes`` are plain ints that :meth:`freeze` can override (the search sets them from the
    data). A stage with ``optional: true`` may be removed.

    Labels (also the Optuna parameter names): ``resolution_px``, ``stem.out_channels``,
    ``stem.kernel_size``, ``stem.stride``, ``stages.{i}.present`` (optional stages only),
    ``stages.{i}.{kind,num_layers,kernel_size,stride,expand_ratio,out_channels,se_ratio}``,
    ``head_channels``, ``dropout``, ``drop_path_rate``, ``activation``, ``bn_eps``, ``bn_momentum``.
    ``i`` is the stage's index in the space, whether or not earlier stages are removed. A field with a
    single value is fixed, not a dimension: :meth:`dimensions` leaves it out and :meth:`freeze` applies it.

    Example:
        >>> from nasgen.space import Choice, IntRange, SearchSpace, StageSpace, StemSpace
        >>> space = SearchSpace(
        ...     resolution_px=Choice([32, 64]),
        ...     stem=StemSpace(out_channels=16),
        ...     stages=[
        ...         StageSpace(num_layers=IntRange(1, 2), kernel_size=Choice([3, 5]), stride=1,
        ...                    expand_ratio=1, out_channels=16),
        ...         StageSpace(num_layers=1, kernel_size=3, stride=2, expand_ratio=Choice([4, 6]),
        ...                    out_channels=24, optional=True),
        ...     ],
        ...     num_classes=10,
        ... )
        >>> list(space.dimensions())
        ['resolution_px', 'stages.0.num_layers', 'stages.0.kernel_size', 'stages.1.present', 'stages.1.expand_ratio']
        >>> space.size()  # 2 resolutions x (2 x 2) x (1 + 2)
        24
        >>> space.freeze({"resolution_px": 32, "stages.0.num_layers": 2, "stages.0.kernel_size": 5,
        ...               "stages.1.present": False}).display()
        ['ir_r2_k5_s1_e1_c16']
    """

    model_config = _CONFIG

    name: str | None = Field(None, description="name of the space")
    description: str = Field("", description="one-line description")
    in_channels: int = Field(3, gt=0, le=MAX_IN_CHANNELS, description="input image channels (overridable in freeze)")
    num_classes: int = Field(1000, gt=0, le=MAX_NUM_CLASSES, description="classifier outputs (overridable in freeze)")
    stem: StemSpace
    stages: tuple[StageSpace, ...] = Field(
        strict=False, min_length=1, max_length=MAX_STAGES, description="ordered stage spaces"
    )
    resolution_px: DimensionField = Fixed(224)
    head_channels: DimensionField = Fixed(1280)
    dropout: DimensionField = Fixed(0.2)
    drop_path_rate: DimensionField = Fixed(0.2)
    activation: DimensionField = Fixed("silu")
    bn_eps: DimensionField = Fixed(1e-5)
    bn_momentum: DimensionField = Fixed(0.1)

    @field_validator(*GLOBAL_FIELDS, mode="before")
    @classmethod
    def _dimension(cls, raw: Any, info: ValidationInfo) -> Dimension:
        return check_global(info.field_name, raw)

    @field_validator("stages")
    @classmethod
    def _one_mandatory(cls, stages: tuple[StageSpace, ...]) -> tuple[StageSpace, ...]:
        if all(stage.optional for stage in stages):
            count = len(stages)
            raise ValueError(f"at least one stage must not be optional, got {count} optional stages of {count}")
        return stages

    @field_validator("resolution_px")
    @classmethod
    def _fits_total_stride(cls, dim: Dimension, info: ValidationInfo) -> Dimension:
        # Checked once here so that every architecture of the space is valid (ArchSpec rejects a
        # resolution below the total stride); then size() counts only valid architectures.
        stem, stages = info.data.get("stem"), info.data.get("stages")
        if stem is None or stages is None:
            return dim
        total = network_stride(max(stem.stride.values()), (max(s.stride.values()) for s in stages))
        if min(dim.values()) < total:
            raise ValueError(
                f"must be at least the largest total stride {total} of the space's architectures, "
                f"got a smallest resolution of {min(dim.values())} px"
            )
        return dim

    # -- dimensions and conditionality --------------------------------------------------------------
    def all_dimensions(self) -> dict[str, Dimension]:
        """Every label, fixed ones included, in sampling order (``stages.{i}.present`` before its stage)."""
        return dict(self._all_dimensions)

    @property
    def _all_dimensions(self) -> dict[str, Dimension]:
        # Computed once per set of field objects: freeze and condition_of look labels up for every label of a
        # trial. Keyed by the field objects themselves (held, compared by identity), since model_copy(update=…)
        # copies this cache along with the fields it did not change.
        fields = tuple(getattr(self, name) for name in ("stem", "stages", *GLOBAL_FIELDS))
        cached = self.__dict__.get("_dimension_cache")
        if cached is not None and len(cached[0]) == len(fields) and all(a is b for a, b in zip(cached[0], fields)):
            return cached[1]
        dims = self._collect_dimensions()
        self.__dict__["_dimension_cache"] = (fields, dims)
        return dims

    def _collect_dimensions(self) -> dict[str, Dimension]:
        dims: dict[str, Dimension] = {"resolution_px": self.resolution_px}
        dims.update({f"stem.{name}": getattr(self.stem, name) for name in ("out_channels", "kernel_size", "stride")})
        for i, stage in enumerate(self.stages):
            if stage.optional:
                dims[f"stages.{i}.present"] = PRESENT
            dims.update({f"stages.{i}.{name}": dim for name, dim in stage.field_dimensions().items()})
        dims.update({name: getattr(self, name) for name in GLOBAL_FIELDS[1:]})
        return dims

    def dimensions(self) -> dict[str, Dimension]:
        """The search dimensions ``{label: dimension}``: every label with more than one value.

        Ordered so that ``stages.{i}.present`` comes before the labels it conditions. Fixed fields
        (one value) are left out; see :meth:`fixed_values`.
        """
        return {label: dim for label, dim in self.all_dimensions().items() if len(dim) > 1}

    def fixed_values(self) -> dict[str, Any]:
        """``{label: value}`` of the fields with a single value (not search dimensions)."""
        return {label: dim.values()[0] for label, dim in self.all_dimensions().items() if len(dim) == 1}

    def condition_of(self, label: str) -> str | None:
        """The ``stages.{i}.present`` label that ``label`` depends on, or ``None`` if it is unconditional.

        Raises:
            SpecError: ``label`` is not a label of this space.
        """
        from nasgen.space._freeze import condition_of

        return condition_of(self, label)

    def is_active(self, label: str, params: dict[str, Any]) -> bool:
        """Whether ``label`` is sampled given the earlier ``params``: a stage's labels are active only when
        its ``stages.{i}.present`` is ``True`` in ``params``.

        The search samples ``for label, dim in space.dimensions().items(): if space.is_active(label,
        params): params[label] = suggest(label, dim)``.

        Raises:
            SpecError: ``label`` is not a label of this space.
        """
        parent = self.condition_of(label)
        return parent is None or params.get(parent) is True

    # -- architectures ------------------------------------------------------------------------------
    def freeze(
        self,
        params: dict[str, Any],
        *,
        num_classes: int | None = None,
        in_channels: int | None = None,
        name: str | None = None,
    ) -> ArchSpec:
        """The architecture chosen by ``params`` (``{label: value}`` for every active dimension).

        Labels of a removed stage (``stages.{i}.present`` is ``False``) are ignored if given, but must
        still be labels of the space and in their domain.

        Args:
            params: Values of the active dimensions, e.g. an Optuna trial's ``params``.
            num_classes: Classifier outputs; default the space's ``num_classes``.
            in_channels: Input image channels; default the space's ``in_channels``.
            name: ``name`` of the spec (not part of its hash).

        Raises:
            SpecError: An unknown or fixed label, a missing active label or a value outside its domain;
                ``path`` is the label.
        """
        from nasgen.space._freeze import freeze

        return freeze(self, params, num_classes=num_classes, in_channels=in_channels, name=name)

    def params_of(self, spec: ArchSpec) -> dict[str, Any]:
        """The params that :meth:`freeze` turns into ``spec`` (inverse of freeze, up to ``name``,
        ``num_classes`` and ``in_channels``, which the space does not search).

        Raises:
            SpecError: ``spec`` is not in the space; the message names the first field that does not fit.
        """
        from nasgen.space._freeze import params_of

        return params_of(self, spec)

    def contains(self, spec: ArchSpec) -> bool:
        """Whether ``spec`` is an architecture of the space (``name``, ``num_classes`` and ``in_channels``
        are not compared)."""
        from nasgen.errors import SpecError

        try:
            self.params_of(spec)
        except SpecError:
            return False
        return True

    def sample_params(self, rng: random.Random) -> dict[str, Any]:
        """Draw each active dimension uniformly with ``rng`` (in :meth:`dimensions` order)."""
        params: dict[str, Any] = {}
        for label, dim in self.dimensions().items():
            if self.is_active(label, params):
                params[label] = dim.sample(rng)
        return params

    def sample(self, seed: int, **freeze_kwargs: Any) -> ArchSpec:
        """A random architecture: each active dimension drawn uniformly with ``random.Random(seed)``.

        Uniform per dimension, not over architectures. The global RNG is never touched.

        Args:
            seed: Seed of the private RNG; equal seeds give equal specs.
            **freeze_kwargs: Passed to :meth:`freeze` (``num_classes``, ``in_channels``, ``name``).
        """
        return self.freeze(self.sample_params(random.Random(seed)), **freeze_kwargs)

    def content_hash(self) -> str:
        """Stable SHA-256 hex digest of the space's architectures (``name`` and ``description`` excluded).

        Equal for two spaces that read the same YAML up to key order, comments and the name; it changes
        with any dimension, fixed value, optional flag, ``in_channels`` or ``num_classes``.
        """
        data = self.model_dump(mode="json", exclude={"name", "description"})
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def size(self) -> int:
        """Exact number of distinct architectures in the space.

        The product of the global dimensions' sizes times the number of distinct stage sequences. Without
        optional stages that is the product of the stages' domain sizes; with them, different removal
        patterns can produce the same sequence (two adjacent optional stages with overlapping domains),
        and each distinct sequence is counted once (see :func:`nasgen.space._count.count_stage_sequences`).
        """
        from nasgen.space._count import space_size

        return space_size(self)

    def macs_extremes(self, **freeze_kwargs: Any) -> tuple[ArchSpec, ArchSpec]:
        """The architectures with the fewest and the most MACs (see :mod:`nasgen.space._macs`).

        Args:
            **freeze_kwargs: Passed to :meth:`freeze` (``num_classes``, ``in_channels``).
        """
        from nasgen.space._macs import macs_extremes

        return macs_extremes(self, **freeze_kwargs)

    def budget_share(self, budget_macs: int, *, samples: int = 1000, seed: int = 0, **freeze_kwargs: Any) -> Any:
        """The share of the space within ``budget_macs`` MACs, estimated on ``samples`` random architectures with
        its 95 % Wilson interval (:func:`nasgen.space.budget_share`)."""
        from nasgen.space._share import budget_share

        return budget_share(self, budget_macs, samples=samples, seed=seed, **freeze_kwargs)

    def macs_range(self, **freeze_kwargs: Any) -> tuple[int, int]:
        """``(min_macs, max_macs)`` over the space: MACs of Conv2d and Linear layers at each architecture's
        ``resolution_px``, batch 1 (docs/design.md cost convention), from :func:`nasgen.cost.count_cost`.

        Args:
            **freeze_kwargs: Passed to :meth:`freeze` (``num_classes``, ``in_channels``).
        """
        from nasgen.cost import count_cost

        smallest, largest = self.macs_extremes(**freeze_kwargs)
        return count_cost(smallest).macs, count_cost(largest).macs
