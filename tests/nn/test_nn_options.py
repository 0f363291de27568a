"""The exactness options in built models (issue 28): TensorFlow "SAME" padding, timm's SE rounding,
``residual: false``, ``expand_in_channels`` and ``always_project``; and their analytic cost = thop's."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nasgen.cost import count_cost, measure_cost
from nasgen.errors import SpecError
from nasgen.nn import Conv2dSame, FusedMBConv, MBConv, build_model, make_conv
from nasgen.spec import spec_from_dict


def _tf_same(x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """TensorFlow's SAME written out: total pad p = max((ceil(H/s) - 1) s + k - H, 0), floor(p/2) first."""
    k, (height, width) = weight.shape[-1], x.shape[-2:]
    pads = [max((-(-size // stride) - 1) * stride + k - size, 0) for size in (height, width)]
    x = F.pad(x, [pads[1] // 2, pads[1] - pads[1] // 2, pads[0] // 2, pads[0] - pads[0] // 2])
    return F.conv2d(x, weight, stride=stride)


@pytest.mark.parametrize("size", [(8, 8), (9, 9), (8, 11), (1, 2)])
@pytest.mark.parametrize("kernel", [3, 5, 7])
def test_conv2d_same_is_tensorflow_same(size, kernel) -> None:
    torch.manual_seed(0)
    conv = Conv2dSame(3, 4, kernel)
    x = torch.randn(2, 3, *size)
    out = conv(x)
    assert out.shape[-2:] == tuple(-(-s // 2) for s in size)  # ceil(H / 2), as PyTorch's k // 2
    torch.testing.assert_close(out, _tf_same(x, conv.weight, 2), rtol=0, atol=1e-6)
    symmetric = F.conv2d(x, conv.weight, stride=2, padding=kernel // 2)
    if size == (9, 9):  # odd sizes: TF pads k // 2 on both sides too
        torch.testing.assert_close(out, symmetric, rtol=0, atol=1e-6)
    else:  # even: one row less on top, one more below -> a different function
        assert not torch.allclose(out, symmetric)


def test_make_conv_keeps_plain_convs_where_same_is_symmetric() -> None:
    assert type(make_conv(4, 4, 3, 1, padding="same")) is torch.nn.Conv2d  # stride 1: k // 2 on every side
    assert type(make_conv(4, 8, 1, 1, padding="same")) is torch.nn.Conv2d
    assert isinstance(make_conv(4, 4, 5, 2, groups=4, padding="same"), Conv2dSame)
    assert make_conv(4, 4, 5, 2, groups=4, padding="same").state_dict().keys() == {"weight"}
    with pytest.raises(SpecError, match="padding: must be 'symmetric' or 'same', got 'valid'"):
        make_conv(4, 4, 3, 1, padding="valid")


def test_block_options() -> None:
    no_skip = MBConv(16, 16, expand_ratio=4, se_ratio=0.25, residual=False, drop_path_rate=0.1)
    assert not no_skip.has_skip and isinstance(no_skip.drop_path, torch.nn.Identity)
    assert MBConv(19, 24, expand_ratio=6, se_ratio=0.25).se.conv_reduce.out_channels == 4
    assert MBConv(19, 24, expand_ratio=6, se_ratio=0.25, se_rounding="round").se.conv_reduce.out_channels == 5
    edge = FusedMBConv(32, 24, expand_ratio=4, expand_in_channels=24)  # EdgeTPU's fc24: 24 * 4, not 32 * 4
    assert (edge.conv_exp.in_channels, edge.conv_exp.out_channels, edge.conv_pwl.out_channels) == (32, 96, 24)
    pair = FusedMBConv(24, 24, expand_ratio=1, always_project=True)  # timm's er_e1: 3x3 24->24, 1x1 24->24
    assert (pair.conv_exp.out_channels, pair.conv_pwl.weight.shape) == (24, (24, 24, 1, 1)) and pair.has_skip
    single = FusedMBConv(24, 24, expand_ratio=1)
    assert isinstance(single.conv_pwl, torch.nn.Identity)


def options_spec(**changes):
    data = {
        "in_channels": 3, "resolution_px": 64, "stem": {"out_channels": 32},
        "stages": [
            {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 1, "expand_ratio": 4,
             "out_channels": 24, "expand_in_channels": 24, "residual": False},
            {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 1,
             "out_channels": 32, "always_project": True, "se_ratio": 0.25},
            {"kind": "mbconv", "num_layers": 2, "kernel_size": 5, "stride": 2, "expand_ratio": 6,
             "out_channels": 44, "se_ratio": 0.25},
            {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 1,
             "out_channels": 44, "se_ratio": 0.3, "residual": False},
        ],
        "head_channels": 64, "num_classes": 10, "padding": "same", "se_rounding": "round", "bn_eps": 1e-3,
    }  # fmt: skip
    data.update(changes)
    return spec_from_dict(data)


@pytest.mark.parametrize("px", [64, 57])
def test_analytic_cost_equals_thop_with_every_option(px) -> None:
    spec = options_spec()
    model = build_model(spec)
    assert sum(isinstance(m, Conv2dSame) for m in model.modules()) == 4  # stem + the first conv of 3 stages
    assert measure_cost(model, px) == (count_cost(spec, resolution_px=px).macs, count_cost(spec).params)
    # TF padding changes the function, never the sizes or the count
    assert count_cost(spec, resolution_px=px).macs == count_cost(spec.replace(padding="symmetric"), resolution_px=px).macs


def test_model_options_reach_every_block() -> None:
    model = build_model(options_spec())
    first, second = model.stages[0]
    assert not first.has_skip and not second.has_skip  # noskip on the 24 -> 24 block too
    assert model.stages[1][0].se.conv_reduce.out_channels == round(24 * 0.25)  # round(24 * 1 * 0.25 / 1)
    assert model.stages[3][1].se.conv_reduce.out_channels == round(44 * 0.3) == 13  # floor would give 13 too
    assert not model.stages[3][1].has_skip
    plain = build_model(options_spec(padding="symmetric"))
    plain.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 64, 64)
    same, symmetric = model.eval()(x), plain.eval()(x)  # untrained eval logits are ~1e-6: compare relatively
    assert (same - symmetric).abs().max() > 0.05 * same.abs().max()


def test_model_with_same_padding_scripts_and_trains_on_tiny_maps() -> None:
    model = build_model(options_spec())
    scripted = torch.jit.script(model.eval())
    x = torch.randn(2, 3, 33, 30)
    torch.testing.assert_close(scripted(x), model(x))
    model.train()  # CPU training at 2x2 maps takes the small-map depthwise path after TF's pad
    model(torch.randn(2, 3, 32, 32)).sum().backward()
