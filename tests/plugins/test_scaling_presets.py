"""The released B1–B7 presets from the shipped B0 reproduce docs/design.md's params and MACs exactly."""

from __future__ import annotations

import pytest
from nasgen_scaling import get_preset, preset_table, scale_preset

from nasgen.cost import count_cost
from nasgen.errors import SpecError
from nasgen.spec import load_spec

# docs/design.md "Reference numbers" (torchvision 0.29.1, conv + linear MACs, batch 1, 1000 classes)
REFERENCE = {
    "b0": (224, 5_288_548, 385_814_752),
    "b1": (240, 7_794_184, 686_802_832),
    "b2": (260, 9_109_994, 993_561_872),
    "b3": (300, 12_233_232, 1_827_141_392),
    "b4": (380, 19_341_616, 4_393_771_024),
    "b5": (456, 30_389_784, 10_266_384_752),
    "b6": (528, 43_040_704, 19_067_593_536),
    "b7": (600, 66_347_960, 37_745_884_192),
}
TORCHVISION_MULTIPLIERS = {"b0": (1.0, 1.0), "b1": (1.0, 1.1), "b2": (1.1, 1.2), "b3": (1.2, 1.4), "b4": (1.4, 1.8),
                           "b5": (1.6, 2.2), "b6": (1.8, 2.6), "b7": (2.0, 3.1)}


@pytest.mark.parametrize("preset", sorted(REFERENCE))
def test_preset_reproduces_design_numbers(preset: str) -> None:
    resolution, params, macs = REFERENCE[preset]
    spec = scale_preset(load_spec("efficientnet-b0"), preset)
    cost = count_cost(spec)
    assert (spec.resolution_px, cost.params, cost.macs) == (resolution, params, macs)
    assert spec.name == f"efficientnet-{preset}"


@pytest.mark.parametrize("preset", sorted(REFERENCE))
def test_preset_matches_torchvision_stage_configs(preset: str) -> None:
    efficientnet = pytest.importorskip("torchvision.models.efficientnet")
    width, depth = TORCHVISION_MULTIPLIERS[preset]
    setting, _ = efficientnet._efficientnet_conf(f"efficientnet_{preset}", width_mult=width, depth_mult=depth)
    spec = scale_preset("efficientnet-b0", preset)
    assert spec.stem.out_channels == setting[0].input_channels
    assert [(s.out_channels, s.num_layers, s.kernel_size, s.stride, s.expand_ratio) for s in spec.stages] == [
        (c.out_channels, c.num_layers, c.kernel, c.stride, c.expand_ratio) for c in setting
    ]
    assert spec.head_channels == 4 * setting[-1].out_channels  # torchvision's head rule agrees with round(1280·w)


def test_preset_fields_from_the_yaml_table() -> None:
    table = preset_table()
    assert table.base_resolution_px == 224
    assert list(table.presets) == [f"b{i}" for i in range(8)]
    b4 = scale_preset("efficientnet-b0", "B4")
    assert (b4.dropout, b4.bn_eps, b4.bn_momentum, b4.drop_path_rate) == (0.4, 1e-5, 0.1, 0.2)
    b6 = scale_preset("efficientnet-b0", "b6")
    assert (b6.dropout, b6.bn_eps, b6.bn_momentum) == (0.5, 1e-3, 0.01)  # torchvision B5–B7 BatchNorm
    assert get_preset("b7").depth == 3.1


def test_preset_on_another_baseline_scales_resolution_proportionally() -> None:
    small = load_spec("efficientnet-b0").replace(name="found", resolution_px=64)
    scaled = scale_preset(small, "b3")
    assert scaled.resolution_px == 86  # round(64 · 300 / 224) = round(85.71)
    assert scaled.name == "found-b3"
    unnamed = small.replace(name=None)
    assert scale_preset(unnamed, "b3").name == f"{unnamed.short_hash()}-b3"


@pytest.mark.parametrize("bad", ["b8", "B9", "efficientnet-b4", ""])
def test_unknown_preset(bad: str) -> None:
    with pytest.raises(SpecError) as info:
        scale_preset("efficientnet-b0", bad)
    assert info.value.path == "preset"
    assert f"unknown preset {bad!r}; known presets: b0, b1, b2, b3, b4, b5, b6, b7" in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["b1", "b4", "b7"])
def test_built_preset_params_equal_torchvision(preset: str) -> None:
    models = pytest.importorskip("torchvision.models")
    from nasgen.nn import build_model

    ours = build_model(scale_preset("efficientnet-b0", preset))
    theirs = getattr(models, f"efficientnet_{preset}")()
    count = sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in theirs.parameters()) == REFERENCE[preset][1]
