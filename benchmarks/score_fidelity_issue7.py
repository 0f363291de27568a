"""Zero-cost scores, MACs and params against issue 7's references (no training; minutes).

Issue 7's fidelity runs (``benchmarks/proxy_fidelity.py``) trained the same 12 architectures
(``efficientnet-v1`` ``space.sample(i)``, i = 0…11) twice at long recipes on two machines: a 10-epoch reference
on machine A (``results/proxy_fidelity_cpu_2epoch_epyc.json``) and a 15-epoch reference on machine B
(``results/proxy_fidelity_cpu.json``), with their proxies (2 and 3 epochs). This script adds, at no training
cost, the zero-cost scores of ``nasgen.train.ZERO_COST_SCORES`` (seed 0, one 64-image minibatch), MACs and params
of those architectures (1 channel, 10 classes), and prints Kendall τ-b of every score against the mean of the two
references and against each, beside the two references' own τ (the ceiling).

Usage:
    python benchmarks/score_fidelity_issue7.py [--threads 2] [--out results/score_fidelity_issue7.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from score_fidelity import RESULTS, bootstrap_tau, kendall_tau


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "score_fidelity_issue7.json")
    args = parser.parse_args(argv)
    import torch

    from nasgen.cost import count_cost
    from nasgen.data import load_dataset
    from nasgen.space import load_space
    from nasgen.train import CPU_PROXY, ZERO_COST_SCORES, zero_cost_scores

    torch.set_num_threads(args.threads)
    machine_a = json.loads((RESULTS / "proxy_fidelity_cpu_2epoch_epyc.json").read_text())["archs"]
    machine_b = json.loads((RESULTS / "proxy_fidelity_cpu.json").read_text())["archs"]
    space, data = load_space("efficientnet-v1"), load_dataset()
    rows = []
    for a, b in zip(machine_a, machine_b, strict=True):
        spec = space.sample(a["sample"], num_classes=10, in_channels=1)
        if a["sample"] != b["sample"] or {a["display"], b["display"]} != {" ".join(spec.display())}:
            raise SystemExit(f"error: sample {a['sample']} is not the architecture issue 7 measured")
        cost = count_cost(spec)
        scores, cpu = {}, {}
        for name in ZERO_COST_SCORES:
            start = time.process_time()
            scores[name] = zero_cost_scores(spec, data, (name,), seed=0, config=CPU_PROXY)[name]
            cpu[name] = time.process_time() - start
        rows.append({
            "sample": a["sample"], "macs": cost.macs, "params": cost.params,
            "zero_cost": scores, "zero_cost_cpu_s": cpu,
            "proxy_2ep_a": a["proxy_top1"], "proxy_3ep_b": b["proxy_top1"],
            "reference_10ep_a": a["reference_top1"], "reference_15ep_b": b["reference_top1"],
        })
        line = "  ".join(f"{k} {v:.4g}" for k, v in scores.items())
        print(f"  sample {a['sample']:2d} {cost.macs / 1e6:6.1f}M  {line}", flush=True)
    ref_a, ref_b = [r["reference_10ep_a"] for r in rows], [r["reference_15ep_b"] for r in rows]
    reference = [statistics.mean(pair) for pair in zip(ref_a, ref_b)]
    candidates = {
        "proxy top-1, 3 ep (machine B)": [r["proxy_3ep_b"] for r in rows],
        "proxy top-1, 2 ep (machine A)": [r["proxy_2ep_a"] for r in rows],
        **{f"zero-cost {name}": [r["zero_cost"][name] for r in rows] for name in ZERO_COST_SCORES},
        "MACs": [r["macs"] for r in rows],
        "params": [r["params"] for r in rows],
    }
    summary = {"ceiling_tau_reference_a_vs_b": kendall_tau(ref_a, ref_b), "scores": {}}
    print(f"\nceiling: tau(10-ep reference A, 15-ep reference B) = {summary['ceiling_tau_reference_a_vs_b']:.3f}")
    print(f"{'score':<32} {'tau(mean)':>9} {'95% bootstrap':>15} {'tau(A)':>7} {'tau(B)':>7}")
    for name, values in candidates.items():
        low, high = bootstrap_tau(values, reference)
        figures = {
            "tau_mean": kendall_tau(values, reference), "tau_95": [low, high],
            "tau_a": kendall_tau(values, ref_a), "tau_b": kendall_tau(values, ref_b),
        }
        summary["scores"][name] = figures
        print(f"{name:<32} {figures['tau_mean']:9.3f} {f'[{low:.2f}, {high:.2f}]':>15} "
              f"{figures['tau_a']:7.3f} {figures['tau_b']:7.3f}")
    result = {"archs": rows, "summary": summary, "threads": args.threads}
    args.out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
