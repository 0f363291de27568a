"""build_model: reference parameter counts, shapes, registry, stochastic depth, TorchScript and ONNX."""

from __future__ import annotations

import io
import math
import typing
from collections.abc import Iterator

import pytest
import torch
import torchvision
from torch import nn

from nasgen.errors import PluginError, SpecError
from nasgen.nn import (
    CLASSIFIER_INITS,
    EfficientNet,
    FusedMBConv,
    MBConv,
    block_drop_path_rates,
    block_registry,
    build_model,
    init_classifier,
)
from nasgen.spec import (
    ArchSpec,
    BlockKind,
    load_spec,
    register_block_kind,
    register_stage_kind,
    spec_from_dict,
    unregister_stage_kind,
)
from nasgen.train import TrainConfig

# docs/design.md reference numbers (torchvision 0.29.1, sum(p.numel()))
REFERENCE_PARAMS = {
    "efficientnet-b0": 5_288_548,
    "efficientnetv2-s": 21_458_488,
    "efficientnetv2-m": 54_139_356,
    "efficientnetv2-l": 118_515_272,
}


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_reference_parameter_counts(name: str) -> None:
    model = build_model(load_spec(name))
    assert sum(p.numel() for p in model.parameters()) == REFERENCE_PARAMS[name]
    assert model.spec == load_spec(name)


def test_tiny_forward_shapes(tiny_spec: ArchSpec) -> None:
    model = build_model(tiny_spec).eval()
    x = torch.randn(2, 3, 32, 32)
    features = model.forward_features(x)
    assert features.shape == (2, 64, 4, 4)  # stem s2, two stride-2 stages: 32 / 8
    assert model.forward_head(features, pre_logits=True).shape == (2, 64)
    assert model(x).shape == (2, 10)
    torch.testing.assert_close(model(x), model.forward_head(features))


def test_tiny_structure(tiny_spec: ArchSpec) -> None:
    model = build_model(tiny_spec)
    kinds = [[type(b) for b in stage] for stage in model.stages]
    assert kinds == [[FusedMBConv] * 2, [FusedMBConv] * 2, [MBConv], [MBConv] * 2]
    assert model.stages[0][0].conv_exp.weight.shape == (8, 8, 3, 3)
    assert model.stages[1][0].conv_exp.stride == (2, 2) and model.stages[1][1].conv_exp.stride == (1, 1)
    assert model.stages[1][1].conv_exp.in_channels == 16
    assert not any(k.startswith(("stages.2.0.conv_pw.", "stages.2.0.bn1.")) for k in model.state_dict())
    assert {k.split(".")[0] for k in model.state_dict()} == {"stem", "stages", "head", "classifier"}
    assert isinstance(model.classifier, nn.Linear) and model.dropout.p == 0.2


def test_grey_input_and_other_activation(tiny_spec: ArchSpec) -> None:
    model = build_model(tiny_spec.replace(in_channels=1, activation="hardswish", bn_eps=1e-3, bn_momentum=0.01))
    assert model.stem.conv.weight.shape == (8, 1, 3, 3)
    assert isinstance(model.stages[3][0].act2, nn.Hardswish) and isinstance(model.head.act, nn.Hardswish)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert {(m.eps, m.momentum) for m in bns} == {(1e-3, 0.01)}
    assert model.eval()(torch.randn(1, 1, 32, 32)).shape == (1, 10)


def test_build_model_accepts_name_and_leaves_spec_unchanged(tiny_spec: ArchSpec) -> None:
    before = (tiny_spec.model_dump(), tiny_spec.content_hash())
    model = build_model(tiny_spec)
    assert model.spec is tiny_spec
    assert (tiny_spec.model_dump(), tiny_spec.content_hash()) == before
    assert build_model("efficientnet-b0").spec.name == "efficientnet-b0"


def test_build_model_bad_input() -> None:
    with pytest.raises(SpecError, match="expected an ArchSpec, a built-in name or a path, got dict"):
        build_model({"stem": {}})  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="'no-such-net' is neither a file nor a built-in architecture"):
        build_model("no-such-net")


