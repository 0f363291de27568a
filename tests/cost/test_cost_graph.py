"""The networkx graph view: totals, structure, shape checks, hashing and export."""

from __future__ import annotations

from math import prod
from pathlib import Path

import networkx as nx
import pytest

from _random_specs import random_spec
from nasgen.cost import arch_graph, check_shapes, count_cost, graph_hash, to_dot, to_graphml
from nasgen.errors import SpecError
from nasgen.spec import builtin_architectures, load_spec


@pytest.mark.parametrize("name", sorted(builtin_architectures()))
def test_totals_equal_analytic(name: str) -> None:
    spec = load_spec(name)
    graph = arch_graph(spec)
    report = count_cost(spec)
    assert (graph.graph["macs"], graph.graph["params"]) == (report.macs, report.params)
    node_bytes = 4 * sum(prod(shape) for node, shape in graph.nodes(data="shape") if node != "input")
    assert node_bytes == report.activation_bytes
    assert graph.graph["activation_elements"] * 4 == report.activation_bytes


@pytest.mark.parametrize("seed", range(0, 200, 4))
def test_random_totals_equal_analytic(seed: int) -> None:
    spec = random_spec(seed)
    graph = arch_graph(spec)
    report = count_cost(spec, batch_size=3, dtype_bytes=2)
    assert (graph.graph["macs"], graph.graph["params"]) == (report.macs, report.params)
    assert graph.graph["activation_elements"] * 3 * 2 == report.activation_bytes


def test_b0_structure() -> None:
    graph = arch_graph(load_spec("efficientnet-b0"))
    ops = [op for _, op in graph.nodes(data="op")]
    # 16 blocks; residual where stride 1 and C_in == C_out: 16 blocks - 7 stage-first blocks = 9
    assert ops.count("add") == 9
    assert ops.count("mul") == 16
    # stem, 5 per block (expand, depthwise, SE reduce/expand, project; stage 0 has no expand), head
    assert ops.count("conv2d") == 1 + (16 * 5 - 1) + 1
    assert ops.count("linear") == 1
    kinds = [kind for _, _, kind in graph.edges(data="kind")]
    assert kinds.count("residual") == 9
    assert kinds.count("se_gate") == 16
    assert nx.is_directed_acyclic_graph(graph)
    assert list(nx.topological_sort(graph))[0] == "input"
    assert graph.out_degree("classifier") == 0
    # the skip of stages.1.1 comes from the output of stages.1.0
    skip = [s for s, _, k in graph.in_edges("stages.1.1.add", data="kind") if k == "residual"]
    assert skip == ["stages.1.0.bn3"]
    dw = graph.nodes["stages.1.0.conv_dw"]
    assert (dw["op"], dw["kernel_size"], dw["stride"], dw["groups"], dw["shape"]) == ("conv2d", 3, 2, 96, (96, 56, 56))
    assert graph.nodes["classifier"]["shape"] == (1000,)
    assert graph.graph["resolution_px"] == 224


def _corrupt(graph: nx.DiGraph, node: str, **changes) -> nx.DiGraph:
    graph.nodes[node].update(changes)
    return graph


@pytest.mark.parametrize(
    ("node", "changes", "message"),
    [
        ("stages.1.0.conv_dw", {"shape": (96, 57, 57)}, "should be"),
        ("stages.1.0.conv_pwl", {"in_channels": 95}, "input channels"),
        ("stages.1.0.bn2", {"shape": (95, 56, 56)}, "should be"),
        ("stages.1.0.se.conv_expand", {"shape": (95, 1, 1)}, "should be"),
        ("classifier", {"in_features": 1000}, "features"),
    ],
)
def test_check_shapes_names_the_culprit(node: str, changes: dict, message: str) -> None:
    graph = _corrupt(arch_graph(load_spec("efficientnet-b0")), node, **changes)
    with pytest.raises(SpecError, match=message) as info:
        check_shapes(graph)
    assert info.value.path in (node, *graph.successors(node))


