"""Plugin stage kinds in the spec layer: CustomStageSpec, its registry, and unchanged errors for unknown kinds."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pydantic import BaseModel, ConfigDict, Field

from nasgen.errors import PluginError, SpecError
from nasgen.spec import (
    CustomStageSpec,
    MBConvSpec,
    dump_yaml,
    json_schema,
    load_spec,
    loads_spec,
    register_stage_kind,
    registered_stage_kinds,
    spec_from_dict,
    unregister_stage_kind,
)


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    width: int = Field(2, ge=1)
    mode: str = "a"


@pytest.fixture
def kind() -> Iterator[str]:
    register_stage_kind("test_block", _Options, owner="tests")
    yield "test_block"
    unregister_stage_kind("test_block")


def _data(stage: dict) -> dict:
    data = load_spec("efficientnet-b0").model_dump(mode="json")
    data["stages"][2] = stage
    return data


_STAGE = {"kind": "test_block", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 1, "out_channels": 40}


def test_custom_stage_validates_and_round_trips(kind: str) -> None:
    spec = spec_from_dict(_data({**_STAGE, "options": {"width": 4}}))
    stage = spec.stages[2]
    assert isinstance(stage, CustomStageSpec)
    assert stage.options == {"width": 4, "mode": "a"}  # defaults filled: the hash sees the whole block
    assert isinstance(spec.stages[1], MBConvSpec)
    assert loads_spec(dump_yaml(spec)) == spec
    assert hash(spec) == hash(loads_spec(dump_yaml(spec)))
    assert spec.display()[2] == "test_block_r2_k3_s2_e1_c40_modea_width4"
    assert spec.replace(resolution_px=240).stages[2] == stage
    assert registered_stage_kinds()["test_block"] == "tests"


@pytest.mark.parametrize(
    ("stage", "path", "message"),
    [
        ({**_STAGE, "options": {"width": 0}}, "stages.2.options", "width: Input should be greater than or equal to 1"),
        ({**_STAGE, "options": {"colour": 1}}, "stages.2.options", "colour: Extra inputs are not permitted"),
        ({**_STAGE, "kernel_size": 4}, "stages.2.kernel_size", "must be 3, 5 or 7, got 4"),
        ({**_STAGE, "strides": 1}, "stages.2.strides", "unknown field"),
        ({**_STAGE, "options": {"width": [1]}}, "stages.2.options", "width: must be a bool, int, float or string"),
    ],
)
def test_custom_stage_errors_name_the_field(kind: str, stage: dict, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_dict(_data(stage))
    assert info.value.path == path
    assert message in str(info.value)


def test_unknown_kind_error_is_unchanged_and_lists_plugin_kinds(kind: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_dict(_data({**_STAGE, "kind": "conv"}))
    assert info.value.path == "stages.2.kind"
    assert str(info.value) == "stages.2.kind: must be one of 'mbconv', 'fused_mbconv', 'test_block', got 'conv'"
    text = dump_yaml(load_spec("efficientnet-b0")).replace("kind: mbconv", "kind: conv", 1)
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="arch.yaml")
    assert (info.value.path, info.value.line) == ("stages.0.kind", _line_with(text, "kind: conv"))


def _line_with(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_missing_or_malformed_kind() -> None:
    stage = dict(_STAGE)
    del stage["kind"]
    with pytest.raises(SpecError, match=r"^stages\.2\.kind: required field is missing$"):
        spec_from_dict(_data(stage))
    with pytest.raises(SpecError, match=r"^stages\.2\.kind: must be one of 'mbconv', 'fused_mbconv', got 3$"):
        spec_from_dict(_data({**_STAGE, "kind": 3}))
    with pytest.raises(SpecError, match=r"^stages\.2: Input should be a valid dictionary"):
        spec_from_dict(_data("ir_r1_k3_s1_e1_c16"))  # type: ignore[arg-type]


def test_kind_without_options_model_rejects_options() -> None:
    register_stage_kind("bare_block", owner="tests")
    try:
        assert spec_from_dict(_data({**_STAGE, "kind": "bare_block"})).stages[2].options == {}
        with pytest.raises(SpecError, match="stage kind 'bare_block' takes no options, got {'x': 1}"):
            spec_from_dict(_data({**_STAGE, "kind": "bare_block", "options": {"x": 1}}))
    finally:
        unregister_stage_kind("bare_block")


@pytest.mark.parametrize(
    ("name", "model", "message"),
    [
        ("Bad-Name", None, "lower-case identifier like 'plain_conv', got 'Bad-Name'"),
        ("mbconv", None, "stage kind 'mbconv' is built in"),
        ("ok_kind", dict, "options model of stage kind 'ok_kind' must be a pydantic model"),
    ],
)
def test_register_stage_kind_rejects(name: str, model: object, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        register_stage_kind(name, model, owner="tests")  # type: ignore[arg-type]


def test_register_stage_kind_twice(kind: str) -> None:
    register_stage_kind(kind, _Options, owner="tests")  # the same registration again is harmless
    with pytest.raises(PluginError, match="stage kind 'test_block' is registered twice: by tests and by other"):
        register_stage_kind(kind, _Options, owner="other")


def test_json_schema_keeps_builtin_kinds_exclusive() -> None:
    schema = json_schema()
    custom = schema["$defs"]["CustomStageSpec"]
    assert custom["properties"]["kind"]["not"] == {"enum": ["mbconv", "fused_mbconv"]}
    assert custom["additionalProperties"] is False
    refs = json.dumps(schema["properties"]["stages"]["items"])
    assert all(name in refs for name in ("MBConvSpec", "FusedMBConvSpec", "CustomStageSpec"))
