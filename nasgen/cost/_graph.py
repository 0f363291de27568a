"""The networkx graph view of an architecture: one node per layer, edges for the data flow.

Built from the same layer trace as the analytic counter, so its totals always match
:func:`~nasgen.cost.count_cost`. Used for shape checks, export (GraphML, DOT) and a structural hash
(Weisfeiler–Lehman; Shervashidze et al., 2011, "Weisfeiler-Lehman Graph Kernels", §2).
"""

from __future__ import annotations

import warnings
from math import prod
from pathlib import Path
from typing import Any

import networkx as nx

from nasgen.cost._rules import as_spec, trace_spec
from nasgen.cost._trace import INPUT, conv_output_size
from nasgen.errors import SpecError

__all__ = ["arch_graph", "check_shapes", "graph_hash", "to_dot", "to_graphml"]

_ELEMENTWISE = frozenset({"batchnorm2d", "act"})


def _label(op: str, attrs: dict[str, Any], shape: tuple[int, ...]) -> str:
    details = ",".join(f"{k}={v}" for k, v in attrs.items() if k != "in_channels")
    return f"{op}({details})->{'x'.join(map(str, shape))}"


def arch_graph(spec: Any, resolution_px: int | None = None, *, check: bool = True) -> nx.DiGraph:
    """The layer graph of ``spec`` at ``resolution_px`` (default: the spec's).

    Nodes are named like the modules of :func:`nasgen.nn.build_model` (``stem.conv``, ``stem.act``,
    ``stages.1.0.conv_dw``, ``stages.1.0.se.conv_reduce``, ``stages.1.0.se.gate``, ``head.bn``,
    ``pool``, ``classifier``), plus ``input`` and the functional ops: SE pooling and multiply
    (``…se.pool``, ``…se.mul``) and residual adds (``…add``). Node attributes: ``op``, ``shape``
    (``(C, H, W)``, batch left out; ``(features,)`` for the classifier), ``macs``, ``params``,
    ``label`` (op, its settings and shape; what :func:`graph_hash` hashes) and the op's settings
    (``kernel_size``, ``stride``, ``groups``, ``in_channels``, ``bias``, ``fn``, ``in_features``).
    Edges carry ``kind``: ``data``, ``residual`` (the skip into an add) or ``se_gate`` (the gate into
    the SE multiply). Graph attributes: ``name``, ``resolution_px``, ``macs``, ``params``,
    ``activation_elements`` (sum of node output sizes, the input excluded; times batch size and dtype
    bytes this is :attr:`CostReport.activation_bytes`).

    Args:
        spec: An :class:`~nasgen.spec.ArchSpec`, a built-in name or a YAML/JSON path.
        resolution_px: Input resolution in px.
        check: Run :func:`check_shapes` on the result.

    Raises:
        SpecError: Bad spec or resolution, or inconsistent shapes.
        PluginError: A stage kind without a registered cost rule.
    """
    spec = as_spec(spec)
    trace = trace_spec(spec, resolution_px, keep_layers=True)
    graph = nx.DiGraph(name=spec.name or "", resolution_px=trace.resolution_px)
    in_shape = (spec.in_channels, trace.resolution_px, trace.resolution_px)
    graph.add_node(INPUT, op="input", shape=in_shape, macs=0, params=0, label=_label("input", {}, in_shape))
    for layer in trace.layers:
        attrs = dict(layer.attrs)
        graph.add_node(layer.name, op=layer.op, shape=layer.shape, macs=layer.macs, params=layer.params,
                       label=_label(layer.op, attrs, layer.shape), **attrs)
        for position, source in enumerate(layer.inputs):
            kind = "data"
            if position == 1:
                kind = "residual" if layer.op == "add" else "se_gate"
            graph.add_edge(source, layer.name, kind=kind)
    graph.graph["macs"] = sum(m for _, m in graph.nodes(data="macs"))
    graph.graph["params"] = sum(p for _, p in graph.nodes(data="params"))
    graph.graph["activation_elements"] = sum(prod(s) for n, s in graph.nodes(data="shape") if n != INPUT)
    if check:
        check_shapes(graph)
    return graph


def _inputs(graph: nx.DiGraph, node: str) -> tuple[list[tuple[int, ...]], dict[str, tuple[int, ...]]]:
    edges = [(kind, graph.nodes[src]["shape"]) for src, _, kind in graph.in_edges(node, data="kind")]
    return [shape for _, shape in edges], dict(edges)


