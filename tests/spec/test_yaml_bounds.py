"""The YAML loader is bounded: aliases, depth, size, duplicate keys, YAML 1.1 forms, odd bytes (issue 18)."""

from __future__ import annotations

# Time bounds are CPU seconds (time.process_time): on the shared 2-core machine a niced test can wait far
# longer for a core than it computes.

import time
from pathlib import Path

import pytest

from nasgen.errors import SpecError
from nasgen.space import loads_space
from nasgen.spec import load_spec, loads_spec, yaml_document
from nasgen.spec._loader import MAX_DEPTH, MAX_DOCUMENT_CHARS

B0_YAML = (Path(__file__).parents[2] / "nasgen" / "archs" / "efficientnet-b0.yaml").read_text()
V1_YAML = (Path(__file__).parents[2] / "search_spaces" / "efficientnet-v1.yaml").read_text()


def _billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    lines.append(f"stem: {{out_channels: *a{levels}}}")
    return "\n".join(lines) + "\n"


def test_billion_laughs_fails_fast_with_one_spec_error() -> None:
    text = _billion_laughs()
    assert len(text) < 2_000  # 9^10 ≈ 3.5e9 strings once expanded
    for loads in (loads_spec, loads_space):
        start = time.process_time()
        with pytest.raises(SpecError, match=r"^bomb\.yaml, line \d+: the document expands to more than 100,000"):
            loads(text, file="bomb.yaml")
        assert time.process_time() - start < 1.0


def test_small_alias_use_still_loads() -> None:
    text = B0_YAML.replace("stem:\n", "stem: &stem\n", 1) + "\n"
    assert loads_spec(text) == load_spec("efficientnet-b0")


def test_alias_expanded_inside_a_bad_value_is_not_echoed_in_full() -> None:
    items = ['  - &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    items += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 5)]  # 9^5 values, under the limit
    text = B0_YAML.replace("name: efficientnet-b0", "name:\n" + "\n".join(items))
    start = time.process_time()
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="a.yaml")
    assert time.process_time() - start < 1.0
    assert info.value.path == "name"
    assert str(info.value) == "a.yaml, line 4: name: Input should be a valid string"


@pytest.mark.parametrize("flow", [True, False])
def test_thousand_deep_nesting_is_a_spec_error(flow: bool) -> None:
    if flow:
        text = "stem: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n"
    else:
        text = "stem:\n" + "".join(" " * i + "k:\n" for i in range(1, 1000))
    with pytest.raises(SpecError, match=f"line \\d+: nesting deeper than {MAX_DEPTH} levels"):
        loads_spec(text, file="deep.yaml")


def test_deep_nesting_through_aliases_is_refused() -> None:
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 40)]
    with pytest.raises(SpecError, match="nesting deeper than 32 levels once aliases are expanded"):
        yaml_document("\n".join(lines))


def test_document_size_is_bounded(tmp_path: Path) -> None:
    text = B0_YAML + "#" * MAX_DOCUMENT_CHARS
    with pytest.raises(SpecError, match=r"^big\.yaml: the document is longer than 1,000,000 characters"):
        loads_spec(text, file="big.yaml")
    path = tmp_path / "huge.yaml"
    path.write_text("#" * (4 * MAX_DOCUMENT_CHARS + 1))
    with pytest.raises(SpecError, match="huge.yaml: the file is 4,000,001 bytes"):
        load_spec(path)


def test_duplicate_key_names_both_lines() -> None:
    text = B0_YAML.replace("stem:\n  out_channels: 32\n", "stem:\n  out_channels: 32\n  out_channels: 16\n", 1)
    assert text != B0_YAML
    first = text.splitlines().index("  out_channels: 32") + 1
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="dup.yaml")
    assert str(info.value) == (
        f"dup.yaml, line {first + 1}: duplicate key 'out_channels' (lines {first} and {first + 1}); keep one of them"
    )


