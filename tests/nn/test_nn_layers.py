"""Generic layers: activations, conv-BN-act, SE widths against torchvision, drop path against torchvision."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torchvision.ops import stochastic_depth

from nasgen.errors import SpecError
from nasgen.nn import (
    ACTIVATION_LAYERS,
    ConvBnAct,
    DropPath,
    SqueezeExcite,
    build_model,
    make_activation,
    se_channels,
)
from nasgen.spec import ACTIVATIONS


@pytest.mark.parametrize(
    ("name", "cls"),
    [("silu", nn.SiLU), ("relu", nn.ReLU), ("relu6", nn.ReLU6), ("hardswish", nn.Hardswish), ("gelu", nn.GELU)],
)
def test_activation_registry(name: str, cls: type) -> None:
    assert isinstance(make_activation(name), cls)
    assert make_activation(name) is not make_activation(name)


def test_activation_registry_covers_spec_names() -> None:
    assert set(ACTIVATION_LAYERS) == set(ACTIVATIONS)
    with pytest.raises(TypeError):
        ACTIVATION_LAYERS["tanh"] = nn.Tanh  # type: ignore[index]


def test_unknown_activation_names_path_and_value() -> None:
    with pytest.raises(SpecError, match=r"activation: unknown activation 'swish'"):
        make_activation("swish")


def test_conv_bn_act_shapes_and_names() -> None:
    layer = ConvBnAct(3, 8, 3, 2, activation="relu", bn_eps=1e-3, bn_momentum=0.01)
    assert layer(torch.randn(2, 3, 33, 32)).shape == (2, 8, 17, 16)
    assert sorted(k for k in layer.state_dict() if k.endswith("weight")) == ["bn.weight", "conv.weight"]
    assert layer.conv.bias is None and layer.conv.padding == (1, 1)
    assert (layer.bn.eps, layer.bn.momentum) == (1e-3, 0.01)
    assert isinstance(ConvBnAct(3, 8, activation=None).act, nn.Identity)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"in_channels": 0, "out_channels": 8}, r"in_channels: must be a positive integer, got 0"),
        ({"in_channels": 3, "out_channels": 8, "kernel_size": 4}, r"kernel_size: must be a positive odd integer"),
        ({"in_channels": 3, "out_channels": 8, "stride": 3}, r"stride: must be 1 or 2, got 3"),
    ],
)
def test_conv_bn_act_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        ConvBnAct(**kwargs)


def test_squeeze_excite_gates_channels() -> None:
    se = SqueezeExcite(16, 4, "silu")
    x = torch.randn(2, 16, 5, 5)
    scale = torch.sigmoid(se.conv_expand(torch.nn.functional.silu(se.conv_reduce(x.mean((2, 3), keepdim=True)))))
    torch.testing.assert_close(se(x), x * scale)
    assert se.conv_reduce.weight.shape == (4, 16, 1, 1) and se.conv_expand.bias.shape == (16,)


def test_se_channels_rounding() -> None:
    assert [se_channels(c, 0.25) for c in (1, 3, 16, 24, 30, 112)] == [1, 1, 4, 6, 7, 28]
    assert se_channels(32, 0.0) == 0
    with pytest.raises(SpecError, match=r"se_ratio: must be in \[0, 1\], got 1.5"):
        se_channels(32, 1.5)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("efficientnet-b0", torchvision.models.efficientnet_b0),
        ("efficientnetv2-s", torchvision.models.efficientnet_v2_s),
    ],
)
def test_se_widths_equal_torchvision(ours: str, theirs) -> None:
    tv_widths = [m.fc1.out_channels for m in theirs().modules() if isinstance(m, torchvision.ops.SqueezeExcitation)]
    our_widths = [m.conv_reduce.out_channels for m in build_model(ours).modules() if isinstance(m, SqueezeExcite)]
    assert our_widths == tv_widths
    assert len(our_widths) == {"efficientnet-b0": 16, "efficientnetv2-s": 30}[ours]


def test_drop_path_identity_in_eval_and_at_zero() -> None:
    x = torch.randn(8, 4, 3, 3)
    assert DropPath(0.5).eval()(x) is x
    assert DropPath(0.0).train()(x) is x


@pytest.mark.parametrize("p", [0.25, 0.5, 1.0])
def test_drop_path_equals_torchvision_row_mode(p: float) -> None:
    x = torch.randn(64, 4, 3, 3)
    with torch.random.fork_rng():
        torch.manual_seed(7)
        ours = DropPath(p).train()(x)
        torch.manual_seed(7)
        theirs = stochastic_depth(x, p, "row", training=True)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    kept = ours.flatten(1).abs().sum(1) > 0
    if p < 1.0:
        torch.testing.assert_close(ours[kept], x[kept] / (1 - p))
        assert 0 < int(kept.sum()) < 64
    else:
        assert not kept.any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_drop_path_bad_rate(p: float) -> None:
    with pytest.raises(SpecError, match=rf"drop_path_rate: must be in \[0, 1\], got {p}"):
        DropPath(p)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (1, 2), (2, 1), (3, 1)])
@pytest.mark.parametrize("kernel_size", [3, 5, 7])
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_conv_small_map_equals_conv2d(size: tuple[int, int], kernel_size: int, stride: int) -> None:
    from nasgen.nn._small_map import depthwise_conv_small_map

    generator = torch.Generator().manual_seed(kernel_size * 10 + stride)
    x = torch.randn(4, 6, *size, generator=generator, requires_grad=True)
    w = torch.randn(6, 1, kernel_size, kernel_size, generator=generator, requires_grad=True)
    padding = kernel_size // 2
    reference = torch.nn.functional.conv2d(x, w, stride=stride, padding=padding, groups=6)
    ours = depthwise_conv_small_map(x, w, stride, padding)
    assert ours.shape == reference.shape
    torch.testing.assert_close(ours, reference)
    upstream = torch.randn(reference.shape, generator=generator)
    grads_ref = torch.autograd.grad(reference, (x, w), upstream)
    grads_ours = torch.autograd.grad(ours, (x, w), upstream)
    for got, expected in zip(grads_ours, grads_ref):
        torch.testing.assert_close(got, expected)