def _expected_shape(graph: nx.DiGraph, node: str, data: dict[str, Any]) -> tuple[int, ...] | None:
    """The output shape ``node`` must have given its inputs, or ``None`` for an op without a shape rule."""
    op = data["op"]
    shapes, by_kind = _inputs(graph, node)
    arity = {"input": 0, "add": 2, "mul": 2}.get(op, 1)
    if len(shapes) != arity:
        raise SpecError(f"{op} takes {arity} input(s), has {len(shapes)}", path=node, value=len(shapes))
    if op == "conv2d":
        c_in, height, width = shapes[0]
        if c_in != data["in_channels"]:
            raise SpecError(f"conv expects {data['in_channels']} input channels, gets {c_in}", path=node, value=c_in)
        k, s = data["kernel_size"], data["stride"]
        return data["shape"][0], conv_output_size(height, k, s), conv_output_size(width, k, s)
    if op in _ELEMENTWISE:
        return shapes[0]
    if op == "global_avg_pool":
        return shapes[0][0], 1, 1
    if op == "linear":
        if prod(shapes[0]) != data["in_features"]:
            raise SpecError(f"linear expects {data['in_features']} features, gets {shapes[0]}", path=node,
                            value=shapes[0])
        return data["shape"]
    if op == "add":
        if shapes[0] != shapes[1]:
            raise SpecError(f"residual add of shapes {shapes[0]} and {shapes[1]} that differ", path=node,
                            value=tuple(shapes))
        return shapes[0]
    if op == "mul":
        main, gate = by_kind.get("data"), by_kind.get("se_gate")
        if main is None or gate is None or gate != (main[0], 1, 1):
            raise SpecError(f"SE multiply needs a (C, H, W) input and a (C, 1, 1) gate, gets {shapes}", path=node,
                            value=tuple(shapes))
        return main
    return None


def check_shapes(graph: nx.DiGraph) -> None:
    """Check every node's shape against its inputs: conv channels and strides, elementwise ops keep
    shapes, residual adds join equal shapes, the SE gate is ``(C, 1, 1)``, linear in-features match.

    Raises:
        SpecError: Naming the node (as the path) whose shapes are inconsistent, or a cycle.
    """
    if not nx.is_directed_acyclic_graph(graph):
        raise SpecError("the layer graph has a cycle", value=nx.find_cycle(graph))
    for node, data in graph.nodes(data=True):
        expected = _expected_shape(graph, node, data)
        if expected is not None and tuple(expected) != tuple(data["shape"]):
            raise SpecError(f"{data['op']} output shape {data['shape']} should be {expected}", path=node,
                            value=data["shape"])


def graph_hash(spec: Any, resolution_px: int | None = None, *, iterations: int = 3) -> str:
    """Weisfeiler–Lehman hash of the layer graph, nodes labelled by op, settings and shape.

    Equal architectures hash equal whatever their ``name``; a different kernel, width, depth,
    activation or resolution hashes differently. Training settings (dropout, drop-path rate, BN
    epsilon/momentum) are not part of the graph and do not change the hash; :meth:`ArchSpec.content_hash`
    covers those. The digest depends on the networkx version (3.5 changed it for directed graphs), so
    compare hashes made by one installation.

    Returns:
        32 hex digits.

    Raises:
        SpecError: As :func:`arch_graph`.
    """
    graph = arch_graph(spec, resolution_px, check=False)
    with warnings.catch_warnings():
        # networkx ≥ 3.5 warns on every directed graph that its hashes changed from earlier versions
        warnings.filterwarnings("ignore", message="The hashes produced for directed graphs", category=UserWarning)
        return nx.weisfeiler_lehman_graph_hash(graph, node_attr="label", edge_attr="kind", iterations=iterations)


def _plain_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return value


def to_graphml(graph: nx.DiGraph, path: str | Path) -> Path:
    """Write ``graph`` as GraphML (shapes as ``"CxHxW"`` strings, the rest as typed attributes)."""
    plain = nx.DiGraph()
    plain.graph.update({k: _plain_value(v) for k, v in graph.graph.items() if v is not None})
    for node, data in graph.nodes(data=True):
        plain.add_node(node, **{k: _plain_value(v) for k, v in data.items() if v is not None})
    plain.add_edges_from(graph.edges(data=True))
    path = Path(path)
    nx.write_graphml(plain, path)
    return path


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _quote(text: str) -> str:
    return f'"{_escape(text)}"'


def to_dot(graph: nx.DiGraph) -> str:
    """Graphviz DOT text of ``graph``: one box per layer (name, op, shape, MACs), residual edges
    dashed, SE gate edges dotted. Render with ``dot -Tsvg``."""
    styles = {"residual": " [style=dashed]", "se_gate": " [style=dotted]"}
    lines = [f"digraph {_quote(graph.graph.get('name') or 'arch')} {{", "  rankdir=TB;", "  node [shape=box];"]
    for node, data in graph.nodes(data=True):
        op = data["op"]
        if op == "conv2d":
            op += f" k{data['kernel_size']} s{data['stride']}" + (" dw" if data["groups"] > 1 else "")
        elif op == "act":
            op = data["fn"]
        details = [node, op]
        details.append("x".join(map(str, data["shape"])))
        if data.get("macs"):
            details.append(f"{data['macs']:,} MACs")
        label = "\\n".join(_escape(d) for d in details)
        lines.append(f'  {_quote(node)} [label="{label}"];')
    for source, target, kind in graph.edges(data="kind"):
        lines.append(f"  {_quote(source)} -> {_quote(target)}{styles.get(kind, '')};")
    lines.append("}")
    return "\n".join(lines) + "\n"
