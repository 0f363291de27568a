"""The cost-rule registry: built-in kinds, duplicates, and a plugin block kind priced by its own rule."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydantic import BaseModel, ConfigDict

from nasgen.cost import LayerTrace, arch_graph, cost_rule, count_cost, registered_cost_kinds
from nasgen.errors import PluginError, SpecError
from nasgen.spec import (
    BlockKind,
    CustomStageSpec,
    load_spec,
    register_block_kind,
    spec_from_dict,
    unregister_stage_kind,
)


@dataclass(frozen=True)
class PlainConvStage:
    """A plugin's stage spec: ``num_layers`` plain k×k conv-BN-act blocks (VGG-style)."""

    num_layers: int
    kernel_size: int
    stride: int
    out_channels: int
    kind: str = "plain_conv"

    def display(self) -> str:
        return f"pc_r{self.num_layers}_k{self.kernel_size}_s{self.stride}_c{self.out_channels}"


def _plain_conv(trace: LayerTrace, stage: PlainConvStage, stride: int) -> None:
    trace.conv("conv", stage.out_channels, stage.kernel_size, stride)
    trace.bn("bn")
    trace.act("act")


@pytest.fixture
def plain_conv_rule() -> Iterator[None]:
    register_block_kind(BlockKind("plain_conv", cost_rule=_plain_conv), owner="tests")
    yield
    unregister_stage_kind("plain_conv")


def _with_stages(*stages):
    # model_copy skips validation: ArchSpec's union only admits the built-in kinds
    return load_spec("efficientnet-b0").model_copy(update={"stages": stages, "resolution_px": 32})


def test_builtin_kinds() -> None:
    assert registered_cost_kinds()[:2] == ("mbconv", "fused_mbconv")


def test_duplicate_kind_is_rejected() -> None:
    with pytest.raises(PluginError, match="'mbconv' is built in"):
        register_block_kind(BlockKind("mbconv", cost_rule=_plain_conv), owner="tests")
    assert cost_rule("mbconv") is not _plain_conv


@pytest.mark.usefixtures("plain_conv_rule")
def test_duplicate_plugin_kind_is_rejected() -> None:
    with pytest.raises(PluginError, match="'plain_conv' is registered twice"):
        register_block_kind(BlockKind("plain_conv", cost_rule=lambda trace, stage, stride: None), owner="tests")
    assert cost_rule("plain_conv") is _plain_conv


def test_rule_must_be_callable() -> None:
    with pytest.raises(PluginError, match="must be callable"):
        register_block_kind(BlockKind("broken", cost_rule=42), owner="tests")  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="must be callable or an import string"):
        register_block_kind(BlockKind("broken", cost_rule="not a function"), owner="tests")
    assert "broken" not in registered_cost_kinds()


def test_unknown_kind_lists_known_ones() -> None:
    with pytest.raises(PluginError, match="no cost rule .* 'nope' .*fused_mbconv, mbconv"):
        cost_rule("nope")


@pytest.mark.usefixtures("plain_conv_rule")
def test_plugin_kind_is_priced_by_its_rule() -> None:
    spec = _with_stages(PlainConvStage(num_layers=2, kernel_size=3, stride=2, out_channels=16))
    report = count_cost(spec)
    # stem 3->32 k3 s2: 32 -> 16 px; block 1: 32->16 k3 s2 at 8x8; block 2: 16->16 k3 at 8x8
    assert report.stages[0].macs == 16 * 32 * 9 * 64 + 16 * 16 * 9 * 64
    assert report.stages[0].params == (16 * 32 * 9 + 32) + (16 * 16 * 9 + 32)
    assert report.stages[0].output_shape == (16, 8, 8)
    assert report.stages[0].display == "pc_r2_k3_s2_c16"
    assert report.head.macs == 16 * 1280 * 64 + 1280 * 1000
    graph = arch_graph(spec)
    assert graph.graph["macs"] == report.macs
    assert graph.nodes["stages.0.1.conv"]["in_channels"] == 16


def test_rule_errors_name_the_layer() -> None:
    def bad_residual(trace: LayerTrace, stage: PlainConvStage, stride: int) -> None:
        block_in = trace.current
        trace.conv("conv", stage.out_channels, stage.kernel_size, stride)
        trace.add("add", block_in)

    def reused_name(trace: LayerTrace, stage: PlainConvStage, stride: int) -> None:
        trace.bn("bn")
        trace.act("bn")

    try:
        register_block_kind(BlockKind("bad_residual", cost_rule=bad_residual), owner="tests")
        register_block_kind(BlockKind("reused_name", cost_rule=reused_name), owner="tests")
        with pytest.raises(SpecError, match="residual add of shapes") as info:
            count_cost(_with_stages(PlainConvStage(1, 3, 1, 16, kind="bad_residual")))
        assert info.value.path == "stages.0.0.add"
        with pytest.raises(SpecError, match="used twice") as info:
            arch_graph(_with_stages(PlainConvStage(1, 3, 1, 16, kind="reused_name")))
        assert info.value.path == "stages.0.0.bn"
    finally:
        unregister_stage_kind("bad_residual")
        unregister_stage_kind("reused_name")


def test_grouped_conv_needs_divisible_channels() -> None:
    trace = LayerTrace((6, 8, 8))
    with pytest.raises(SpecError, match="not divisible by groups=4"):
        trace.conv("conv_dw", 8, 3, groups=4)


class _WidthOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bottleneck: int = 1


def _bottleneck_conv(trace: LayerTrace, stage: CustomStageSpec, stride: int) -> None:
    # 1x1 reduce to out/bottleneck, then k×k to out; widths from the shared fields and the options
    trace.conv("conv_reduce", stage.out_channels // stage.options["bottleneck"], 1)
    trace.conv("conv", stage.out_channels, stage.kernel_size, stride)


def test_custom_stage_spec_from_yaml_data() -> None:
    register_block_kind(
        BlockKind("cost_test_bottleneck", cost_rule=_bottleneck_conv, options_model=_WidthOptions), owner="tests"
    )
    try:
        data = load_spec("efficientnet-b0").model_dump(mode="json")
        data["resolution_px"] = 32
        data["stages"] = [{"kind": "cost_test_bottleneck", "num_layers": 1, "kernel_size": 3, "stride": 1,
                           "expand_ratio": 1, "out_channels": 16, "options": {"bottleneck": 4}}]
        spec = spec_from_dict(data)
        assert isinstance(spec.stages[0], CustomStageSpec)
        first = count_cost(spec)  # options is a dict: not hashable, so not cached, still counted
        assert first.stages[0].macs == 4 * 32 * 16 * 16 + 16 * 4 * 9 * 16 * 16
        assert count_cost(spec) == first
        assert arch_graph(spec).graph["macs"] == first.macs
    finally:
        unregister_stage_kind("cost_test_bottleneck")
