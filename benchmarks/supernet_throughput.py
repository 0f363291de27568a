"""Subnets scored per hour by a supernet, beside proxy trials per hour, in one process (issue 26, throughput).

The same ``--n`` architectures (sampled from ``--space`` within ``--budget``, as a search draws them) are
(a) scored by ``SubnetScorer`` (BatchNorm recalibrated on the recipe's calibration images, then top-1 on the
validation subset, at the proxy's resolution) and (b) timed for the from-scratch proxy (``CPU_PROXY``):
``estimate_proxy_seconds`` (timed training steps scaled to the recipe, what the search's time limit uses) for each,
and ``--proxy-runs`` of them trained for real. Scoring time does not depend on what the weights are, so an untrained
supernet is timed unless ``--supernet`` names a trained one. Figures depend on the machine and its load, which are
printed with them; the ratio is measured side by side.

Usage:
    python benchmarks/supernet_throughput.py --quick              # 4 archs, no real proxy run
    python benchmarks/supernet_throughput.py                      # 20 archs, 2 real proxy runs
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 architectures, no real proxy run")
    parser.add_argument("--space", default="efficientnet-v1")
    parser.add_argument("--budget", default="400M")
    parser.add_argument("--n", type=int, default=None, help="architectures (20; quick 4)")
    parser.add_argument("--recipe", default="cpu", help="supernet recipe preset (its calibration and validation sizes)")
    parser.add_argument("--supernet", type=Path, default=None, help="a trained supernet's folder or run directory")
    parser.add_argument("--proxy-runs", type=int, default=None, help="proxy trainings run for real (2; quick 0)")
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import torch

    from nasgen.cost import count_cost
    from nasgen.data import load_dataset
    from nasgen.space import load_space
    from nasgen.supernet import SubnetScorer, Supernet, load_supernet, supernet_recipe
    from nasgen.train import CPU_PROXY, estimate_proxy_seconds, evaluate_proxy
    from nasgen.units import parse_macs

    torch.set_num_threads(args.threads)
    n = args.n or (4 if args.quick else 20)
    proxy_runs = args.proxy_runs if args.proxy_runs is not None else (0 if args.quick else 2)
    data, recipe, budget = load_dataset(), supernet_recipe(args.recipe), parse_macs(args.budget)
    if args.supernet is not None:
        run = load_supernet(args.supernet)
        supernet, recipe = run.supernet, run.recipe
    else:
        supernet = Supernet(load_space(args.space), num_classes=data.num_classes, in_channels=data.in_channels).eval()
    scorer = SubnetScorer(supernet, data, recipe)
    rng, specs = random.Random(0), []
    while len(specs) < n:
        spec = supernet.sample(rng)
        if count_cost(spec).macs <= budget:
            specs.append(spec)
    scorer.score(specs[0])  # warm-up: the first call builds the data tensors at this resolution
    rows = []
    for spec in specs:
        start = time.perf_counter()
        score = scorer.score(spec)
        scored = time.perf_counter() - start
        estimate = estimate_proxy_seconds(spec, data, CPU_PROXY, device="cpu")[1]
        rows.append({"macs": count_cost(spec).macs, "score_s": scored, "proxy_estimate_s": estimate,
                     "resolution_px": score.resolution_px})  # fmt: skip
        print(f"  {rows[-1]['macs'] / 1e6:7.1f}M  score {scored:6.2f} s  proxy (estimated) {estimate:7.1f} s  "
              f"load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    real = []
    for spec in specs[:proxy_runs]:
        start = time.perf_counter()
        evaluate_proxy(spec, data, CPU_PROXY, seed=0, device="cpu")
        real.append(time.perf_counter() - start)
        print(f"  proxy trained for real: {real[-1]:.1f} s (estimated {rows[len(real) - 1]['proxy_estimate_s']:.1f} s)")
    score_s = statistics.mean(r["score_s"] for r in rows)
    proxy_s = statistics.mean(r["proxy_estimate_s"] for r in rows)
    print(f"\n{n} architectures of {args.space} <= {args.budget}; recipe {args.recipe!r}: {recipe.calibration_images} "
          f"calibration + {len(scorer.val_index)} validation images at {rows[0]['resolution_px']} px; "
          f"{args.threads} threads; load {os.getloadavg()}")  # fmt: skip
    print(f"supernet: {score_s:.2f} s per subnet = {3600 / score_s:.0f} subnets per hour")
    print(f"proxy:    {proxy_s:.1f} s per trial (estimated) = {3600 / proxy_s:.1f} trials per hour"
          + (f"; trained for real {statistics.mean(real):.1f} s" if real else ""))
    print(f"ratio:    {proxy_s / score_s:.0f}x more architectures per hour")
    return {"rows": rows, "score_s": score_s, "proxy_s": proxy_s, "real_proxy_s": real}


if __name__ == "__main__":
    main()
