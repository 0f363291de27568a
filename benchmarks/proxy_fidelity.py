"""Proxy fidelity (issue 7): does the default proxy rank architectures like a 5× longer training does?

Measures on the embedded Fashion-MNIST subset:

* EfficientNet-B0 under the proxy over ``--seeds`` seeds: mean and standard deviation of validation top-1;
* ``--n-archs`` architectures sampled from the ``efficientnet-v1`` space (``SearchSpace.sample(arch_seed + i)``),
  each trained under the proxy and under a reference training ``--reference-factor`` times longer (epochs × k,
  warm-up × k, same recipe otherwise): Kendall τ-b between the two rankings, and between MACs alone and the
  reference (the baseline a proxy must beat);
* the wall time and process CPU time of one B0 proxy evaluation. ``idle_estimate_s`` = CPU time / threads,
  what the run would take on an idle machine with perfect use of the threads (the machine may be shared).

Prints one table and writes a JSON of the figures (``--out``).

Usage:
    python benchmarks/proxy_fidelity.py            # full run: 3 B0 seeds + 12 archs × (proxy + 5× reference)
    python benchmarks/proxy_fidelity.py --quick    # minutes: 2 B0 seeds, 4 archs, 1 epoch of 2,000 images, 3×
    python benchmarks/proxy_fidelity.py --n-archs 6 --seeds 1 --out fidelity.json --threads 2
    python benchmarks/proxy_fidelity.py --resume   # continue an interrupted run from --out (same recipes)

The JSON is rewritten after every architecture, with Kendall τ over the architectures finished so far, so an
interrupted run still reports what it measured; ``--resume`` skips the B0 seeds and architectures already in it.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path


def kendall_tau(x: list[float], y: list[float]) -> float:
    """Kendall's τ-b between two score lists (scipy's when installed; the same formula otherwise)."""
    try:
        from scipy.stats import kendalltau

        return float(kendalltau(x, y).statistic)
    except ImportError:
        concordant = discordant = ties_x = ties_y = 0
        for i in range(len(x)):
            for j in range(i + 1, len(x)):
                dx, dy = x[i] - x[j], y[i] - y[j]
                if dx == 0 and dy == 0:
                    continue
                if dx == 0:
                    ties_x += 1
                elif dy == 0:
                    ties_y += 1
                elif dx * dy > 0:
                    concordant += 1
                else:
                    discordant += 1
        denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
        return (concordant - discordant) / denominator if denominator else float("nan")


def timed_proxy(spec, data, config, seed: int) -> dict:
    """One proxy evaluation with wall and process CPU seconds."""
    from nasgen.train import evaluate_proxy

    wall, cpu = time.perf_counter(), time.process_time()
    result = evaluate_proxy(spec, data, config, seed=seed, device="cpu")
    return {
        "val_top1": result.val_top1,
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "images_per_second": result.images_per_second,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Proxy fidelity on the embedded data (issue 7).")
    parser.add_argument("--quick", action="store_true", help="small, minutes-long variant of every measurement")
    parser.add_argument("--seeds", type=int, default=None, help="B0 proxy seeds (default 3; quick 2)")
    parser.add_argument("--n-archs", type=int, default=None, help="sampled architectures (default 12; quick 4)")
    parser.add_argument("--arch-seed", type=int, default=0, help="architecture i is space.sample(arch_seed + i)")
    parser.add_argument("--space", default="efficientnet-v1", help="search space to sample from")
    parser.add_argument(
        "--reference-factor", type=int, default=None, help="reference = k × proxy (default 5; quick 3)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the targets are for 2)")
    parser.add_argument("--out", type=Path, default=Path("proxy_fidelity.json"), help="JSON output file")
    parser.add_argument("--resume", action="store_true", help="reuse the finished runs in --out (same recipes)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import torch

    from nasgen.cost import count_cost
    from nasgen.data import load_dataset
    from nasgen.space import load_space
    from nasgen.spec import load_spec
    from nasgen.train import default_proxy

    torch.set_num_threads(args.threads)
    seeds = args.seeds or (2 if args.quick else 3)
    n_archs = args.n_archs or (4 if args.quick else 12)
    factor = args.reference_factor or (3 if args.quick else 5)
    proxy = default_proxy("cpu")
    if args.quick:
        proxy = proxy.replace(epochs=1, images_per_epoch=2000, warmup_epochs=0.3)
    reference = proxy.replace(epochs=proxy.epochs * factor, warmup_epochs=proxy.warmup_epochs * factor)
    data = load_dataset()
    figures: dict = {"proxy": proxy.model_dump(), "reference": reference.model_dump(), "threads": args.threads}
    done_b0: list = []
    done_archs: dict[int, dict] = {}
    if args.resume and args.out.exists():
        previous = json.loads(args.out.read_text())
        if previous.get("proxy") != figures["proxy"] or previous.get("reference") != figures["reference"]:
            raise SystemExit(f"error: {args.out} was measured with other recipes; remove it or drop --resume")
        done_b0 = previous.get("b0", {}).get("runs", [])
        done_archs = {row["sample"]: row for row in previous.get("archs", [])}

    b0 = done_b0[:seeds] + [
        timed_proxy(load_spec("efficientnet-b0"), data, proxy, seed) for seed in range(len(done_b0), seeds)
    ]
    top1 = [run["val_top1"] for run in b0]
    figures["b0"] = {
        "runs": b0,
        "mean_top1": statistics.mean(top1),
        "std_top1": statistics.stdev(top1) if len(top1) > 1 else 0.0,
        "wall_s": b0[0]["wall_s"],
        "cpu_s": b0[0]["cpu_s"],
        "idle_estimate_s": b0[0]["cpu_s"] / args.threads,
    }
    print_b0(figures["b0"])
    args.out.write_text(json.dumps(figures, indent=2))

    space = load_space(args.space)
    archs = []
    for i in range(n_archs):
        sample = args.arch_seed + i
        spec = space.sample(sample)
        row = done_archs.get(sample)
        if row is None:
            row = {"sample": sample, "macs": count_cost(spec).macs, "display": " ".join(spec.display())}
            proxy_run = timed_proxy(spec, data, proxy, seed=0)
            reference_run = timed_proxy(spec, data, reference, seed=0)
            row.update(
                proxy_top1=proxy_run["val_top1"], proxy_wall_s=proxy_run["wall_s"],
                reference_top1=reference_run["val_top1"], reference_wall_s=reference_run["wall_s"],
            )
        archs.append(row)
        figures["archs"] = archs
        _add_taus(figures, archs)
        print(f"  arch {i:2d}  {row['macs'] / 1e6:7.1f}M MACs  proxy {row['proxy_top1']:.4f}  "
              f"reference {row['reference_top1']:.4f}  tau so far {figures['kendall_tau_proxy_vs_reference']:.3f}"
              f" (MACs {figures['kendall_tau_macs_vs_reference']:.3f})", flush=True)
        args.out.write_text(json.dumps(figures, indent=2))
    print_table(figures, seeds, n_archs, factor)
    return figures


def _add_taus(figures: dict, archs: list[dict]) -> None:
    reference_scores = [a["reference_top1"] for a in archs]
    figures["n_archs_done"] = len(archs)
    figures["kendall_tau_proxy_vs_reference"] = kendall_tau([a["proxy_top1"] for a in archs], reference_scores)
    figures["kendall_tau_macs_vs_reference"] = kendall_tau([a["macs"] for a in archs], reference_scores)


def print_b0(b0: dict) -> None:
    runs = ", ".join(f"{r['val_top1']:.4f}" for r in b0["runs"])
    print(f"B0 proxy top-1 per seed: {runs}; one eval {b0['wall_s']:.1f} s wall, {b0['cpu_s']:.1f} s CPU", flush=True)


def print_table(figures: dict, seeds: int, n_archs: int, factor: int) -> None:
    b0 = figures["b0"]
    tau, tau_macs = figures["kendall_tau_proxy_vs_reference"], figures["kendall_tau_macs_vs_reference"]
    done = figures.get("n_archs_done", n_archs)
    rows = [
        (f"B0 proxy top-1, mean over {seeds} seeds", f"{100 * b0['mean_top1']:.2f} %", ">= 85 %"),
        ("B0 proxy top-1, seed std", f"{100 * b0['std_top1']:.2f} points", "<= 1.0"),
        ("B0 proxy eval, wall time", f"{b0['wall_s']:.1f} s", "<= 90 s"),
        ("B0 proxy eval, CPU time / threads (idle estimate)", f"{b0['idle_estimate_s']:.1f} s", ""),
        (f"Kendall tau(proxy, {factor}x training), {done} archs", f"{tau:.3f}", ">= 0.6"),
        (f"Kendall tau(MACs, {factor}x training), {done} archs", f"{tau_macs:.3f}", "< proxy's"),
    ]
    width = max(len(name) for name, _, _ in rows)
    print("\n" + "-" * (width + 28))
    print(f"{'figure':<{width}}  {'measured':>12}  {'target':>10}")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>12}  {target:>10}")
    print("-" * (width + 28))


if __name__ == "__main__":
    main()
