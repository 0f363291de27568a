"""Bad search-space YAML: one SpecError naming file, line, label path and the bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from space_tiny import TINY_YAML

from nasgen.errors import SpecError
from nasgen.space import load_space, loads_space


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


CASES = [
    # (old, new, path, message, value)
    ("  kernel_size: 3\n", "  kernel_size: [3, 4]\n", "stages.1.kernel_size", "must be 3, 5 or 7, got 4", [3, 4]),
    ("  kernel_size: 3\n", "  kernel_size: 4\n", "stages.1.kernel_size", "must be 3, 5 or 7, got 4", 4),
    ("  optional: true\n", "  optional: true\n  kernal_size: 3\n", "stages.1.kernal_size", "unknown field", 3),
    ("- num_layers: 1\n", "- num_layers: true\n", "stages.0.num_layers",
     "Input should be a valid integer, got True", True),
    ("  out_channels: 24\n", "  out_channels: [24, 32.5]\n", "stages.1.out_channels",
     "Input should be a valid integer, got 32.5", [24, 32.5]),
    ("  kernel_size: [3, 5]\n", "  kernel_size: []\n", "stages.0.kernel_size", "choices must not be empty", []),
    ("{low: 1, high: 2}", "{low: 3, high: 2}", "stages.1.num_layers", "low must not exceed high, got low=3, high=2",
     {"low": 3, "high": 2}),
    ("{low: 1, high: 2}", "{low: 1, high: 2, step: 0}", "stages.1.num_layers", "step must be positive, got step=0",
     {"low": 1, "high": 2, "step": 0}),
    ("{low: 1, high: 2}", "{low: 1, high: 2, step: -1}", "stages.1.num_layers", "step must be positive",
     {"low": 1, "high": 2, "step": -1}),
    ("{low: 1, high: 2}", "{low: 0, high: 2}", "stages.1.num_layers", "must be a positive integer, got 0",
     {"low": 0, "high": 2}),
    ("[mbconv, fused_mbconv]", "[mbconv, conv]", "stages.1.kind", "must be 'mbconv' or 'fused_mbconv', got 'conv'",
     ["mbconv", "conv"]),
    ("  se_ratio: [0.0, 0.25]\n", "  se_ratio: [0.0, 1.5]\n", "stages.1.se_ratio",
     "Input should be less than or equal to 1, got 1.5", [0.0, 1.5]),
    ("  optional: true\n", "  optional: 1\n", "stages.1.optional", "Input should be a valid boolean, got 1", 1),
    ("resolution_px: [32, 64]\n", "resolution_px: [2, 64]\n", "resolution_px",
     "must be at least the largest total stride 4", [2, 64]),
    ("num_classes: 10\n", "num_classes: 10\ndropout: [0.1, 1.0]\n", "dropout", "Input should be less than 1, got 1.0",
     [0.1, 1.0]),
    ("num_classes: 10\n", "num_classes: 10\nactivation: [silu, swish]\n", "activation",
     "Input should be 'silu', 'relu', 'relu6', 'hardswish' or 'gelu', got 'swish'", ["silu", "swish"]),
    ("  out_channels: 16\nstages", "  out_channels: 16\n  stride: 3\nstages", "stem.stride",
     "must be 1 or 2, got 3", 3),
]


@pytest.mark.parametrize(("old", "new", "path", "message", "value"), CASES, ids=[c[2] + ":" + c[3][:20] for c in CASES])
def test_bad_field_names_file_line_path_and_value(old: str, new: str, path: str, message: str, value: object) -> None:
    assert TINY_YAML.count(old) >= 1
    text = TINY_YAML.replace(old, new, 1)
    with pytest.raises(SpecError) as info:
        loads_space(text, file="space.yaml")
    error = info.value
    assert error.path == path
    assert message in error.message
    assert error.value == value
    assert error.file == "space.yaml"
    changed = next(line for line in new.splitlines() if line not in old.splitlines())
    assert error.line == _line(text, changed)
    assert str(error).startswith(f"space.yaml, line {error.line}: {path}: ")


def test_all_stages_optional_is_an_error() -> None:
    text = TINY_YAML.replace("  out_channels: 16\n-", "  out_channels: 16\n  optional: true\n-", 1)
    with pytest.raises(SpecError, match=r"stages: at least one stage must not be optional, got 2 optional stages"):
        loads_space(text, file="space.yaml")


def test_missing_required_field_and_syntax_error() -> None:
    with pytest.raises(SpecError, match=r"stages\.1\.out_channels: required field is missing"):
        loads_space(TINY_YAML.replace("  out_channels: 24\n", "", 1), file="space.yaml")
    with pytest.raises(SpecError, match=r"space\.yaml, line \d+: YAML syntax error"):
        loads_space(TINY_YAML + "stages: [\n", file="space.yaml")
    with pytest.raises(SpecError, match=r"expected a mapping of fields at the top level, got list"):
        loads_space("- 1\n", file="space.yaml")


def test_errors_name_the_file_when_loaded_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(TINY_YAML.replace("  kernel_size: 3\n", "  kernel_size: 4\n"))
    with pytest.raises(SpecError) as info:
        load_space(path)
    assert info.value.file == str(path)
    assert str(info.value).endswith("stages.1.kernel_size: must be 3, 5 or 7, got 4")


def test_load_space_rejects_non_path_objects() -> None:
    from nasgen.space import load_space

    with pytest.raises(SpecError, match="a built-in name or a path, got NoneType"):
        load_space(None)
