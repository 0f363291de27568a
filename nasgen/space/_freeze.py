"""Between params and specs: :func:`freeze` (params → ArchSpec) and :func:`params_of` (its inverse).

``params_of`` aligns the spec's stages with the space's stages: every mandatory stage of the space
takes one spec stage in order, an optional one takes one or none. The first alignment found (depth-first,
a stage kept before it is removed) is returned; when several exist they freeze to the same spec.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nasgen.errors import SpecError, short_repr
from nasgen.space._models import GLOBAL_FIELDS, check_count
from nasgen.spec import ArchSpec, spec_from_dict

if TYPE_CHECKING:
    from nasgen.space._space import SearchSpace

__all__ = ["condition_of", "freeze", "params_of"]


def condition_of(space: SearchSpace, label: str) -> str | None:
    """The ``stages.{i}.present`` label that ``label`` depends on, or ``None``.

    Raises:
        SpecError: Unknown label.
    """
    if label not in space._all_dimensions:
        raise SpecError("not a label of this search space", path=label, value=label)
    parts = label.split(".")
    if parts[0] != "stages" or parts[2] == "present" or not space.stages[int(parts[1])].optional:
        return None
    return f"stages.{parts[1]}.present"


def _chosen_values(space: SearchSpace, params: dict[str, Any]) -> dict[str, Any]:
    """``{label: value}`` for every active label: given params in canonical form plus the fixed values."""
    every = space.all_dimensions()
    for label, value in params.items():
        if label not in every:
            raise SpecError(
                f"not a label of this search space, got the value {short_repr(value)}", path=label, value=value
            )
        if len(every[label]) == 1:
            raise SpecError(
                f"is fixed to {every[label].values()[0]!r} in this space, not a dimension; got {short_repr(value)}",
                path=label,
                value=value,
            )
    chosen: dict[str, Any] = {}
    for label, dim in every.items():
        if label in params:
            try:
                chosen[label] = dim.canonical(params[label])
            except SpecError as exc:
                raise SpecError(exc.message, path=label, value=params[label]) from None
        elif len(dim) == 1:
            chosen[label] = dim.values()[0]
        elif space.is_active(label, chosen):
            raise SpecError(f"missing: a value in {dim.describe()} is required", path=label)
    return chosen


def freeze(
    space: SearchSpace,
    params: dict[str, Any],
    *,
    num_classes: int | None = None,
    in_channels: int | None = None,
    name: str | None = None,
) -> ArchSpec:
    """See :meth:`SearchSpace.freeze`."""
    chosen = _chosen_values(space, params)
    stages = []
    for i, stage in enumerate(space.stages):
        if stage.optional and chosen[f"stages.{i}.present"] is not True:
            continue
        stages.append({field: chosen[f"stages.{i}.{field}"] for field in stage.field_dimensions()})
    data: dict[str, Any] = {
        "name": name,
        "in_channels": check_count("in_channels", space.in_channels if in_channels is None else in_channels),
        "resolution_px": chosen["resolution_px"],
        "stem": {field: chosen[f"stem.{field}"] for field in ("out_channels", "kernel_size", "stride")},
        "stages": stages,
        "num_classes": check_count("num_classes", space.num_classes if num_classes is None else num_classes),
    }
    data.update({field: chosen[field] for field in GLOBAL_FIELDS[1:]})
    return spec_from_dict(data)


def _beyond_space(data: dict[str, Any], known: Any) -> list[str]:
    """Serialized fields a space never sets: the exactness options, present only away from their default."""
    return sorted(set(data) - set(known) - {"name", "options"})


def _misfit(space: SearchSpace, index: int, stage: Any) -> str | None:
    """Why spec ``stage`` is not in the space's stage ``index`` (``None`` when it is)."""
    data = stage.model_dump()
    for field in _beyond_space(data, space.stages[index].field_dimensions()):
        return f"{field} {short_repr(data[field])} is an option no space stage sets (its default is the space's)"
    for field, dim in space.stages[index].field_dimensions().items():
        value = getattr(stage, field)
        if value not in dim:
            return f"{field} {short_repr(value)} is not in the space's stages.{index}.{field} ({dim.describe()})"
    return None


def _align(space: SearchSpace, spec: ArchSpec) -> list[int | None]:
    """For each space stage, the index of the spec stage it holds (``None`` = removed).

    Raises:
        SpecError: No alignment exists; the message names the furthest spec stage that did not fit.
    """
    n, m = len(space.stages), len(spec.stages)
    mandatory = sum(1 for s in space.stages if not s.optional)
    if not mandatory <= m <= n:
        allowed = f"{mandatory}" if mandatory == n else f"{mandatory} to {n}"
        raise SpecError(f"the space has {allowed} stages, the spec has {m}", path="stages", value=m)
    fits = {(i, j): _misfit(space, i, spec.stages[j]) for i in range(n) for j in range(m)}

    @lru_cache(maxsize=None)
    def walk(i: int, j: int) -> tuple[int | None, ...] | None:
        if i == n:
            return () if j == m else None
        if j < m and fits[(i, j)] is None:
            rest = walk(i + 1, j + 1)
            if rest is not None:
                return (j, *rest)
        if space.stages[i].optional:
            rest = walk(i + 1, j)
            if rest is not None:
                return (None, *rest)
        return None

    found = walk(0, 0)
    if found is None:
        j, reason = max(
            ((j, reason) for (_, j), reason in fits.items() if reason is not None), key=lambda item: item[0]
        )
        raise SpecError(f"not in the search space: {reason}", path=f"stages.{j}", value=spec.stages[j].display())
    return list(found)


def _check(dim: Any, label: str, value: Any) -> None:
    if value not in dim:
        raise SpecError(
            f"not in the search space: {short_repr(value)} is not {dim.describe()}", path=label, value=value
        )


def params_of(space: SearchSpace, spec: ArchSpec) -> dict[str, Any]:
    """See :meth:`SearchSpace.params_of`."""
    every = space.all_dimensions()
    top = spec.model_dump(exclude={"stem", "stages"})
    for field in _beyond_space(top, (*GLOBAL_FIELDS, "in_channels", "num_classes")):
        raise SpecError(f"not in the search space: a space builds {field} at its default, not "
                        f"{short_repr(top[field])}", path=field, value=top[field])  # fmt: skip
    values: dict[str, Any] = {"resolution_px": spec.resolution_px}
    values.update({f"stem.{f}": getattr(spec.stem, f) for f in ("out_channels", "kernel_size", "stride")})
    values.update({field: getattr(spec, field) for field in GLOBAL_FIELDS[1:]})
    for label, value in values.items():
        _check(every[label], label, value)
    for i, j in enumerate(_align(space, spec)):
        if space.stages[i].optional:
            values[f"stages.{i}.present"] = j is not None
        if j is not None:
            values.update({f"stages.{i}.{f}": getattr(spec.stages[j], f) for f in space.stages[i].field_dimensions()})
    # dimensions() order; labels of a removed stage are absent from ``values``
    return {label: dim.canonical(values[label]) for label, dim in space.dimensions().items() if label in values}
