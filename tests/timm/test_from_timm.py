"""nasgen.from_timm on every standard EfficientNet and EfficientNetV2 of timm (issue 28): random init with
perturbed BatchNorm statistics, two images at an even and an odd size (TF SAME pads by parity): the same logits
within 1e-5 of their scale, the same params, and the same MACs counted by nasgen's rule on both networks."""

from __future__ import annotations

import pytest
import torch
from timm_helpers import NO_TIMM, perturb_batchnorm

timm = pytest.importorskip("timm", reason=NO_TIMM)

from nasgen.cost import count_cost, measure_cost  # noqa: E402
from nasgen.errors import SpecError  # noqa: E402
from nasgen.nn import build_model  # noqa: E402
from nasgen.spec import load_spec  # noqa: E402
from nasgen.timm import create_timm_model, from_timm, timm_data_config  # noqa: E402

# the families of issue 28, item 2: timm's own models, every tf_ port of them that timm has, and V2-B0..B3
FAMILIES = (
    [f"efficientnet_b{i}" for i in range(9)] + [f"efficientnet_lite{i}" for i in range(5)]
    + ["efficientnet_es", "efficientnet_em", "efficientnet_el", "efficientnetv2_rw_t", "efficientnetv2_rw_s",
       "efficientnetv2_rw_m"] + [f"efficientnetv2_{size}" for size in ("s", "m", "l", "xl")]
)  # fmt: skip
NAMES = FAMILIES + [f"tf_{name}" for name in FAMILIES if timm.is_model(f"tf_{name}")]
NAMES += [f"tf_efficientnetv2_b{i}" for i in range(4)]
LARGE = ("efficientnet_b5", "efficientnet_b6", "efficientnet_b7", "efficientnet_b8", "efficientnetv2_l",
         "efficientnetv2_xl")  # fmt: skip


def _marked(name: str):
    large = name.removeprefix("tf_") in LARGE
    return pytest.param(name, marks=pytest.mark.slow) if large else name


def test_the_family_list_is_complete() -> None:
    assert len(NAMES) == len(set(NAMES)) == 49  # 24 timm models, 21 tf_ ports (none of the rw ones), V2-B0..B3
    assert all(timm.is_model(name) for name in NAMES)


def _logits(model: torch.nn.Module, px: int) -> torch.Tensor:
    x = torch.randn(2, 3, px, px, generator=torch.Generator().manual_seed(px))
    with torch.no_grad():
        return model.eval()(x)


@pytest.mark.parametrize("name", [_marked(name) for name in NAMES])
def test_logits_params_and_macs_equal_timms(name: str) -> None:
    theirs = perturb_batchnorm(create_timm_model(name)).eval()
    spec, state = from_timm(theirs)
    ours = build_model(spec)
    ours.load_state_dict(state, strict=True)
    assert spec.name == name and spec.padding == ("same" if name.startswith("tf_") else "symmetric")
    for px in (64, 57):
        expected, actual = _logits(theirs, px), _logits(ours, px)
        assert float((expected - actual).abs().max()) <= 1e-5 * float(expected.abs().max())
        analytic = count_cost(spec, resolution_px=px)
        assert measure_cost(theirs, px) == (analytic.macs, analytic.params) == measure_cost(ours, px)
    assert sum(p.numel() for p in theirs.parameters()) == count_cost(spec).params


@pytest.mark.parametrize("index", range(1, 8))
def test_timms_b1_to_b7_are_the_reference_networks(index: int) -> None:
    # docs/internals.md reference numbers (torchvision's B1-B7), counted on the spec read off timm's TF port
    reference = {1: (7_794_184, 686_802_832), 2: (9_109_994, 993_561_872), 3: (12_233_232, 1_827_141_392),
                 4: (19_341_616, 4_393_771_024), 5: (30_389_784, 10_266_384_752), 6: (43_040_704, 19_067_593_536),
                 7: (66_347_960, 37_745_884_192)}  # fmt: skip
    spec, _ = from_timm(f"tf_efficientnet_b{index}", check=False)
    cost = count_cost(spec)  # at the port's input size: 240, 260, 300, 380, 456, 528, 600 px
    assert (cost.params, cost.macs) == reference[index]


def test_efficientnet_b0_is_nasgens_b0() -> None:
    spec, _ = from_timm("efficientnet_b0", drop_rate=0.2, drop_path_rate=0.2)
    assert spec.content_hash() == load_spec("efficientnet-b0").content_hash()
    assert (spec.dropout, spec.drop_path_rate) == (0.2, 0.2)
    bare, _ = from_timm("efficientnet_b0")  # timm.create_model's defaults: no dropout, no drop path
    assert (bare.dropout, bare.drop_path_rate) == (0.0, 0.0)


def test_what_the_reader_found_for_each_variant() -> None:
    tf_v2s, _ = from_timm("tf_efficientnetv2_s", check=False)
    assert (tf_v2s.padding, tf_v2s.bn_eps, tf_v2s.resolution_px) == ("same", 1e-3, 300)
    assert tf_v2s.display() == load_spec("efficientnetv2-s").display()
    edge, _ = from_timm("efficientnet_em", check=False)  # er_r1_k3_s1_e4_c24_fc24_noskip at depth 1.1: 2 blocks
    assert edge.display()[0] == "er_r2_k3_s1_e4_c24_fc24_noskip" and edge.activation == "relu"
    rw, _ = from_timm("efficientnetv2_rw_s", check=False)
    assert rw.display()[0] == "er_r2_k3_s1_e1_c24_proj" and rw.head_channels == 1792
    lite, _ = from_timm("efficientnet_lite3", check=False)  # fixed stem and head, ReLU6, no SE
    assert (lite.stem.out_channels, lite.head_channels, lite.activation) == (32, 1280, "relu6")
    assert all(stage.se_ratio == 0 for stage in lite.stages)


def test_data_config_of_timms_pretrained_cfg() -> None:
    config = timm_data_config(create_timm_model("tf_efficientnetv2_s"))
    assert config.input_size == (3, 300, 300) and config.interpolation == "bicubic"
    assert (config.mean, config.std, config.crop_mode, config.crop_pct) == ((0.5,) * 3, (0.5,) * 3, "center", 1.0)
    assert config.dataset.startswith("timm pretrained_cfg of tf_efficientnetv2_s")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("efficientnet_b0_gn", "timm:efficientnet_b0_gn: bn1: the normalization GroupNormAct"),
        ("efficientnet_cc_b0_4e", "timm:efficientnet_cc_b0_4e: blocks.4.0: the block CondConvResidual (CondConv)"),
        ("efficientnet_b1_pruned", "blocks.1: hidden widths (48 from 16, 62 from 12, 48 from 12)"),
        ("efficientnet_blur_b0", "blocks.1.0.aa: anti-aliased downsampling (BlurPool2d)"),
        ("gc_efficientnetv2_rw_t", "blocks.3.0.se: the attention module GlobalContext"),
        ("resnet50", "timm's 'resnet50' is defined in timm.models.resnet, not among timm's EfficientNets"),
        ("efficientnet_b99", "timm has no model 'efficientnet_b99'"),
    ],
)
def test_what_nasgen_cannot_express_is_named(name: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_timm(name, check=False)


def test_a_model_of_another_family_is_refused_before_it_is_built(monkeypatch) -> None:
    monkeypatch.setattr(timm, "create_model", lambda *a, **k: pytest.fail("built a model it then refused"))
    with pytest.raises(SpecError, match="timm.models.vision_transformer"):
        create_timm_model("vit_huge_patch14_224")
