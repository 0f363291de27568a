"""How a latency table's parts are timed (issue 30): the old fixed rule against the adaptive one, on the same parts.

Old rule (before issue 30): 2 warm-up calls, then repeats until ≥ 5 over ``min_seconds`` (0.15 s), median; every
new part timed twice (a second pass after the other parts) and the faster kept. New rule
(``nasgen.cost._timing``): 1 warm-up (2 for calls under 0.1 s; none beyond the first call for calls of ≥ 1 s),
repeats until 5 over 0.15 s, or 3 agreeing within 10 % over 0.15 s, or 2 agreeing calls of ≥ 1 s; a second
pass only for parts whose first timing took under 1 s.

For each distinct part of ``--arch`` in each ``--modes`` entry (``infer@PX`` at batch 1, ``train@PX`` at
``--batch``), ``--rounds`` rounds each run both procedures over all parts (their order alternating by round), so
load changes hit both alike. Printed per part: both procedures' estimates (median over rounds), their ratio,
each procedure's own spread over the rounds ((max − min) / median: the noise floor a rule cannot beat), calls
and seconds per round; then totals. The new rule keeps the accuracy when its median ratio to the old is within
the old rule's own round-to-round spread.

    python benchmarks/latency_timing.py                      # V2-S: infer@384, train@55 (batch 128), 3 rounds
    python benchmarks/latency_timing.py --modes train@128 --rounds 2 --threads 1
    python benchmarks/latency_timing.py --quick              # a tiny network, seconds: checks the script

Results are cached per (arch, mode, px, batch, threads, round) in ``benchmarks/results/latency_timing.json``:
an interrupted run resumes. Timings are only evidence on an otherwise idle machine; load and threads are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

CACHE = Path(__file__).parent / "results" / "latency_timing.json"
TINY = {
    "name": "tiny", "in_channels": 1, "resolution_px": 32,
    "stem": {"out_channels": 8, "kernel_size": 3, "stride": 2},
    "stages": [{"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 2,
                "out_channels": 16, "se_ratio": 0.25}],
    "head_channels": 32, "num_classes": 10,
}  # fmt: skip


def _old_timing(step, min_seconds: float = 0.15) -> tuple[float, float, int]:
    """The rule before issue 30: (median ms, seconds, calls)."""
    start = time.perf_counter()
    for _ in range(2):
        step()
    samples: list[float] = []
    begin = time.perf_counter()
    while len(samples) < 5 or (time.perf_counter() - begin < min_seconds and len(samples) < 200):
        t = time.perf_counter()
        step()
        samples.append(1000.0 * (time.perf_counter() - t))
    return statistics.median(samples), time.perf_counter() - start, 2 + len(samples)


def _stepper(spec, part, mode: str, batch: int):
    """The part's step function, as ``nasgen.cost.time_module`` builds it (CPU, channels-last)."""
    import torch

    from nasgen.nn import build_part

    module = build_part(spec, part).to(memory_format=torch.channels_last)
    x = torch.randn(batch, part.in_channels, part.size_px, part.size_px).contiguous(memory_format=torch.channels_last)
    if mode == "infer":
        module.eval()

        def step():
            with torch.inference_mode():
                module(x)
        return step
    module.train()
    x.requires_grad_(part.role != "stem")
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4, fused=True)
    labels = torch.zeros(batch, dtype=torch.long)

    def step():
        out = module(x)
        loss = torch.nn.functional.cross_entropy(out.float(), labels) if out.dim() == 2 else out.float().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def _procedure(rule: str, spec, parts, mode: str, batch: int) -> dict[str, dict]:
    """Both passes of one procedure over ``parts``: {key: {"ms", "seconds", "calls"}}."""
    from nasgen.cost._timing import _sample

    def once(part):
        step = _stepper(spec, part, mode, batch)
        if rule == "old":
            return _old_timing(step)
        timing = _sample(step, lambda: None, 0.15)
        return timing.ms, timing.seconds, timing.calls

    first = {p.key: once(p) for p in parts}
    out = {}
    for p in parts:  # the second pass, after every part's first timing
        ms, seconds, calls = first[p.key]
        if rule == "old" or seconds < 1.0:
            ms2, seconds2, calls2 = once(p)
            ms, seconds, calls = min(ms, ms2), seconds + seconds2, calls + calls2
        out[p.key] = {"ms": ms, "seconds": seconds, "calls": calls}
    return out