def test_weight_init_matches_torchvision_scheme(tiny_spec: ArchSpec) -> None:
    model = build_model(tiny_spec.replace(num_classes=100))
    bound = 1 / math.sqrt(100)
    assert float(model.classifier.weight.detach().abs().max()) <= bound and not model.classifier.bias.any()
    assert all(m.weight.eq(1).all() and not m.bias.any() for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    se_biases = [m.bias for m in model.modules() if isinstance(m, nn.Conv2d) and m.bias is not None]
    assert se_biases and not any(b.any() for b in se_biases)
    head = model.head.conv.weight  # kaiming normal, fan_out = 64 · 1 · 1 → std sqrt(2 / 64)
    assert abs(float(head.detach().std()) - math.sqrt(2 / 64)) < 0.02


def _seeded(spec: ArchSpec, **kwargs) -> EfficientNet:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build_model(spec, **kwargs)


def test_classifier_init_rules(tiny_spec: ArchSpec) -> None:
    """torchvision's rule by default; max_fan narrows it to ±1/sqrt(in_features) for few classes only; zeros."""
    default, torchvision_rule = _seeded(tiny_spec), _seeded(tiny_spec, classifier_init="torchvision")
    assert all(torch.equal(a, b) for a, b in zip(default.state_dict().values(), torchvision_rule.state_dict().values()))
    few = _seeded(tiny_spec, classifier_init="max_fan")  # 10 classes, 64 features
    torch.testing.assert_close(few.classifier.weight, default.classifier.weight * math.sqrt(10 / 64), rtol=0, atol=0)
    assert float(few.classifier.weight.detach().abs().max()) <= 1 / math.sqrt(64) < 1 / math.sqrt(10)
    assert float(default.classifier.weight.detach().abs().max()) > 1 / math.sqrt(64)  # the draw that is narrowed
    others = [k for k in default.state_dict() if not k.startswith("classifier.")]
    assert all(torch.equal(default.state_dict()[k], few.state_dict()[k]) for k in others)  # same draws elsewhere
    assert not few.classifier.bias.any()
    many = tiny_spec.replace(num_classes=100)  # num_classes >= in_features: torchvision's rule unchanged
    assert torch.equal(_seeded(many, classifier_init="max_fan").classifier.weight, _seeded(many).classifier.weight)
    zeros = _seeded(tiny_spec, classifier_init="zeros")
    assert not zeros.classifier.weight.any() and torch.equal(zeros.stem.conv.weight, default.stem.conv.weight)


def test_classifier_init_bad_name(tiny_spec: ArchSpec) -> None:
    with pytest.raises(SpecError, match=r"classifier_init: must be one of torchvision, max_fan, zeros, got 'fan_in'"):
        build_model(tiny_spec, classifier_init="fan_in")
    with pytest.raises(SpecError, match=r"classifier_init: must be one of .*, got 'Zeros'"):
        init_classifier(nn.Linear(4, 2), "Zeros")


def test_classifier_init_names_agree_with_train_config() -> None:
    field = TrainConfig.model_fields["classifier_init"]
    assert typing.get_args(field.annotation) == tuple(CLASSIFIER_INITS)
    assert field.default == "torchvision"  # the proxy keeps build_model's default


@pytest.fixture
def toy_kind() -> Iterator[str]:
    """A plugin-style block kind: the stage kind known to the spec layer, the builder to nn."""
    kind = "toy_conv"

    def build(stage, *, in_channels, stride, drop_path_rate, activation, bn_eps, bn_momentum) -> nn.Module:
        return nn.Conv2d(in_channels, stage.out_channels, stage.kernel_size, stride, padding=stage.kernel_size // 2)

    register_block_kind(BlockKind(kind, builder=build), owner="tests")
    yield kind
    unregister_stage_kind(kind)


@pytest.fixture
def orphan_kind() -> Iterator[str]:
    """A stage kind the spec layer accepts but no block builder is registered for."""
    register_stage_kind("orphan", owner="tests")
    yield "orphan"
    unregister_stage_kind("orphan")


def _with_kind(spec: ArchSpec, index: int, kind: str) -> ArchSpec:
    data = spec.model_dump(mode="json")
    data["stages"][index]["kind"] = kind
    return spec_from_dict(data)


def test_custom_block_kind_builds(tiny_spec: ArchSpec, toy_kind: str) -> None:
    assert toy_kind in block_registry
    model = build_model(_with_kind(tiny_spec, 2, toy_kind)).eval()
    assert isinstance(model.stages[2][0], nn.Conv2d) and model.stages[2][0].out_channels == 16
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_duplicate_registration_raises(toy_kind: str) -> None:
    builder = block_registry[toy_kind]
    with pytest.raises(PluginError, match="stage kind 'toy_conv' is registered twice"):
        register_block_kind(BlockKind(toy_kind, builder=lambda stage, **kwargs: nn.Identity()), owner="tests")
    assert block_registry[toy_kind] is builder
    with pytest.raises(PluginError, match="stage kind 'mbconv' is built in"):
        register_block_kind(BlockKind("mbconv", builder=lambda stage, **kwargs: nn.Identity()), owner="tests")
    with pytest.raises(PluginError, match="builder of block kind 'other' must be callable"):
        register_block_kind(BlockKind("other", builder=3), owner="tests")  # type: ignore[arg-type]
    assert "other" not in block_registry


def test_block_registry_is_read_only() -> None:
    assert sorted(block_registry)[:2] == ["fused_mbconv", "mbconv"]
    with pytest.raises(TypeError):
        block_registry["x"] = lambda stage, **kwargs: nn.Identity()  # type: ignore[index]


def test_unknown_kind_names_stage_path(tiny_spec: ArchSpec, orphan_kind: str) -> None:
    message = r"stages\.3\.kind: no block builder registered for kind 'orphan' \(registered: .*mbconv"
    with pytest.raises(SpecError, match=message) as info:
        build_model(_with_kind(tiny_spec, 3, orphan_kind))
    assert info.value.value == "orphan"


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("efficientnet-b0", torchvision.models.efficientnet_b0),
        ("efficientnetv2-s", torchvision.models.efficientnet_v2_s),
    ],
)
def test_drop_path_rates_equal_torchvision(ours: str, theirs) -> None:
    tv_rates = [block.stochastic_depth.p for stage in theirs().features[1:-1] for block in stage]
    model = build_model(ours)
    assert [block.drop_path_rate for stage in model.stages for block in stage] == tv_rates
    assert block_drop_path_rates(model.spec) == tv_rates
    probs = [b.drop_path.drop_prob for stage in model.stages for b in stage if b.has_skip and b.drop_path_rate > 0]
    assert probs == [r for r, b in zip(tv_rates, (b for s in model.stages for b in s)) if b.has_skip and r > 0]