def test_duplicate_top_level_key_in_a_space() -> None:
    text = V1_YAML + "resolution_px: 224\nresolution_px: 240\n"
    with pytest.raises(SpecError, match="duplicate key 'resolution_px'"):
        loads_space(text, file="space.yaml")


@pytest.mark.parametrize(
    ("written", "read_as"),
    [("010", " YAML 1.1 reads it as 8,"), ("3:44", " YAML 1.1 reads it as 224,"), ("0xE0", " YAML 1.1 reads it as 224,"),
     ("1_000", " YAML 1.1 reads it as 1000,"), ("0b101", " YAML 1.1 reads it as 5,")],
)
def test_yaml11_integer_forms_are_refused_with_their_reading(written: str, read_as: str) -> None:
    text = B0_YAML.replace("resolution_px: 224", f"resolution_px: {written}")
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="a.yaml")
    message = str(info.value)
    assert message.startswith(f"a.yaml, line 5: '{written}' is not a plain decimal integer:{read_as}")
    assert "quote it" in message


def test_yaml12_octal_and_sexagesimal_float_are_refused() -> None:
    with pytest.raises(SpecError, match="'0o17' is a YAML 1.2 octal"):
        loads_spec(B0_YAML.replace("resolution_px: 224", "resolution_px: 0o17"))
    with pytest.raises(SpecError, match="'1:30.5' is not a plain number"):
        loads_spec(B0_YAML.replace("dropout: 0.2", "dropout: 1:30.5"))


def test_quoted_yaml11_forms_stay_strings() -> None:
    spec = loads_spec(B0_YAML.replace("name: efficientnet-b0", "name: '010'"))
    assert spec.name == "010"
    spec = loads_spec(B0_YAML.replace("name: efficientnet-b0", 'name: "no"'))
    assert spec.name == "no"


def test_unquoted_no_gets_a_hint_to_quote_it() -> None:
    text = B0_YAML.replace("name: efficientnet-b0", "name: no")
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="a.yaml")
    assert str(info.value) == (
        "a.yaml, line 3: name: Input should be a valid string, got False "
        "(YAML reads an unquoted no as the boolean False: quote it, 'no', for a string)"
    )


def test_nul_byte_has_a_line() -> None:
    text = B0_YAML.replace("head_channels: 1280", "head_channels: 12\x0080")
    line = text.splitlines().index("head_channels: 12\x0080") + 1
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="a.yaml")
    assert str(info.value) == f"a.yaml, line {line}: a NUL byte (\\x00) is not allowed in YAML (is this a binary file?)"


def test_other_control_character_has_a_line() -> None:
    with pytest.raises(SpecError, match=r"^a\.yaml, line 2: YAML error: unacceptable character #x0007"):
        loads_spec("name: x\nstem: \x07\n", file="a.yaml")


@pytest.mark.parametrize(
    "text",
    ["stem: !!int abc\n", "resolution_px: " + "9" * 5000 + "\n", "stem: !!python/object:os.system {}\n",
     "stem: !!float xyz\n", "? [a, b]\n: 1\n", "a: 1\n---\nb: 2\n", "{\n"],
)
def test_any_loader_failure_is_one_spec_error(text: str) -> None:
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="a.yaml")
    assert str(info.value).startswith("a.yaml")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stem:\n  32: 1\n", "a.yaml, line 2: a key must be a field name, got '32' (read as int); quote it if it is "
         "meant as text"),
        ("no: 3\n", "a.yaml, line 1: a key must be a field name, got 'no' (read as bool); quote it if it is meant "
         "as text"),
        ("? [a]\n: 1\n", "a.yaml, line 1: a key must be a field name, got a sequence (read as seq); quote it if it "
         "is meant as text"),
    ],
)
def test_non_text_keys_are_refused_with_their_line(text: str, message: str) -> None:
    # found by the fuzz test: an int key reached pydantic as a TypeError ("keywords must be strings")
    for loads in (loads_spec, loads_space):
        with pytest.raises(SpecError) as info:
            loads(text, file="a.yaml")
        assert str(info.value) == message
