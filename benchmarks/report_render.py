"""Report render time for a study of N trials (the issue's target: 1,000 trials in ≤ 10 s on a 2-core CPU).

Builds a real study with ``nasgen.search`` on the ``efficientnet-v1`` space under 400M MACs (random sampler, a
stand-in score that grows with MACs plus seeded noise, EfficientNet-B0 enqueued as a baseline; an in-memory
Optuna storage so that building it is quick), or reads an existing run directory, then times
``nasgen.report.write_report`` on it: wall time and process CPU time (close to what an idle machine would take
when the machine is shared), median of ``--repeats``, after one warm-up call (imports: matplotlib, Optuna).

Usage (from a source checkout without installing, prefix ``PYTHONPATH=.``):
    python benchmarks/report_render.py --trials 1000
    python benchmarks/report_render.py --run runs/efficientnet-v1-400M
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from nasgen.cost import count_cost
from nasgen.report import write_report
from nasgen.search import Run, open_run, search


def build(trials: int, out: Path) -> Run:
    rng = random.Random(0)

    def score(spec) -> float:
        return min(0.95, 0.6 + 0.3 * (count_cost(spec).macs / 4e8) ** 0.5 + rng.gauss(0.0, 0.01))

    start = time.perf_counter()
    result = search("400M", space="efficientnet-v1", objective=score, n_trials=trials, timeout=None, out=out,
                    sampler="random", storage=optuna.storages.InMemoryStorage(), enqueue=("efficientnet-b0",))
    print(f"built {len(result.study.trials)} trials in {time.perf_counter() - start:.1f} s")
    return Run(result.study, f"{trials} trials in memory", out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--run", type=Path, default=None, help="An existing run directory instead of a new study.")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = open_run(args.run) if args.run else build(args.trials, Path(tmp) / "run")
        out = Path(tmp) / "report"
        write_report(run, out)  # warm-up: imports, font cache
        walls, cpus = [], []
        for _ in range(args.repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            result = write_report(run, out)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        counts = ", ".join(f"{n} {s}" for s, n in run.state_counts().items())
        sizes = ", ".join(f"{p.name} {p.stat().st_size // 1024} KiB" for p in [result.html, *result.figures.values()])
        print(f"{len(run.records())} trials ({counts})")
        print(f"write_report: wall {statistics.median(walls):.2f} s, CPU {statistics.median(cpus):.2f} s "
              f"(median of {args.repeats}); {sizes}")


if __name__ == "__main__":
    main()
