"""The JSON Schema of search-space files (``nasgen schema --space``): its structure is the space models', each
dimension field takes the three YAML forms with the spec's own bounds, and the shipped space files validate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.space import (
    GLOBAL_FIELDS,
    STAGE_FIELDS,
    SearchSpace,
    StageSpace,
    StemSpace,
    builtin_space_files,
    space_json_schema,
)
from nasgen.spec import ArchSpec, json_schema

ROOT = Path(__file__).parents[2]
SPACE_FILES = [*sorted((ROOT / "search_spaces").glob("*.yaml")), ROOT / "examples" / "small_space.yaml"]


def _forms(prop: dict) -> list[str]:
    return [branch["type"] for branch in prop["anyOf"]]


def test_properties_are_the_space_models_fields() -> None:
    schema = space_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(schema["properties"]) == list(SearchSpace.model_fields)
    assert schema["required"] == ["stem", "stages"]
    assert schema["additionalProperties"] is False
    stem, stage = schema["$defs"]["StemSpace"], schema["$defs"]["StageSpace"]
    assert list(stem["properties"]) == list(StemSpace.model_fields) and stem["required"] == ["out_channels"]
    assert list(stage["properties"]) == list(StageSpace.model_fields)
    assert stage["required"] == ["num_layers", "kernel_size", "stride", "expand_ratio", "out_channels"]
    assert stem["additionalProperties"] is False and stage["additionalProperties"] is False
    assert schema["properties"]["stages"]["items"] == {"$ref": "#/$defs/StageSpace"}


def test_dimension_fields_take_a_value_a_list_or_an_integer_range() -> None:
    schema = space_json_schema()
    stage = schema["$defs"]["StageSpace"]["properties"]
    assert _forms(schema["properties"]["resolution_px"]) == ["integer", "array", "object"]
    assert _forms(schema["properties"]["dropout"]) == ["number", "array"]  # no range of floats
    assert _forms(schema["properties"]["activation"]) == ["string", "array"]
    assert _forms(stage["kind"]) == ["string", "array"]
    for name in GLOBAL_FIELDS:
        assert "anyOf" in schema["properties"][name], name
    for name in STAGE_FIELDS:
        assert "anyOf" in stage[name], name
    # defaults are the space's, descriptions and bounds the spec's (written once, in nasgen.spec)
    assert schema["properties"]["resolution_px"]["default"] == 224
    assert stage["se_ratio"]["default"] == 0.0
    arch = json_schema()
    assert stage["kernel_size"]["anyOf"][0]["enum"] == arch["$defs"]["MBConvSpec"]["properties"]["kernel_size"]["enum"]
    assert stage["kernel_size"]["anyOf"][0]["enum"] == [3, 5, 7]
    assert stage["kernel_size"]["anyOf"][2]["properties"]["low"]["enum"] == [3, 5, 7]
    assert schema["properties"]["dropout"]["anyOf"][0] == {"exclusiveMaximum": 1.0, "minimum": 0.0, "type": "number"}
    assert schema["properties"]["bn_momentum"]["description"] == ArchSpec.model_fields["bn_momentum"].description


def test_builtin_and_example_space_files_match_the_structure() -> None:
    schema = space_json_schema()
    assert {p.stem for p in SPACE_FILES[:-1]} == set(builtin_space_files())
    stage_keys = set(schema["$defs"]["StageSpace"]["properties"])
    for path in SPACE_FILES:
        document = yaml.safe_load(path.read_text())
        assert set(document) <= set(schema["properties"]), path
        assert set(schema["required"]) <= set(document), path
        assert set(document["stem"]) <= set(schema["$defs"]["StemSpace"]["properties"]), path
        for stage in document["stages"]:
            assert set(stage) <= stage_keys, path


@pytest.mark.parametrize("path", SPACE_FILES, ids=lambda p: p.name)
def test_space_files_validate(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(space_json_schema()).validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["stages"][0].update(kernel_size=[3, 4]), "4 is not one of [3, 5, 7]"),
        (lambda d: d["stages"][0].update(kernal_size=3), "'kernal_size' was unexpected"),
        (lambda d: d["stages"][0].update(num_layers={"low": 1, "hihg": 2}), "is not valid under any"),
        (lambda d: d.update(dropout=[0.1, 1.5]), "is not valid under any"),
        (lambda d: d.pop("stem"), "'stem' is a required property"),
    ],
    ids=["kernel", "typo", "range-key", "dropout", "no-stem"],
)
def test_bad_space_documents_fail(change, message: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = yaml.safe_load((ROOT / "examples" / "small_space.yaml").read_text())
    change(document)
    errors = list(jsonschema.Draft202012Validator(space_json_schema()).iter_errors(document))
    messages = [m for e in errors for m in [e.message, *(c.message for c in e.context)]]  # anyOf: per branch
    assert errors and any(message in m for m in messages), messages


def test_cli_schema_space() -> None:
    result = CliRunner().invoke(app, ["schema", "--space"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(json.dumps(space_json_schema()))
    plain = CliRunner().invoke(app, ["schema"])
    assert plain.exit_code == 0 and json.loads(plain.output)["title"] == json_schema()["title"]
