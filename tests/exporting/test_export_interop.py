"""The manifest's timm and torchvision views: golden strings from those libraries, and a torchvision
network built from the view that computes the same function as nasgen's."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torchvision.models.efficientnet as tv
from export_helpers import calibrate, small, tiny_spec

from nasgen.exporting import timm_view, torchvision_view
from nasgen.nn import from_torchvision
from nasgen.spec import load_spec, spec_from_arch_def

# timm/models/efficientnet.py: _gen_efficientnet (B0) and _gen_efficientnetv2_s
TIMM_B0 = [
    ["ds_r1_k3_s1_e1_c16_se0.25"],
    ["ir_r2_k3_s2_e6_c24_se0.25"],
    ["ir_r2_k5_s2_e6_c40_se0.25"],
    ["ir_r3_k3_s2_e6_c80_se0.25"],
    ["ir_r3_k5_s1_e6_c112_se0.25"],
    ["ir_r4_k5_s2_e6_c192_se0.25"],
    ["ir_r1_k3_s1_e6_c320_se0.25"],
]
TIMM_V2_S = [
    ["cn_r2_k3_s1_e1_c24_skip"],
    ["er_r4_k3_s2_e4_c48"],
    ["er_r4_k3_s2_e4_c64"],
    ["ir_r6_k3_s2_e4_c128_se0.25"],
    ["ir_r9_k3_s1_e6_c160_se0.25"],
    ["ir_r15_k3_s2_e6_c256_se0.25"],
]


@pytest.mark.parametrize(
    ("name", "golden", "stem"), [("efficientnet-b0", TIMM_B0, 32), ("efficientnetv2-s", TIMM_V2_S, 24)]
)
def test_timm_arch_def_equals_timm_and_parses_back(name, golden, stem):
    spec = load_spec(name)
    view = timm_view(spec)
    assert view["arch_def"] == golden
    assert view["exact"] is True and view["notes"] == []
    assert view["kwargs"]["stem_size"] == stem and view["kwargs"]["num_features"] == 1280
    fields = {k: getattr(spec, k) for k in ("resolution_px", "dropout", "bn_eps", "activation", "name")}
    back = spec_from_arch_def(view["arch_def"], stem_channels=stem, head_channels=1280, **fields)
    assert back.content_hash() == spec.content_hash()


@pytest.mark.parametrize(
    ("name", "tv_name"), [("efficientnet-b0", "efficientnet_b0"), ("efficientnetv2-s", "efficientnet_v2_s")]
)
def test_torchvision_settings_equal_torchvision_configs(name, tv_name):
    view = torchvision_view(load_spec(name))
    settings, _ = tv._efficientnet_conf(tv_name, width_mult=1.0, depth_mult=1.0)
    expected = [
        {
            "config": type(c).__name__,
            "expand_ratio": c.expand_ratio,
            "kernel": c.kernel,
            "stride": c.stride,
            "input_channels": c.input_channels,
            "out_channels": c.out_channels,
            "num_layers": c.num_layers,
        }
        for c in settings
    ]
    assert view["inverted_residual_setting"] == expected
    assert view["exact"] is True and view["last_channel"] == 1280
    assert view["code"][1] == (
        "MBConvConfig(6, 3, 2, 16, 24, 2)" if name == "efficientnet-b0" else "FusedMBConvConfig(4, 3, 2, 24, 48, 4)"
    )


def _torchvision_model(view):
    classes = {"MBConvConfig": tv.MBConvConfig, "FusedMBConvConfig": tv.FusedMBConvConfig}
    settings = [
        classes[s["config"]](
            s["expand_ratio"], s["kernel"], s["stride"], s["input_channels"], s["out_channels"], s["num_layers"]
        )
        for s in view["inverted_residual_setting"]
    ]
    eps = float(view["norm_layer"].split("eps=")[1].split(",")[0])
    return tv.EfficientNet(
        settings,
        dropout=view["dropout"],
        stochastic_depth_prob=view["stochastic_depth_prob"],
        num_classes=view["num_classes"],
        norm_layer=partial(torch.nn.BatchNorm2d, eps=eps),
        last_channel=view["last_channel"],
    )


@pytest.mark.parametrize("name", ["efficientnet-b0", "efficientnetv2-s"])
def test_torchvision_network_built_from_the_view_computes_the_same_function(name):
    spec = small(name)
    torch.manual_seed(0)
    theirs = calibrate(_torchvision_model(torchvision_view(spec)), spec)
    ours = from_torchvision(theirs.state_dict(), spec).eval()
    assert (
        sum(p.numel() for p in theirs.parameters())
        == {"efficientnet-b0": 5_288_548, "efficientnetv2-s": 21_458_488}[name]
    )
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = theirs(x)
        torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=0)
    assert expected.abs().max() > 0.5


def test_inexact_views_say_why():
    spec = tiny_spec()  # fused e1 with SE, fused e4 without, hardswish, grey input
    timm = timm_view(spec)
    assert timm["exact"] is False
    assert timm["arch_def"][0] == ["cn_r2_k3_s1_e1_c8_skip"]
    assert "stages.0: timm's single-conv block (cn) has no SE" in timm["notes"]
    torchvision = torchvision_view(spec)
    assert torchvision["exact"] is False
    notes = "\n".join(torchvision["notes"])
    assert "uses SiLU, this one hardswish" in notes
    assert "takes 3 input channels, this one 1" in notes
    assert "stages.0: torchvision's FusedMBConv has no SE, this stage 0.25" in notes


def test_channel_rounding_is_reported():
    spec = load_spec("efficientnet-b0")
    stages = list(spec.stages)
    stages[1] = stages[1].model_copy(update={"out_channels": 20})  # 20 → 24 in timm and torchvision
    odd = spec.replace(stages=[s.model_dump() for s in stages])
    assert "stages.1: timm rounds out_channels 20 to 24" in timm_view(odd)["notes"]
    assert "stages.1: torchvision rounds out_channels 20 to 24" in torchvision_view(odd)["notes"]
    assert "stages.2: torchvision rounds input_channels 20 to 24" in torchvision_view(odd)["notes"]
