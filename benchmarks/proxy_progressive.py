"""The proxy's ``--progressive`` option measured against the plain proxy (issue 20, item 5).

On the embedded Fashion-MNIST subset, with the default CPU proxy (``default_proxy("cpu")``) and the same proxy
with ``progressive=True`` (EfficientNetV2 progressive learning, ``default_num_stages(epochs)`` stages):

* EfficientNet-B0 over ``--seeds`` seeds: validation top-1 mean ± sd and CPU seconds per evaluation, per mode;
* the 12 architectures of issue 7 (``efficientnet-v1`` ``space.sample(i)``, i = 0…11, 1 channel, 10 classes),
  seed 0, per mode: top-1 and CPU seconds; Kendall τ-b between the two modes' rankings, and of each against the
  mean of issue 7's two long-training references (``results/proxy_fidelity_cpu_2epoch_epyc.json``,
  ``results/proxy_fidelity_cpu.json``), beside those references' τ between themselves (the ceiling).

Every evaluation is cached in ``--out`` as it finishes (rerun the same command to resume). Prints the figures.

Usage (from a source checkout, prefix ``PYTHONPATH=.``):
    python benchmarks/proxy_progressive.py [--threads 2] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from score_fidelity import RESULTS, bootstrap_tau, kendall_tau

MODES = ("plain", "progressive")


def _evaluate(spec, data, config, seed: int) -> dict:
    from nasgen.train import evaluate_proxy

    wall, cpu = time.perf_counter(), time.process_time()
    result = evaluate_proxy(spec, data, config, seed=seed, device="cpu")
    return {"val_top1": result.val_top1, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3, help="B0 seeds per mode")
    parser.add_argument("--out", type=Path, default=RESULTS / "proxy_progressive.json")
    args = parser.parse_args(argv)
    import torch

    from nasgen.data import load_dataset
    from nasgen.space import load_space
    from nasgen.spec import load_spec
    from nasgen.train import default_proxy

    torch.set_num_threads(args.threads)
    plain = default_proxy("cpu")
    configs = {"plain": plain, "progressive": plain.replace(progressive=True)}
    cache = json.loads(args.out.read_text()) if args.out.exists() else {}
    if cache.get("proxy") not in (None, plain.model_dump()):
        raise SystemExit(f"error: {args.out} holds runs of another proxy recipe; move it away or pass --out")
    cache["proxy"], cache["threads"] = plain.model_dump(), args.threads
    runs = cache.setdefault("runs", {})

    def run(key: str, spec, mode: str, seed: int) -> dict:
        if f"{key}/{mode}" not in runs:
            runs[f"{key}/{mode}"] = _evaluate(spec, data, configs[mode], seed)
            args.out.write_text(json.dumps(cache, indent=1))
        return runs[f"{key}/{mode}"]

    data = load_dataset()
    b0 = load_spec("efficientnet-b0")
    for seed in range(args.seeds):
        for mode in MODES:
            r = run(f"b0-s{seed}", b0, mode, seed)
            print(f"B0 seed {seed} {mode:<11} top-1 {r['val_top1']:.4f}  {r['cpu_s']:.0f} CPU s", flush=True)
    machine_a = json.loads((RESULTS / "proxy_fidelity_cpu_2epoch_epyc.json").read_text())["archs"]
    machine_b = json.loads((RESULTS / "proxy_fidelity_cpu.json").read_text())["archs"]
    space = load_space("efficientnet-v1")
    reference = []
    for a, b in zip(machine_a, machine_b, strict=True):
        spec = space.sample(a["sample"], num_classes=10, in_channels=1)
        for mode in MODES:
            r = run(f"sample-{a['sample']}", spec, mode, 0)
            print(f"sample {a['sample']:2d} {mode:<11} top-1 {r['val_top1']:.4f}  {r['cpu_s']:.0f} CPU s", flush=True)
        reference.append(statistics.mean((a["reference_top1"], b["reference_top1"])))
    ref_a = [a["reference_top1"] for a in machine_a]
    ref_b = [b["reference_top1"] for b in machine_b]
    samples = [a["sample"] for a in machine_a]
    scores = {mode: [runs[f"sample-{i}/{mode}"]["val_top1"] for i in samples] for mode in MODES}
    cpu = {mode: [runs[f"sample-{i}/{mode}"]["cpu_s"] for i in samples] for mode in MODES}
    b0_top1 = {mode: [runs[f"b0-s{s}/{mode}"]["val_top1"] for s in range(args.seeds)] for mode in MODES}
    b0_cpu = {mode: [runs[f"b0-s{s}/{mode}"]["cpu_s"] for s in range(args.seeds)] for mode in MODES}
    summary = {
        "b0_top1_mean": {m: statistics.mean(v) for m, v in b0_top1.items()},
        "b0_top1_sd": {m: statistics.stdev(v) if len(v) > 1 else float("nan") for m, v in b0_top1.items()},
        "b0_cpu_s_mean": {m: statistics.mean(v) for m, v in b0_cpu.items()},
        "archs_cpu_s_mean": {m: statistics.mean(v) for m, v in cpu.items()},
        "archs_top1_mean": {m: statistics.mean(v) for m, v in scores.items()},
        "tau_plain_vs_progressive": kendall_tau(scores["plain"], scores["progressive"]),
        "tau_vs_reference": {m: kendall_tau(v, reference) for m, v in scores.items()},
        "tau_vs_reference_95": {m: bootstrap_tau(v, reference) for m, v in scores.items()},
        "ceiling_tau_reference_a_vs_b": kendall_tau(ref_a, ref_b),
    }
    cache["summary"] = summary
    args.out.write_text(json.dumps(cache, indent=1))
    print()
    print("| mode | B0 top-1 % mean ± sd | B0 CPU s | 12 archs: mean top-1 % | mean CPU s | τ vs references "
          "[95 %] |")
    print("| --- | --- | --- | --- | --- | --- |")
    for m in MODES:
        low, high = summary["tau_vs_reference_95"][m]
        print(f"| {m} | {100 * summary['b0_top1_mean'][m]:.2f} ± {100 * summary['b0_top1_sd'][m]:.2f} | "
              f"{summary['b0_cpu_s_mean'][m]:.0f} | {100 * summary['archs_top1_mean'][m]:.2f} | "
              f"{summary['archs_cpu_s_mean'][m]:.0f} | {summary['tau_vs_reference'][m]:.2f} [{low:.2f}, {high:.2f}] |")
    print(f"\nτ(plain, progressive) over the 12 archs: {summary['tau_plain_vs_progressive']:.2f}; "
          f"ceiling τ(reference A, reference B): {summary['ceiling_tau_reference_a_vs_b']:.2f}")
    return cache


if __name__ == "__main__":
    main()
