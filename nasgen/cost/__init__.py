"""Cost of an architecture under nasgen's convention: params, MACs, activation memory, layer graph.

**MACs** are the multiply-accumulates of Conv2d and Linear layers only, at the input resolution and
batch 1 (conv: C_out·C_in/groups·k_h·k_w·H_out·W_out; linear: in·out) — what the EfficientNet papers
call "FLOPS" (B0: 0.39B). BatchNorm, activations, the SE multiply, pooling and residual adds are not
counted. FLOPs, where shown, are 2·MACs. **Params** are all trainable parameters, BN affine included.

:func:`count_cost` counts from the spec alone (no torch); :func:`measure_cost` measures a built
model with thop and custom rules for the same convention (imports torch on first use);
:func:`arch_graph` is the networkx layer graph the analytic counter's totals also come from.
:class:`LatencyTable` and :func:`predict_latency` give measured latency and training step time from per-part
timings; the table measures through the :class:`LatencyTimer` it is given (``nasgen.nn`` builds the modules:
``nasgen.nn.latency_table(device)``).

Example:
    >>> from nasgen.spec import load_spec
    >>> report = count_cost(load_spec("efficientnet-b0"))
    >>> f"{report.params:,} params, {report.macs:,} MACs"
    '5,288,548 params, 385,814,752 MACs'
"""

from __future__ import annotations

import importlib
from typing import Any

from nasgen.cost._analytic import CostReport, PartCost, StageCost, count_cost
from nasgen.cost._graph import arch_graph, check_shapes, graph_hash, to_dot, to_graphml
from nasgen.cost._parts import Part, parts_of
from nasgen.cost._rules import CostRule, cost_rule, registered_cost_kinds, se_channels
from nasgen.cost._trace import Layer, LayerTrace, conv_output_size

# torch-side names, imported on first use so that ``import nasgen.cost`` stays torch-free
_LAZY = {
    "measure_cost": "nasgen.cost._thop",
    "MeasuredCost": "nasgen.cost._thop",
    # measured latency and training step time (lookup tables; torch on first use)
    "LatencyTable": "nasgen.cost._latency",
    "LatencyPrediction": "nasgen.cost._latency",
    "LatencyTimer": "nasgen.cost._latency",
    "calibrate": "nasgen.cost._latency",
    "predict_latency": "nasgen.cost._latency",
    "TimingBudget": "nasgen.cost._budget",
    "TimingProgress": "nasgen.cost._budget",
    "Timing": "nasgen.cost._timing",
    "available_memory_bytes": "nasgen.cost._timing",
    "check_mode": "nasgen.cost._timing",
    "device_key": "nasgen.cost._timing",
    "step_memory_bytes": "nasgen.cost._timing",
    "time_module": "nasgen.cost._timing",
}

__all__ = [
    "CostReport",
    "LatencyPrediction",
    "LatencyTable",
    "LatencyTimer",
    "Part",
    "Timing",
    "TimingBudget",
    "TimingProgress",
    "available_memory_bytes",
    "calibrate",
    "check_mode",
    "device_key",
    "parts_of",
    "predict_latency",
    "step_memory_bytes",
    "time_module",
    "CostRule",
    "Layer",
    "LayerTrace",
    "MeasuredCost",
    "PartCost",
    "StageCost",
    "arch_graph",
    "check_shapes",
    "conv_output_size",
    "cost_rule",
    "count_cost",
    "graph_hash",
    "measure_cost",
    "registered_cost_kinds",
    "se_channels",
    "to_dot",
    "to_graphml",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nasgen.cost' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
