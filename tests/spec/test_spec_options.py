"""The exactness options of a spec (issue 28): TensorFlow "same" padding, timm's SE rounding, no residual,
expansion from fewer channels and the projecting Fused-MBConv at expansion 1. Each defaults to nasgen's
original behaviour and is left out of the serialized form there, so no existing hash or file changes."""

from __future__ import annotations

import pytest

from nasgen.errors import SpecError
from nasgen.spec import (
    dump_json,
    dump_yaml,
    load_spec,
    loads_spec,
    parse_stage_string,
    se_channels,
    spec_from_arch_def,
    spec_from_dict,
)

# content_hash() of the shipped architectures as they were before the options existed (main, 2024 layout)
HASHES_BEFORE = {
    "efficientnet-b0": "023790384cf4f3af06553eb928f59f0f0ee52076bf28ecf9affbd2dced6409d9",
    "efficientnetv2-s": "df7e6bea4c605bdcf12c70904ec2bd540f1dbbef2187f72b5c6cc1d627a63e62",
    "efficientnetv2-m": "abac8ca261053bf49730886f4820bfeb6377c6531574d60c3430bbcca4ffff2f",
    "efficientnetv2-l": "c4af4c9aecc56a2bb553a8fb367b750c3fc582f2b84f08351b62db6e2f74afaf",
}
NEW_FIELDS = ("padding", "se_rounding", "residual", "expand_in_channels", "always_project")


@pytest.mark.parametrize("name", sorted(HASHES_BEFORE))
def test_defaults_keep_every_existing_hash_and_file(name: str) -> None:
    spec = load_spec(name)
    assert spec.content_hash() == HASHES_BEFORE[name]
    assert (spec.padding, spec.se_rounding) == ("symmetric", "floor")
    assert all(stage.residual for stage in spec.stages)
    for text in (dump_yaml(spec), dump_json(spec), str(spec.canonical_dict())):
        assert not any(field in text for field in NEW_FIELDS)


def _edge_spec(**changes):
    """EfficientNet-EdgeTPU-M's first stage (timm: er_r1_k3_s1_e4_c24_fc24_noskip, 2 blocks at depth 1.1)."""
    data = {
        "resolution_px": 64,
        "stem": {"out_channels": 32},
        "stages": [
            {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 1, "expand_ratio": 4,
             "out_channels": 24, "expand_in_channels": 24, "residual": False},
            {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 1,
             "out_channels": 32, "always_project": True},
            {"kind": "mbconv", "num_layers": 1, "kernel_size": 5, "stride": 2, "expand_ratio": 6,
             "out_channels": 40, "se_ratio": 0.25},
        ],
        "head_channels": 64,
        "padding": "same",
        "se_rounding": "round",
    }  # fmt: skip
    data.update(changes)
    return spec_from_dict(data)


def test_options_round_trip_and_change_the_hash() -> None:
    spec = _edge_spec()
    assert loads_spec(dump_yaml(spec)) == spec and loads_spec(dump_json(spec)) == spec
    text = dump_yaml(spec)
    assert "padding: same" in text and "se_rounding: round" in text and "residual: false" in text
    assert "expand_in_channels: 24" in text and "always_project: true" in text
    hashes = {spec.content_hash()}
    for changes in ({"padding": "symmetric"}, {"se_rounding": "floor"}):
        hashes.add(spec.replace(**changes).content_hash())
    stages = [stage.model_dump() for stage in spec.stages]
    stages[0]["residual"] = True
    hashes.add(spec.replace(stages=stages).content_hash())
    assert len(hashes) == 4
    assert spec.display()[:2] == ["er_r2_k3_s1_e4_c24_fc24_noskip", "er_r2_k3_s2_e1_c32_proj"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"padding": "valid"}, "padding: Input should be 'symmetric' or 'same'"),
        ({"se_rounding": "ceil"}, "se_rounding: Input should be 'floor' or 'round'"),
    ],
)
def test_network_option_errors(changes, message) -> None:
    with pytest.raises(SpecError, match=message):
        _edge_spec(**changes)


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"expand_ratio": 4, "always_project": True}, "always_project applies at expand_ratio 1 only"),
        ({"expand_ratio": 1, "expand_in_channels": 16}, "expand_in_channels needs a hidden width"),
        ({"expand_ratio": 4, "expand_in_channels": 0}, "expand_in_channels: must be a positive integer, got 0"),
        ({"expand_ratio": 4, "residual": 1}, "residual: Input should be a valid boolean"),
    ],
)
def test_stage_option_errors(stage, message) -> None:
    data = {"kind": "fused_mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "out_channels": 16, **stage}
    with pytest.raises(SpecError, match=message):
        spec_from_dict({"stem": {"out_channels": 16}, "stages": [data], "resolution_px": 32})


def test_mbconv_has_no_fused_options() -> None:
    data = {"kind": "mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 4, "out_channels": 16,
            "always_project": True}  # fmt: skip
    with pytest.raises(SpecError, match="stages.0.always_project: unknown field"):
        spec_from_dict({"stem": {"out_channels": 16}, "stages": [data], "resolution_px": 32})


def test_se_rounding_rules() -> None:
    # floor = torchvision's int(C * r); round = timm's round(hidden * (r / e)), the same count where C * r is whole
    assert [se_channels(c, 0.25) for c in (16, 19, 30, 112)] == [4, 4, 7, 28]
    assert [se_channels(c, 0.25, 6, "round") for c in (16, 19, 30, 112)] == [4, 5, 8, 28]
    # Python's round, as timm's: halves to even (18 * 0.25 = 4.5 -> 4, 30 * 0.25 = 7.5 -> 8)
    assert se_channels(18, 0.25, 1, "round") == 4 and se_channels(30, 0.25, 1, "round") == 8
    assert se_channels(2, 0.1, 1, "round") == 1  # never below 1
    with pytest.raises(SpecError, match="se_rounding: must be 'floor' or 'round', got 'up'"):
        se_channels(16, 0.25, 1, "up")


def test_timm_notation_options_read_as_timm_builds_them() -> None:
    assert parse_stage_string("er_r1_k3_s1_e4_c24_fc24_noskip") == {
        "kind": "fused_mbconv", "expand_ratio": 4, "se_ratio": 0.0, "num_layers": 1, "kernel_size": 3, "stride": 1,
        "out_channels": 24, "expand_in_channels": 24, "residual": False,
    }  # fmt: skip
    # timm's EdgeResidual projects at expansion 1; its ConvBnAct has a residual only with "skip"
    assert parse_stage_string("er_r2_k3_s1_e1_c24")["always_project"] is True
    assert parse_stage_string("cn_r1_k3_s1_e1_c16")["residual"] is False
    assert "residual" not in parse_stage_string("cn_r1_k3_s1_e1_c16_skip")
    rw = spec_from_arch_def([["er_r2_k3_s1_e1_c24"], ["er_r4_k3_s2_e4_c48"]], stem_channels=24)
    assert rw.stages[0].always_project and rw.display()[0] == "er_r2_k3_s1_e1_c24_proj"
