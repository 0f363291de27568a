"""from_torchvision: key map one to one, same eval outputs as torchvision, spec inference, bad input."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from nasgen.errors import SpecError
from nasgen.nn import build_model, from_torchvision, spec_from_torchvision, torchvision_key_map
from nasgen.spec import ArchSpec, load_spec

CASES = [
    ("efficientnet-b0", torchvision.models.efficientnet_b0),
    ("efficientnetv2-s", torchvision.models.efficientnet_v2_s),
]
RESOLUTION_PX = {"efficientnet-b0": 64, "efficientnetv2-s": 48}  # small inputs keep V2-S fast on CPU


def _randomized(factory) -> nn.Module:
    """A torchvision model whose BN statistics and affine terms are not the trivial init (so a swapped
    BN entry or a misplaced buffer shows up in the outputs)."""
    model = factory(weights=None)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                module.num_batches_tracked.fill_(3)
    return model.eval()


@pytest.mark.parametrize(("name", "factory"), CASES)
def test_key_map_is_one_to_one_with_equal_shapes(name: str, factory) -> None:
    spec = load_spec(name)
    key_map = torchvision_key_map(spec)
    theirs = factory(weights=None).state_dict()
    ours = build_model(spec).state_dict()
    assert set(key_map) == set(theirs)
    assert set(key_map.values()) == set(ours) and len(set(key_map.values())) == len(key_map)
    assert all(theirs[k].shape == ours[v].shape for k, v in key_map.items())
    assert list(key_map.values()) == list(ours)  # same network order


def test_key_map_examples() -> None:
    key_map = torchvision_key_map(load_spec("efficientnet-b0"))
    assert key_map["features.0.0.weight"] == "stem.conv.weight"
    assert key_map["features.1.0.block.0.0.weight"] == "stages.0.0.conv_dw.weight"  # expand_ratio 1: no conv_pw
    assert key_map["features.2.0.block.0.0.weight"] == "stages.1.0.conv_pw.weight"
    assert key_map["features.2.0.block.2.fc2.bias"] == "stages.1.0.se.conv_expand.bias"
    assert key_map["features.2.0.block.3.1.running_var"] == "stages.1.0.bn3.running_var"
    assert key_map["features.8.1.num_batches_tracked"] == "head.bn.num_batches_tracked"
    assert key_map["classifier.1.weight"] == "classifier.weight"
    v2 = torchvision_key_map(load_spec("efficientnetv2-s"))
    assert v2["features.1.1.block.0.1.weight"] == "stages.0.1.bn1.weight"
    assert v2["features.2.0.block.1.0.weight"] == "stages.1.0.conv_pwl.weight"


@pytest.mark.parametrize(("name", "factory"), CASES)
def test_outputs_equal_torchvision(name: str, factory) -> None:
    theirs = _randomized(factory)
    ours = from_torchvision(theirs).eval()
    assert ours.spec == load_spec(name)
    size = RESOLUTION_PX[name]
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs(x)
        torch.testing.assert_close(ours(x), expected, rtol=0, atol=1e-5)
        assert float(expected.std()) > 1e-3  # a real signal, not all zeros


def test_raw_state_dict_needs_spec() -> None:
    state = torchvision.models.efficientnet_b0(weights=None).state_dict()
    with pytest.raises(SpecError, match=r"spec: a raw torchvision state dict needs spec="):
        from_torchvision(state)
    model = from_torchvision(state, spec=load_spec("efficientnet-b0"))
    torch.testing.assert_close(model.state_dict()["stages.6.0.conv_dw.weight"], state["features.7.0.block.1.0.weight"])


def test_spec_inference_for_scaled_and_non_builtin_models() -> None:
    b1 = spec_from_torchvision(torchvision.models.efficientnet_b1(weights=None, num_classes=10))
    assert (b1.name, b1.resolution_px, b1.num_classes, b1.dropout) == (None, 224, 10, 0.2)
    assert [s.num_layers for s in b1.stages] == [2, 3, 3, 4, 4, 5, 2]  # ceil(1.1 · B0 repeats)
    m = spec_from_torchvision(torchvision.models.efficientnet_v2_m(weights=None))
    assert m == load_spec("efficientnetv2-m")


def test_mismatched_spec_is_named() -> None:
    state = torchvision.models.efficientnet_b0(weights=None).state_dict()
    message = r"spec: state dict does not match the spec; missing: features\.1\.1\.block\.0\.0\.weight, "
    with pytest.raises(SpecError, match=message):
        from_torchvision(state, spec=load_spec("efficientnetv2-s"))
    wider = load_spec("efficientnet-b0").replace(head_channels=1536)
    with pytest.raises(SpecError, match=r"tensor shapes differ .*features\.8\.0\.weight \(1280, 320, 1, 1\) vs "):
        from_torchvision(state, spec=wider)


def test_specs_torchvision_cannot_express(tiny_spec: ArchSpec) -> None:
    b0 = load_spec("efficientnet-b0")
    with pytest.raises(SpecError, match=r"activation: torchvision's EfficientNet uses silu, got 'relu'"):
        torchvision_key_map(b0.replace(activation="relu"))
    with pytest.raises(SpecError, match=r"stages\.1\.se_ratio: torchvision's Fused-MBConv has no SE"):
        torchvision_key_map(tiny_spec)
    no_se = b0.model_dump()
    no_se["stages"][2]["se_ratio"] = 0.0
    with pytest.raises(SpecError, match=r"stages\.2\.se_ratio: torchvision's MBConv has an SE of max\(1, in // 4\)"):
        torchvision_key_map(b0.replace(stages=no_se["stages"]))
    with pytest.raises(SpecError, match=r"expected a torchvision EfficientNet, got ResNet"):
        from_torchvision(torchvision.models.resnet18(weights=None))
    with pytest.raises(SpecError, match=r"expected a torchvision EfficientNet or its state dict, got int"):
        from_torchvision(3)  # type: ignore[arg-type]