def test_check_shapes_residual_and_se() -> None:
    graph = arch_graph(load_spec("efficientnet-b0"))
    graph.add_edge("stages.1.0.bn3", "stages.2.1.add", kind="residual")  # a third input
    with pytest.raises(SpecError, match="takes 2 input"):
        check_shapes(graph)
    graph = arch_graph(load_spec("efficientnet-b0"))
    graph.remove_edge("stages.2.0.bn3", "stages.2.1.add")
    graph.add_edge("stages.1.0.bn3", "stages.2.1.add", kind="residual")  # 24 channels into a 40-channel add
    with pytest.raises(SpecError, match="residual add") as info:
        check_shapes(graph)
    assert info.value.path == "stages.2.1.add"
    graph = arch_graph(load_spec("efficientnet-b0"))
    graph.nodes["stages.3.0.se.gate"]["shape"] = (240, 2, 2)
    with pytest.raises(SpecError):
        check_shapes(graph)
    graph = arch_graph(load_spec("efficientnet-b0"))
    graph.add_edge("head.act", "stem.conv", kind="data")
    with pytest.raises(SpecError, match="cycle"):
        check_shapes(graph)


def test_hash_is_structural() -> None:
    spec = load_spec("efficientnet-b0")
    base = graph_hash(spec)
    assert len(base) == 32 and int(base, 16) >= 0
    assert graph_hash(spec.replace(name="renamed")) == base
    assert graph_hash(spec.replace(dropout=0.5, bn_eps=1e-3)) == base  # training settings are not structure
    stages = [s.model_dump() for s in spec.stages]
    stages[4]["kernel_size"] = 3
    assert graph_hash(spec.replace(stages=stages)) != base
    assert graph_hash(spec, resolution_px=240) != base
    assert graph_hash(spec.replace(activation="relu")) != base
    assert graph_hash(spec.replace(num_classes=10)) != base
    assert graph_hash("efficientnet-b0") == base


def test_hashes_of_random_specs_are_distinct() -> None:
    specs = [random_spec(seed) for seed in range(40)]
    assert len({graph_hash(s) for s in specs}) == len({s.content_hash() for s in specs}) == 40


def test_graphml_round_trip(tmp_path: Path) -> None:
    graph = arch_graph(load_spec("efficientnetv2-s"), resolution_px=64)
    path = to_graphml(graph, tmp_path / "v2s.graphml")
    back = nx.read_graphml(path)
    assert set(back.nodes) == set(graph.nodes)
    assert set(back.edges) == set(graph.edges)
    node = back.nodes["stages.3.0.conv_dw"]
    assert (node["op"], node["shape"], node["macs"]) == ("conv2d", "256x4x4", graph.nodes["stages.3.0.conv_dw"]["macs"])
    assert sum(int(m) for _, m in back.nodes(data="macs")) == count_cost("efficientnetv2-s", resolution_px=64).macs
    assert back.edges["stages.0.0.act1", "stages.0.0.add"]["kind"] == "data"
    assert back.edges["stem.act", "stages.0.0.add"]["kind"] == "residual"


def test_dot_text() -> None:
    graph = arch_graph(load_spec("efficientnet-b0"), resolution_px=64)
    text = to_dot(graph)
    assert text.startswith('digraph "efficientnet-b0" {')
    assert text.rstrip().endswith("}")
    for node in graph:
        assert text.count(f'  "{node}" [label=') == 1
    assert text.count("[style=dashed]") == 9
    assert text.count("[style=dotted]") == 16
    assert '"stem.conv" [label="stem.conv\\nconv2d k3 s2\\n32x32x32\\n' in text
    assert text.count(" -> ") == graph.number_of_edges()


def test_bad_resolution() -> None:
    with pytest.raises(SpecError, match="total stride"):
        arch_graph(load_spec("efficientnet-b0"), resolution_px=8)
