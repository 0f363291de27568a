"""MBConv and Fused-MBConv: state-dict names, optional parts, widths, residual and drop path."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasgen.errors import SpecError
from nasgen.nn import DropPath, FusedMBConv, MBConv, SqueezeExcite

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _keys(*convs: str, bns: tuple[str, ...] = (), se: bool = False) -> set[str]:
    keys = {f"{c}.weight" for c in convs} | {f"{b}.{e}" for b in bns for e in BN}
    if se:
        keys |= {"se.conv_reduce.weight", "se.conv_reduce.bias", "se.conv_expand.weight", "se.conv_expand.bias"}
    return keys


def test_mbconv_names_and_widths() -> None:
    block = MBConv(16, 24, kernel_size=5, stride=2, expand_ratio=6, se_ratio=0.25)
    assert set(block.state_dict()) == _keys("conv_pw", "conv_dw", "conv_pwl", bns=("bn1", "bn2", "bn3"), se=True)
    assert block.conv_pw.weight.shape == (96, 16, 1, 1)
    assert block.conv_dw.weight.shape == (96, 1, 5, 5) and block.conv_dw.padding == (2, 2)
    assert block.se.conv_reduce.weight.shape == (4, 96, 1, 1)  # 16 input channels * 0.25, not 96 * 0.25
    assert block.conv_pwl.weight.shape == (24, 96, 1, 1)
    assert isinstance(block.drop_path, nn.Identity) and not block.has_skip
    assert block(torch.randn(2, 16, 15, 15)).shape == (2, 24, 8, 8)


def test_mbconv_expand_ratio_1_has_no_expand_conv() -> None:
    block = MBConv(32, 16, kernel_size=3, expand_ratio=1, se_ratio=0.25)
    assert set(block.state_dict()) == _keys("conv_dw", "conv_pwl", bns=("bn2", "bn3"), se=True)
    assert all(isinstance(m, nn.Identity) for m in (block.conv_pw, block.bn1, block.act1))
    assert block.conv_dw.weight.shape == (32, 1, 3, 3) and block.se.conv_reduce.out_channels == 8
    assert block(torch.randn(1, 32, 8, 8)).shape == (1, 16, 8, 8)


def test_se_ratio_zero_gives_identity() -> None:
    for block in (MBConv(8, 8, expand_ratio=4), FusedMBConv(8, 8, expand_ratio=4)):
        assert isinstance(block.se, nn.Identity)
        assert not any(k.startswith("se.") for k in block.state_dict())


def test_fused_mbconv_names_and_widths() -> None:
    block = FusedMBConv(24, 48, kernel_size=3, stride=2, expand_ratio=4, se_ratio=0.25, activation="relu")
    assert set(block.state_dict()) == _keys("conv_exp", "conv_pwl", bns=("bn1", "bn2"), se=True)
    assert block.conv_exp.weight.shape == (96, 24, 3, 3) and block.conv_exp.stride == (2, 2)
    assert block.se.conv_reduce.weight.shape == (6, 96, 1, 1)
    assert block.conv_pwl.weight.shape == (48, 96, 1, 1)
    assert isinstance(block.act1, nn.ReLU) and isinstance(block.se.act, nn.ReLU)
    assert block(torch.randn(2, 24, 16, 16)).shape == (2, 48, 8, 8)


def test_fused_mbconv_expand_ratio_1_is_single_conv() -> None:
    block = FusedMBConv(24, 24, kernel_size=3, expand_ratio=1, drop_path_rate=0.1)
    assert set(block.state_dict()) == _keys("conv_exp", bns=("bn1",))
    assert block.conv_exp.weight.shape == (24, 24, 3, 3)
    assert isinstance(block.conv_pwl, nn.Identity) and isinstance(block.bn2, nn.Identity)
    assert block.has_skip and isinstance(block.drop_path, DropPath) and block.drop_path.drop_prob == 0.1


def test_fused_single_conv_with_se_gates_output_width() -> None:
    block = FusedMBConv(16, 32, expand_ratio=1, se_ratio=0.25)
    assert isinstance(block.se, SqueezeExcite) and block.se.conv_reduce.weight.shape == (4, 32, 1, 1)


@pytest.mark.parametrize("cls", [MBConv, FusedMBConv])
def test_residual_only_for_stride_1_same_width(cls: type) -> None:
    assert cls(8, 8, stride=1, drop_path_rate=0.2).has_skip
    assert not cls(8, 8, stride=2, drop_path_rate=0.2).has_skip
    assert not cls(8, 16, stride=1, drop_path_rate=0.2).has_skip
    # with drop_path_rate 0 the residual is a plain add
    block = cls(8, 8, expand_ratio=2).eval()
    assert isinstance(block.drop_path, nn.Identity)
    x = torch.randn(2, 8, 6, 6)
    branch = block.bn3 if cls is MBConv else block.bn2
    with torch.no_grad():
        nn.init.zeros_(branch.weight)  # branch output is the BN bias (zero) → block is the identity
        torch.testing.assert_close(block(x), x)


@pytest.mark.parametrize("cls", [MBConv, FusedMBConv])
def test_drop_path_drops_whole_samples_in_train(cls: type) -> None:
    block = cls(8, 8, expand_ratio=2, se_ratio=0.25, drop_path_rate=0.5).train()
    x = torch.randn(64, 8, 6, 6)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        block.drop_path.drop_prob = 0.0
        full = block(x) - x  # batch-statistics BN: same branch every call on the same batch
        block.drop_path.drop_prob = 0.5
        out = block(x) - x
    dropped = out.flatten(1).abs().amax(1) == 0
    assert 0 < int(dropped.sum()) < 64
    torch.testing.assert_close(out[~dropped], full[~dropped] / 0.5)


@pytest.mark.parametrize("cls", [MBConv, FusedMBConv])
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kernel_size": 4}, r"kernel_size: must be a positive odd integer, got 4"),
        ({"stride": 3}, r"stride: must be 1 or 2, got 3"),
        ({"expand_ratio": 0}, r"expand_ratio: must be a positive integer, got 0"),
        ({"se_ratio": -0.5}, r"se_ratio: must be in \[0, 1\], got -0.5"),
        ({"drop_path_rate": 2.0}, r"drop_path_rate: must be in \[0, 1\], got 2.0"),
        ({"activation": "swish"}, r"activation: unknown activation 'swish'"),
    ],
)
def test_bad_block_arguments(cls: type, kwargs: dict, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        cls(8, 8, **kwargs)


@pytest.mark.parametrize("size", [1, 2, 4])
@pytest.mark.parametrize("stride", [1, 2])
def test_mbconv_training_step_same_with_small_map_path(size: int, stride: int) -> None:
    """The CPU small-map depthwise path (maps of ≤ 4 px², training only) gives conv2d's outputs and gradients."""
    torch.manual_seed(0)
    block = MBConv(8, 8, kernel_size=5, stride=stride, expand_ratio=4, se_ratio=0.25).train()
    x = torch.randn(3, 8, size, size)
    results = []
    for small_map_path in (True, False):
        if not small_map_path:
            block._use_small_map_path = lambda x: False  # the plain nn.Conv2d call
        out = block(x)
        results.append((out, torch.autograd.grad(out.square().sum(), list(block.parameters()))))
    (out_fast, grads_fast), (out_plain, grads_plain) = results
    torch.testing.assert_close(out_fast, out_plain)
    for got, expected in zip(grads_fast, grads_plain):  # BN over 3 samples amplifies float rounding
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_mbconv_scripts_and_runs_in_training_on_a_1px_map() -> None:
    block = MBConv(8, 16, kernel_size=3, stride=2, expand_ratio=6, se_ratio=0.25)
    scripted = torch.jit.script(block).train()
    x = torch.randn(2, 8, 1, 1)
    torch.testing.assert_close(scripted(x), block.train()(x))