def _spread(values: list[float]) -> float:
    return (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="efficientnetv2-s")
    parser.add_argument("--modes", default="infer@384,train@55")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--quick", action="store_true", help="a tiny network, infer@32 and train@32 at batch 8")
    args = parser.parse_args()

    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)

    from nasgen.cost import parts_of
    from nasgen.spec import load_spec, spec_from_dict

    if args.quick:
        spec, args.modes, args.batch, args.rounds = spec_from_dict(TINY), "infer@32,train@32", 8, 2
    else:
        spec = load_spec(args.arch)
    threads = torch.get_num_threads()
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() and not args.quick else {}
    print(f"{spec.name}, {threads} threads, torch {torch.__version__}; load {os.getloadavg()[0]:.2f}", flush=True)
    totals = {"old": [0.0, 0], "new": [0.0, 0]}
    for entry in args.modes.split(","):
        mode, px = entry.split("@")
        batch = 1 if mode == "infer" else args.batch
        distinct = {}
        for part in parts_of(spec, int(px)):
            distinct.setdefault(part.key, part)
        parts = list(distinct.values())
        results = {"old": [], "new": []}
        for r in range(args.rounds):
            for rule in (("old", "new") if r % 2 == 0 else ("new", "old")):
                key = f"{spec.name}/{mode}@{px}/b{batch}/t{threads}/{rule}/{r}"
                if key not in cache:
                    cache[key] = {"times": _procedure(rule, spec, parts, mode, batch), "load": os.getloadavg()[0]}
                    if not args.quick:
                        CACHE.parent.mkdir(parents=True, exist_ok=True)
                        CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True))
                results[rule].append(cache[key])
        ratios, spreads = [], {"old": [], "new": []}
        for p in parts:
            old = [res["times"][p.key]["ms"] for res in results["old"]]
            new = [res["times"][p.key]["ms"] for res in results["new"]]
            ratio = statistics.median(new) / statistics.median(old)
            ratios.append(ratio)
            spreads["old"].append(_spread(old))
            spreads["new"].append(_spread(new))
            calls = {rule: statistics.mean(res["times"][p.key]["calls"] for res in results[rule]) for rule in results}
            print(f"  {mode}@{px} b{batch} {p.name:11s} old {statistics.median(old):9.1f} ms  new "
                  f"{statistics.median(new):9.1f} ms  new/old {ratio:5.3f}  spread old {_spread(old):5.1%} new "
                  f"{_spread(new):5.1%}  calls {calls['old']:.0f} -> {calls['new']:.0f}", flush=True)
        seconds = {rule: statistics.mean(sum(t["seconds"] for t in res["times"].values()) for res in results[rule])
                   for rule in results}  # fmt: skip
        calls = {rule: statistics.mean(sum(t["calls"] for t in res["times"].values()) for res in results[rule])
                 for rule in results}  # fmt: skip
        for rule in totals:
            totals[rule][0] += seconds[rule]
            totals[rule][1] += calls[rule]
        print(f"{mode}@{px} batch {batch}: {len(parts)} parts; per round old {seconds['old']:.1f} s / "
              f"{calls['old']:.0f} calls, new {seconds['new']:.1f} s / {calls['new']:.0f} calls; new/old median "
              f"{statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f}); round-to-round spread "
              f"median old {statistics.median(spreads['old']):.1%}, new {statistics.median(spreads['new']):.1%}; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"total per round: old {totals['old'][0]:.1f} s / {totals['old'][1]:.0f} calls, new {totals['new'][0]:.1f} s "
          f"/ {totals['new'][1]:.0f} calls ({totals['old'][0] / max(totals['new'][0], 1e-9):.1f}x less time)")


if __name__ == "__main__":
    main()
