"""Cost counting speed: the analytic counter against the thop measurement of a built model.

For EfficientNet-B0 at 224 px and EfficientNetV2-S at 384 px, times (median of ``--repeats``):

* ``count_cost`` cold (the stage cache cleared before each call: a spec never priced before) and warm
  (every stage seen before, as when the search prices specs that share stages);
* ``arch_graph`` (the networkx view, built from the same trace) and ``graph_hash``;
* ``build_model`` and ``measure_cost`` (thop with nasgen's conv + linear rules, one forward pass at batch 1).

Both counters are checked to agree (MACs and params) before anything is timed. Wall time is reported, and
the process CPU time (divided by the torch threads for the torch rows), which is close to what an idle
machine would take when the machine is shared.

Usage (from a source checkout without installing, prefix ``PYTHONPATH=.``):
    python benchmarks/cost_counting.py                  # 5 repeats, torch's default threads
    python benchmarks/cost_counting.py --repeats 9 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from nasgen.cost import _rules, arch_graph, count_cost, graph_hash, measure_cost
from nasgen.nn import build_model
from nasgen.spec import load_spec

CASES = (("efficientnet-b0", 224), ("efficientnetv2-s", 384))


def _median(func: Callable[[], object], repeats: int, number: int = 1) -> tuple[float, float]:
    """Median wall and process-CPU seconds of one call, over ``repeats`` runs of ``number`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(number):
            func()
        walls.append((time.perf_counter() - wall) / number)
        cpus.append((time.process_time() - cpu) / number)
    return statistics.median(walls), statistics.median(cpus)


def _cold(spec: object) -> None:
    _rules._STAGE_CACHE.clear()
    count_cost(spec)


def _rows(name: str, resolution: int, repeats: int) -> list[tuple[str, float, float]]:
    spec = load_spec(name).replace(resolution_px=resolution)
    model = build_model(spec)
    report, measured = count_cost(spec), measure_cost(model)
    if (report.macs, report.params) != (measured.macs, measured.params):
        raise SystemExit(f"{name}: analytic {report.macs:,} / {report.params:,} != thop {measured}")
    print(f"{name} at {resolution} px: {report.macs:,} MACs, {report.params:,} params (analytic == thop)")
    return [
        ("count_cost, cold", *_median(lambda: _cold(spec), repeats, number=20)),
        ("count_cost, warm", *_median(lambda: count_cost(spec), repeats, number=20)),
        ("arch_graph", *_median(lambda: arch_graph(spec), repeats, number=3)),
        ("graph_hash", *_median(lambda: graph_hash(spec), repeats, number=3)),
        ("build_model", *_median(lambda: build_model(spec), repeats)),
        ("measure_cost (thop)", *_median(lambda: measure_cost(model), repeats)),
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads [default: torch's own]")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} torch thread(s), median of {args.repeats} repeats")
    table = [(name, px, _rows(name, px, args.repeats)) for name, px in CASES]
    print()
    print("| arch | px | what | wall | CPU / threads | thop ÷ count_cost (cold, CPU) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, px, rows in table:
        cold_cpu = rows[0][2]
        for what, wall, cpu in rows:
            per_thread = cpu / threads if what in ("build_model", "measure_cost (thop)") else cpu
            ratio = f"{cpu / cold_cpu:,.0f}x" if what == "measure_cost (thop)" else ""
            print(f"| {name} | {px} | {what} | {_ms(wall)} | {_ms(per_thread)} | {ratio} |")


if __name__ == "__main__":
    main()
