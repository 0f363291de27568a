"""ArchSpec: validation, YAML/JSON round trips, hashing, timm notation, error messages."""

from __future__ import annotations

import json
import sys

import pytest

from nasgen.errors import SpecError
from nasgen.spec import (
    ArchSpec,
    builtin_architectures,
    dump_json,
    dump_yaml,
    json_schema,
    load_spec,
    loads_spec,
    save_spec,
    spec_from_arch_def,
    spec_from_dict,
)

B0_DISPLAY = [
    "ir_r1_k3_s1_e1_c16_se0.25",
    "ir_r2_k3_s2_e6_c24_se0.25",
    "ir_r2_k5_s2_e6_c40_se0.25",
    "ir_r3_k3_s2_e6_c80_se0.25",
    "ir_r3_k5_s1_e6_c112_se0.25",
    "ir_r4_k5_s2_e6_c192_se0.25",
    "ir_r1_k3_s1_e6_c320_se0.25",
]
V2S_DISPLAY = [
    "er_r2_k3_s1_e1_c24",
    "er_r4_k3_s2_e4_c48",
    "er_r4_k3_s2_e4_c64",
    "ir_r6_k3_s2_e4_c128_se0.25",
    "ir_r9_k3_s1_e6_c160_se0.25",
    "ir_r15_k3_s2_e6_c256_se0.25",
]


def test_builtin_names() -> None:
    # the hand-written reference architectures; the generated ones (B1-B8, Lite, EdgeTPU, V2-XL, rw, V2-B):
    # tests/spec/test_generated_archs.py, which checks the whole list
    assert {"efficientnet-b0", "efficientnetv2-s", "efficientnetv2-m", "efficientnetv2-l"} <= set(
        builtin_architectures()
    )


def test_b0_matches_paper_table_1() -> None:
    spec = load_spec("efficientnet-b0")
    assert spec.display() == B0_DISPLAY
    assert (spec.stem.out_channels, spec.stem.kernel_size, spec.stem.stride) == (32, 3, 2)
    assert spec.head_channels == 1280 and spec.resolution_px == 224
    assert spec.dropout == 0.2 and spec.drop_path_rate == 0.2
    assert spec.num_blocks == 16


def test_v2s_matches_paper_table_4() -> None:
    spec = load_spec("efficientnetv2-s")
    assert spec.display() == V2S_DISPLAY
    assert spec.stem.out_channels == 24 and spec.resolution_px == 384
    assert spec.bn_eps == 1e-3
    assert spec.num_blocks == 40


@pytest.mark.parametrize("name", sorted(builtin_architectures()))
def test_yaml_and_json_round_trip(name: str, tmp_path) -> None:
    spec = load_spec(name)
    assert loads_spec(dump_yaml(spec)) == spec
    assert loads_spec(dump_json(spec)) == spec
    for suffix in (".yaml", ".json"):
        path = save_spec(spec, tmp_path / f"arch{suffix}")
        assert load_spec(path) == spec
        assert load_spec(str(path)).content_hash() == spec.content_hash()


def test_hash_is_stable_and_ignores_name() -> None:
    spec = load_spec("efficientnet-b0")
    assert spec.content_hash() == spec.replace(name="renamed").content_hash()
    assert spec.content_hash() != spec.replace(resolution_px=240).content_hash()
    # key order in the source does not matter
    data = json.loads(dump_json(spec))
    reordered = dict(reversed(list(data.items())))
    assert spec_from_dict(reordered).content_hash() == spec.content_hash()
    assert len(spec.content_hash()) == 64 and spec.short_hash() == spec.content_hash()[:12]


def test_specs_are_frozen_and_replace_is_pure() -> None:
    spec = load_spec("efficientnet-b0")
    with pytest.raises(Exception):
        spec.resolution_px = 32  # type: ignore[misc]
    smaller = spec.replace(resolution_px=32, num_classes=10)
    assert (smaller.resolution_px, smaller.num_classes) == (32, 10)
    assert (spec.resolution_px, spec.num_classes) == (224, 1000)


def test_arch_def_import_matches_b0() -> None:
    timm_b0 = [
        ["ds_r1_k3_s1_e1_c16_se0.25"],
        ["ir_r2_k3_s2_e6_c24_se0.25"],
        ["ir_r2_k5_s2_e6_c40_se0.25"],
        ["ir_r3_k3_s2_e6_c80_se0.25"],
        ["ir_r3_k5_s1_e6_c112_se0.25"],
        ["ir_r4_k5_s2_e6_c192_se0.25"],
        ["ir_r1_k3_s1_e6_c320_se0.25"],
    ]
    imported = spec_from_arch_def(timm_b0, stem_channels=32, head_channels=1280)
    assert imported.content_hash() == load_spec("efficientnet-b0").content_hash()


def test_arch_def_import_matches_v2s() -> None:
    timm_v2s = [
        ["cn_r2_k3_s1_e1_c24_skip"],
        ["er_r4_k3_s2_e4_c48"],
        ["er_r4_k3_s2_e4_c64"],
        ["ir_r6_k3_s2_e4_c128_se0.25"],
        ["ir_r9_k3_s1_e6_c160_se0.25"],
        ["ir_r15_k3_s2_e6_c256_se0.25"],
    ]
    imported = spec_from_arch_def(timm_v2s, stem_channels=24, resolution_px=384, bn_eps=1e-3)
    assert imported.content_hash() == load_spec("efficientnetv2-s").content_hash()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ir_r1_k3_s1_e1_c16_nre", "unsupported option 'nre'"),
        ("xx_r1_k3_s1_e1_c16", "unknown block type 'xx'"),
        ("ir_r1_k4_s1_e1_c16", "stages.0.kernel_size: must be 3, 5 or 7, got 4"),
    ],
)
def test_arch_def_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        spec_from_arch_def([text])


def test_json_schema_describes_stage_kinds() -> None:
    schema = json_schema()
    text = json.dumps(schema)
    assert "mbconv" in text and "fused_mbconv" in text
    assert schema["additionalProperties"] is False


def test_spec_layer_does_not_import_torch() -> None:
    load_spec("efficientnetv2-s")
    assert "torch" not in sys.modules or "nasgen.nn" in sys.modules