def test_eval_is_deterministic_and_train_drops(tiny_spec: ArchSpec) -> None:
    model = build_model(tiny_spec.replace(dropout=0.0, drop_path_rate=0.9))
    x = torch.randn(4, 3, 32, 32)
    model.eval()
    torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)
    model.train()
    with torch.random.fork_rng():
        torch.manual_seed(1)
        first = model(x)
        torch.manual_seed(2)
        second = model(x)
        torch.manual_seed(1)
        again = model(x)
    assert not torch.equal(first, second)
    torch.testing.assert_close(first, again, rtol=0, atol=0)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_torchscript_equals_eager(tiny_spec: ArchSpec) -> None:
    model = build_model(tiny_spec).eval()
    scripted = torch.jit.script(model)
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(scripted(x), model(x))
    torch.testing.assert_close(scripted.forward_features(x), model.forward_features(x))


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning")
def test_onnx_export_equals_eager(tiny_spec: ArchSpec) -> None:
    ort = pytest.importorskip("onnxruntime")
    model = build_model(tiny_spec).eval()
    x = torch.randn(1, 3, 32, 32)
    buffer = io.BytesIO()
    torch.onnx.export(model, (x,), buffer, dynamo=False, input_names=["images"], output_names=["logits"])
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"images": x.numpy()})
    torch.testing.assert_close(torch.from_numpy(logits), model(x).detach(), rtol=1e-4, atol=1e-5)


def test_model_is_an_efficientnet(tiny_spec: ArchSpec) -> None:
    assert isinstance(build_model(tiny_spec), EfficientNet)
