"""The search space of examples/small_space.yaml written in Python, checked equal to the YAML one.

Shows the dimension types (``Choice``, ``IntRange``; a plain value is fixed) and the space models
(``StemSpace``, ``StageSpace``, ``SearchSpace``), all exported from ``nasgen`` and ``nasgen.space``, and what a
space answers without building anything: its size, its dimensions (the Optuna parameter names) and its MACs
range (analytic, no torch).

Run: ``python examples/space_in_python.py``
"""

from __future__ import annotations

from pathlib import Path

import nasgen
from nasgen import Choice, IntRange, SearchSpace, StageSpace, StemSpace

space = SearchSpace(
    name="small",
    description="three small stages for 32-48 px grey images (kernel 3/5, MBConv or Fused-MBConv, 1 optional stage)",
    in_channels=1,
    num_classes=10,
    resolution_px=Choice([32, 48]),
    stem=StemSpace(out_channels=Choice([8, 16]), kernel_size=3, stride=2),
    stages=[
        StageSpace(num_layers=IntRange(1, 2), kernel_size=Choice([3, 5]), stride=1, expand_ratio=1,
                   out_channels=Choice([8, 16])),
        StageSpace(kind=Choice(["mbconv", "fused_mbconv"]), num_layers=IntRange(1, 2), kernel_size=3, stride=2,
                   expand_ratio=Choice([4, 6]), out_channels=Choice([16, 24]), se_ratio=Choice([0.0, 0.25])),
        StageSpace(num_layers=1, kernel_size=Choice([3, 5]), stride=2, expand_ratio=6, out_channels=32,
                   se_ratio=0.25, optional=True),
    ],
    head_channels=Choice([64, 128]),
    dropout=0.1,
    drop_path_rate=0.0,
)

from_yaml = nasgen.load_space(Path(__file__).with_name("small_space.yaml"))
if space != from_yaml:
    raise SystemExit("the Python space differs from examples/small_space.yaml")

low, high = space.macs_range()
print(f"same as small_space.yaml: {space == from_yaml}")
print(f"architectures: {space.size()}")
print(f"dimensions: {len(space.dimensions())}: {', '.join(space.dimensions())}")
print(f"MACs range: {low} .. {high}")
spec = space.sample(seed=0)
print(f"sample (seed 0): {' '.join(spec.display())}, {nasgen.count_cost(spec).macs} MACs")
