"""nasgen.testing.check_block_kind: passes for the built-in kinds with real numbers, fails loudly for a kind
whose cost rule disagrees with its block, and reports a kind without model.py source."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nasgen.nn import build_mbconv
from nasgen.spec import BlockKind, register_block_kind, unregister_stage_kind
from nasgen.testing import check_block_kind

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_builtin_kinds_conform() -> None:
    report = check_block_kind("mbconv", expand_ratios=(1, 6), se_ratios=(0.25,))
    assert [(c.stage["expand_ratio"], c.stage["stride"]) for c in report.cases] == [(1, 1), (1, 2), (6, 1), (6, 2)]
    assert all(c.code and c.analytic_macs == c.measured_macs for c in report.cases)
    # 16 -> 16, e6, k3, SE 4: pw 16*96 + bn 192 + dw 96*9 + bn 192 + SE (96*4+4 + 4*96+96) + pwl 96*16 + bn 32
    assert report.cases[2].block_params == 1536 + 192 + 864 + 192 + 868 + 1536 + 32
    fused = check_block_kind("fused_mbconv", expand_ratios=(1, 4), se_ratios=(0.0,))
    assert [c.output_shape for c in fused.cases] == [(16, 16, 16), (24, 8, 8)] * 2
    assert all(c.analytic_params == c.measured_params for c in fused.cases)


def _mbconv_cost_without_se(trace, stage, stride) -> None:
    block_in, c_in = trace.current, trace.shape[0]
    trace.conv("conv_dw", c_in, stage.kernel_size, stride, groups=c_in)
    trace.bn("bn2")
    trace.act("act2")
    trace.conv("conv_pwl", stage.out_channels, 1)
    trace.bn("bn3")
    if stride == 1 and c_in == stage.out_channels:
        trace.add("add", block_in)


@pytest.fixture
def careless_kind() -> Iterator[str]:
    """MBConv's builder with a cost rule that forgets SE, and no model.py source."""
    register_block_kind(BlockKind("careless", builder=build_mbconv, cost_rule=_mbconv_cost_without_se),
                        owner="tests")
    yield "careless"
    unregister_stage_kind("careless")


def test_a_wrong_cost_rule_fails(careless_kind: str) -> None:
    report = check_block_kind(careless_kind, se_ratios=(0.0,))  # without SE the rule is right
    assert [c.code for c in report.cases] == [False, False]  # no source: nasgen exports it without model.py
    with pytest.raises(AssertionError, match=r"careless: cost rule gives \d+ MACs / \d+ params, thop measures"):
        check_block_kind(careless_kind, se_ratios=(0.25,))
