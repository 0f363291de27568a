"""The JSON Schema of search-space files (``nasgen schema --space``), for editors checking YAML.

Each dimension field accepts the three YAML forms of :func:`nasgen.space.parse_dimension`: a value, a list of
values, or (for integer fields) a range ``{low, high, step}``. The schema of one *value* is taken from the
architecture's own JSON Schema (:class:`nasgen.spec.ArchSpec`, its stem and MBConv stage), so the types and
bounds a space states are those a spec accepts, written once. The schema checks structure and per-value
bounds; what it cannot express (a range's ``high - low`` a multiple of ``step``, the smallest resolution
against the total stride, plugin block kinds' options) is checked when the space is loaded.
"""

from __future__ import annotations

import copy
from typing import Any

from nasgen.space._models import GLOBAL_FIELDS, STAGE_FIELDS
from nasgen.space._space import SearchSpace
from nasgen.spec import ArchSpec

__all__ = ["space_json_schema"]

_STEM_FIELDS = ("out_channels", "kernel_size", "stride")
_ANNOTATIONS = ("title", "default", "description")


def _dimension_schema(value: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``anyOf`` branches of a dimension whose single value has the JSON Schema ``value``."""
    value = {key: item for key, item in value.items() if key not in _ANNOTATIONS}
    branches = [
        value,
        {"type": "array", "items": value, "minItems": 1, "uniqueItems": True,
         "description": "a choice among these values"},
    ]
    if value.get("type") == "integer":
        branches.append({
            "type": "object",
            "description": "the integers low, low + step, …, high (both ends included)",
            "properties": {"low": value, "high": value, "step": {"type": "integer", "minimum": 1, "default": 1}},
            "required": ["low", "high"],
            "additionalProperties": False,
        })
    return branches


def _as_dimensions(properties: dict[str, Any], values: dict[str, Any], fields: tuple[str, ...]) -> None:
    for name in fields:
        annotations = {key: properties[name][key] for key in _ANNOTATIONS if key in properties[name]}
        if "description" in values[name]:
            annotations["description"] = values[name]["description"]
        properties[name] = {**annotations, "anyOf": _dimension_schema(values[name])}


def space_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of search-space YAML/JSON files.

    Top-level properties are :class:`SearchSpace`'s fields; ``stem`` and each item of ``stages`` those of
    :class:`~nasgen.space.StemSpace` and :class:`~nasgen.space.StageSpace`. Every dimension field is
    ``anyOf`` a value (with the spec's type and bounds), a list of such values, and for integer fields a range
    ``{low, high, step}``. ``kind`` is a block-kind name (``mbconv``, ``fused_mbconv`` or a plugin's) or a list.
    """
    # serialization mode: a dimension field has no validation-mode schema (an arbitrary type), only its YAML form
    schema = copy.deepcopy(SearchSpace.model_json_schema(mode="serialization"))
    arch = ArchSpec.model_json_schema()
    _as_dimensions(schema["properties"], arch["properties"], GLOBAL_FIELDS)
    _as_dimensions(schema["$defs"]["StemSpace"]["properties"], arch["$defs"]["StemSpec"]["properties"], _STEM_FIELDS)
    stage_values = dict(arch["$defs"]["MBConvSpec"]["properties"])
    stage_values["kind"] = {
        "type": "string",
        "minLength": 1,
        "description": "block kind: 'mbconv', 'fused_mbconv' or one a plugin registers (nasgen plugins)",
    }
    _as_dimensions(schema["$defs"]["StageSpace"]["properties"], stage_values, STAGE_FIELDS)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "nasgen search space"
    schema["description"] = (
        "A nasgen search space (search_spaces/*.yaml, `nasgen validate FILE`). Each dimension field is a value, "
        "a list of values (a choice) or an integer range {low, high, step}; docs/guide.md describes every field."
    )
    return schema
