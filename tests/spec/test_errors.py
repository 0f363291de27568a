"""Bad architecture input: one SpecError naming file, line, field path and bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasgen.errors import SpecError
from nasgen.spec import load_spec, loads_spec

B0_YAML = (Path(__file__).parents[2] / "nasgen" / "archs" / "efficientnet-b0.yaml").read_text()


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(needle)


def _patched(old: str, new: str, occurrence: int) -> str:
    parts = B0_YAML.split(old)
    assert len(parts) > occurrence
    return old.join(parts[:occurrence]) + new + old.join(parts[occurrence:])


@pytest.mark.parametrize(
    ("old", "new", "occurrence", "path", "message"),
    [
        ("kernel_size: 5", "kernel_size: 4", 1, "stages.2.kernel_size", "must be 3, 5 or 7, got 4"),
        ("stride: 2", "stride: 3", 2, "stages.1.stride", "must be 1 or 2, got 3"),
        ("expand_ratio: 6", "expand_ratio: 0", 1, "stages.1.expand_ratio", "must be a positive integer, got 0"),
        ("out_channels: 24", "out_channels: -24", 1, "stages.1.out_channels", "must be a positive integer, got -24"),
        ("num_layers: 3", "num_layers: 3.5", 1, "stages.3.num_layers", "valid integer, got 3.5"),
        ("num_layers: 2", "num_layers: true", 1, "stages.1.num_layers", "valid integer, got True"),
        ("se_ratio: 0.25", "se_ratio: 1.5", 1, "stages.0.se_ratio", "less than or equal to 1"),
        ("kind: mbconv", "kind: conv", 1, "stages.0.kind", "'conv'"),
        ("head_channels: 1280", "head_channel: 1280", 1, "head_channel", "unknown field"),
        ("  stride: 1\n", "  stride: 1\n  strides: 2\n", 1, "stages.0.strides", "unknown field"),
    ],
)
def test_bad_field_names_file_line_path_value(old, new, occurrence, path, message) -> None:
    text = _patched(old, new, occurrence)
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="arch.yaml")
    error = info.value
    assert error.path == path
    assert message in str(error)
    assert str(error).startswith(f"arch.yaml, line {error.line}: {path}: ")
    expected_line = _line_of(text, new.strip().splitlines()[-1].strip(), occurrence if new.strip() in B0_YAML else 1)
    assert error.line == expected_line


def test_yaml_syntax_error_has_line() -> None:
    text = "stem:\n  out_channels: 32\nstages: [\n  {kind: mbconv,\n"
    with pytest.raises(SpecError, match=r"^bad\.yaml, line \d+: YAML syntax error"):
        loads_spec(text, file="bad.yaml")


def test_missing_file_and_unknown_name(tmp_path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="neither a file nor a built-in architecture"):
        load_spec("efficientnet-b9")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(SpecError, match="expected a mapping"):
        loads_spec("- 1\n- 2\n", file="list.yaml")


def test_resolution_below_total_stride() -> None:
    with pytest.raises(SpecError, match="below the total stride 32") as error:
        load_spec("efficientnet-b0").replace(resolution_px=16)
    # a model-level check: the message must not append the whole document as the bad value
    assert "stages" not in str(error.value) and len(str(error.value)) < 120


def test_empty_file_says_empty() -> None:
    with pytest.raises(SpecError, match="empty.yaml: the file is empty"):
        loads_spec("", file="empty.yaml")


def test_missing_required_field() -> None:
    with pytest.raises(SpecError, match="stem: required field is missing"):
        loads_spec("stages:\n  - {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 1, expand_ratio: 1, out_channels: 8}\n")


@pytest.mark.parametrize("source", [None, 3, 2.5])
def test_load_spec_rejects_non_path_objects(source: object) -> None:
    from nasgen.cost import count_cost
    from nasgen.spec import load_spec

    for call in (load_spec, count_cost):
        with pytest.raises(SpecError, match=f"a built-in name or a path, got {type(source).__name__}"):
            call(source)


def test_misspelled_stage_field_is_reported_before_the_missing_one() -> None:
    text = _patched("kernel_size: 5", "kernal_size: 5", 1)
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="arch.yaml")
    line = _line_of(text, "kernal_size: 5")
    assert str(info.value) == f"arch.yaml, line {line}: stages.2.kernal_size: unknown field (did you mean 'kernel_size'?)"


def test_misspelled_optional_field_gets_a_suggestion_from_the_known_names() -> None:
    text = B0_YAML.replace("bn_momentum: 0.1", "bn_momentun: 0.1")
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="arch.yaml")
    assert info.value.path == "bn_momentun"
    assert info.value.message == "unknown field (did you mean 'bn_momentum'?)"


def test_unknown_field_far_from_any_name_says_check_the_spelling() -> None:
    text = B0_YAML.replace("bn_momentum: 0.1", "bn_momentum: 0.1\nzzz: 1")
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="arch.yaml")
    assert info.value.message == "unknown field (check the spelling)"
