"""Score fidelity (issue 13, points 3–4): which cheap score ranks architectures like a long training does?

On the embedded Fashion-MNIST subset (1 channel, 10 classes, the proxy's 32-px rule):

* architectures stratified over the space's MACs range under ``--budget``: ``--pool`` samples
  ``SearchSpace.sample(i)`` are costed (conv + linear MACs at their resolution), those within the budget sorted by
  MACs, and ``--n-archs`` taken at MACs quantiles from the smallest feasible to the largest under the budget, plus
  EfficientNet-B0;
* reference = the mean validation top-1 of ``--reference-seeds`` seeds (1000, 1001, …: independent of the scores'
  seeds) of the proxy recipe run ``--reference-factor`` times longer (epochs × k, warm-up × k); the reference's
  own split-half Kendall τ (seed 1000 against seed 1001) is the ceiling any score can reach;
* one row per score, each with Kendall τ-b against the reference mean, a bootstrap 95 % interval over the
  architectures, and its wall time per architecture:
  (a) final validation top-1 of the proxy (``nasgen.train.CPU_PROXY``, seed 0: what the search uses today);
  (b) mean top-1 of two half-length seeds (0, 1; the same epochs over half the images each);
  (c) the sum of training losses (Ru et al., 2021, "Speedy performance estimation for neural architecture
  search", §3, SoTL): over the proxy run, over its last epoch only (SoTL-E, E = 1), and over one half-length run;
  a lower sum ranks higher, so the score is the negated sum (the per-epoch mean loss × images of the epoch,
  summed: per image, not per step, which ranks the same at a fixed batch size);
  (d) each zero-cost proxy of ``nasgen.train.ZERO_COST_SCORES`` on one 64-image minibatch at initialization;
  (e) MACs; (f) params (larger = predicted better, as the literature correlates them).

Every training run is cached in the JSON (``--out``) under (architecture hash, recipe hash, seed), written after
each run, so an interrupted run resumes where it stopped; the table is printed over the architectures finished.

Usage:
    python benchmarks/score_fidelity.py --quick    # 4 archs + B0; proxy 2 epochs x 5,000 images, 1,000
                                                   # validation images; reference 3x
    python benchmarks/score_fidelity.py            # full: 12 archs + B0, CPU_PROXY, 2 seeds of 5× (hours)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def kendall_tau(x: list[float], y: list[float]) -> float:
    """Kendall's τ-b (scipy)."""
    from scipy.stats import kendalltau

    return float(kendalltau(x, y).statistic)


def bootstrap_tau(x: list[float], y: list[float], n_resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Percentile 95 % interval of τ-b, resampling architectures with replacement (seeded)."""
    rng = random.Random(seed)
    taus = []
    for _ in range(n_resamples):
        index = [rng.randrange(len(x)) for _ in x]
        tau = kendall_tau([x[i] for i in index], [y[i] for i in index])
        if not math.isnan(tau):
            taus.append(tau)
    taus.sort()
    if not taus:
        return float("nan"), float("nan")
    return taus[int(0.025 * (len(taus) - 1))], taus[int(0.975 * (len(taus) - 1))]


def recipe_hash(config) -> str:
    return hashlib.sha256(json.dumps(config.model_dump(), sort_keys=True).encode()).hexdigest()[:12]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Score fidelity on the embedded data (issue 13).")
    parser.add_argument("--quick", action="store_true", help="4 archs + B0, short recipes (< 20 min idle)")
    parser.add_argument("--n-archs", type=int, default=None, help="stratified archs besides B0 (12; quick 4)")
    parser.add_argument("--budget", default="400M", help="MACs budget of the stratification")
    parser.add_argument("--pool", type=int, default=3000, help="samples costed to find the feasible MACs range")
    parser.add_argument("--space", default="efficientnet-v1")
    parser.add_argument("--reference-factor", type=int, default=None, help="reference = k × proxy (5; quick 3)")
    parser.add_argument("--reference-seeds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64, help="zero-cost minibatch size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="JSON cache and results")
    parser.add_argument("--proxy-epochs", type=int, default=None, help="override the proxy's epochs")
    parser.add_argument("--proxy-images", type=int, default=None, help="override the proxy's images per epoch")
    parser.add_argument(
        "--report-only", action="store_true", help="train nothing: the table over the archs already in --out"
    )
    parser.add_argument("--max-minutes", type=float, default=None, help="stop starting runs after this long")
    return parser.parse_args(argv)


def recipes(quick: bool, factor: int, epochs: int | None = None, images: int | None = None) -> dict:
    """The recipes by role: proxy, half (half the images per epoch), reference (× factor).

    Shorter recipes keep ``CPU_PROXY``'s warm-up in images (0.1 × 10,000 = 1,000 images, 8 steps of 128): a
    warm-up of 1–2 steps at lr 6e-3 blew the first epoch's loss up to 3.8–5.7 and left 10–18 % top-1 after
    2 × 2,500 images (first quick attempt, docs/proxy.md).
    """
    from nasgen.train import CPU_PROXY

    full_images = 10_000
    warmup_images = CPU_PROXY.warmup_epochs * full_images
    proxy = CPU_PROXY
    if quick:
        proxy = CPU_PROXY.replace(epochs=2, images_per_epoch=5000, val_images=1000)
    if epochs is not None or images is not None:
        proxy = proxy.replace(epochs=epochs or proxy.epochs, images_per_epoch=images or proxy.images_per_epoch)

    def with_warmup(config):
        n = config.images_per_epoch or full_images
        return config.replace(warmup_epochs=min(warmup_images / n, float(config.epochs)))

    proxy = with_warmup(proxy)
    half = with_warmup(proxy.replace(images_per_epoch=(proxy.images_per_epoch or full_images) // 2))
    reference = proxy.replace(epochs=proxy.epochs * factor, warmup_epochs=proxy.warmup_epochs * factor)
    return {"proxy": proxy, "half": half, "reference": reference}


def stratified_archs(space_name: str, budget: int, n_archs: int, pool: int) -> list[dict]:
    """``n_archs`` samples at MACs quantiles of the feasible ones among ``pool``, then EfficientNet-B0."""
    from nasgen.cost import count_cost
    from nasgen.space import load_space
    from nasgen.spec import load_spec

    space = load_space(space_name)
    feasible = []
    for i in range(pool):
        spec = space.sample(i, num_classes=10, in_channels=1)
        cost = count_cost(spec)
        if cost.macs <= budget:
            feasible.append((cost.macs, i, spec, cost.params))
    feasible.sort(key=lambda row: row[0])
    if len(feasible) < n_archs:
        raise SystemExit(f"error: only {len(feasible)} of {pool} samples within the budget; raise --pool")
    chosen, seen = [], set()
    for j in range(n_archs):
        k = round(j * (len(feasible) - 1) / max(n_archs - 1, 1))
        while k in seen:
            k += 1
        seen.add(k)
        macs, i, spec, params = feasible[k]
        chosen.append({"name": f"sample {i}", "spec": spec, "macs": macs, "params": params})
    b0 = load_spec("efficientnet-b0").replace(num_classes=10, in_channels=1)
    cost = count_cost(b0)
    chosen.append({"name": "efficientnet-b0", "spec": b0, "macs": cost.macs, "params": cost.params})
    for row in chosen:
        row["hash"] = row["spec"].short_hash()
        row["display"] = " ".join(row["spec"].display())
    return chosen, len(feasible)


class NotCached(Exception):
    """``--report-only``: a run the table needs is not in the JSON yet."""


class Cache:
    """The JSON file of every run, keyed by (architecture hash, recipe hash, seed); rewritten after each run."""

    def __init__(self, path: Path, report_only: bool = False):
        self.path = path
        self.report_only = report_only
        self.data = json.loads(path.read_text()) if path.exists() else {"runs": {}}

    def get(self, key: str, compute):
        if key not in self.data["runs"]:
            if self.report_only:
                raise NotCached(key)
            self.data["runs"][key] = compute()
            self.save()
        return self.data["runs"][key]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)


def train_run(spec, data, config, seed: int) -> dict:
    from nasgen.train import evaluate_proxy

    wall, cpu = time.perf_counter(), time.process_time()
    result = evaluate_proxy(spec, data, config, seed=seed, device="cpu")
    n_images = config.images_per_epoch or 10_000
    return {
        "val_top1": result.val_top1,
        "train_loss": [h["train_loss"] for h in result.history],
        "sotl": sum(h["train_loss"] for h in result.history) * n_images,
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
    }


def zero_cost_run(spec, data, config, seed: int, batch_size: int) -> dict:
    from nasgen.train import ZERO_COST_SCORES, zero_cost_scores

    scores, wall, cpu = {}, {}, {}
    for name in ZERO_COST_SCORES:  # one at a time, so each one's wall and CPU time is its own
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        scores[name] = zero_cost_scores(spec, data, (name,), seed=seed, batch_size=batch_size, config=config)[name]
        wall[name], cpu[name] = time.perf_counter() - start_wall, time.process_time() - start_cpu
    return {"scores": scores, "wall_s": wall, "cpu_s": cpu}


def measure_arch(arch: dict, data, roles: dict, cache: Cache, args) -> dict:
    """Every score of one architecture (cached runs reused) and its reference runs."""
    spec, key = arch["spec"], arch["hash"]
    h = {role: recipe_hash(config) for role, config in roles.items()}
    proxy = cache.get(f"{key}|{h['proxy']}|0", lambda: train_run(spec, data, roles["proxy"], 0))
    halves = [cache.get(f"{key}|{h['half']}|{s}", lambda s=s: train_run(spec, data, roles["half"], s)) for s in (0, 1)]
    zero = cache.get(
        f"{key}|zero-cost-b{args.batch_size}-{h['proxy']}-timed|0",
        lambda: zero_cost_run(spec, data, roles["proxy"], 0, args.batch_size),
    )
    refs = [
        cache.get(f"{key}|{h['reference']}|{s}", lambda s=s: train_run(spec, data, roles["reference"], s))
        for s in range(1000, 1000 + args.reference_seeds)
    ]
    both = (sum(r["wall_s"] for r in halves), sum(r["cpu_s"] for r in halves))
    scores = {
        "(a) proxy top-1": (proxy["val_top1"], proxy["wall_s"], proxy["cpu_s"]),
        "(b) mean of 2 half-length seeds": (statistics.mean(r["val_top1"] for r in halves), *both),
        "(c) SoTL, proxy run": (-proxy["sotl"], proxy["wall_s"], proxy["cpu_s"]),
        "(c) SoTL-E last epoch, proxy run": (-proxy["train_loss"][-1], proxy["wall_s"], proxy["cpu_s"]),
        "(c) SoTL, one half-length run": (-halves[0]["sotl"], halves[0]["wall_s"], halves[0]["cpu_s"]),
    }
    for name, value in zero["scores"].items():
        scores[f"(d) {name}"] = (value, zero["wall_s"][name], zero["cpu_s"][name])
    scores["(e) MACs"] = (arch["macs"], 0.0, 0.0)
    scores["(f) params"] = (arch["params"], 0.0, 0.0)
    return {
        "name": arch["name"], "hash": key, "macs": arch["macs"], "params": arch["params"],
        "display": arch["display"], "reference": [r["val_top1"] for r in refs],
        "reference_wall_s": [r["wall_s"] for r in refs], "scores": scores,
    }


def summarize(rows: list[dict]) -> dict:
    reference = [statistics.mean(r["reference"]) for r in rows]
    summary = {"n_archs": len(rows), "scores": {}}
    if len(rows) >= 3 and len(rows[0]["reference"]) >= 2:
        summary["split_half_tau"] = kendall_tau([r["reference"][0] for r in rows], [r["reference"][1] for r in rows])
    for name in rows[0]["scores"]:
        values = [r["scores"][name][0] for r in rows]
        tau = kendall_tau(values, reference) if len(rows) >= 3 else float("nan")
        low, high = bootstrap_tau(values, reference) if len(rows) >= 3 else (float("nan"),) * 2
        summary["scores"][name] = {
            "tau": tau, "tau_95": [low, high], "wall_s_mean": statistics.mean(r["scores"][name][1] for r in rows),
            "cpu_s_mean": statistics.mean(r["scores"][name][2] for r in rows),
        }
    return summary


def print_table(summary: dict, rows: list[dict], header: str) -> None:
    print("\n" + header)
    print(f"architectures finished: {summary['n_archs']}")
    if "split_half_tau" in summary:
        print(f"ceiling: split-half tau of the reference (seed 1000 vs 1001) = {summary['split_half_tau']:.3f}")
    print(f"{'score':<36} {'tau':>7} {'95% bootstrap':>17} {'wall s/arch':>12} {'CPU s/arch':>11}")
    for name, s in summary["scores"].items():
        low, high = s["tau_95"]
        print(f"{name:<36} {s['tau']:7.3f} {f'[{low:.2f}, {high:.2f}]':>17} {s['wall_s_mean']:12.2f} "
              f"{s['cpu_s_mean']:11.2f}")
    print(f"\n{'arch':<16} {'MACs':>8} {'ref mean %':>10} {'ref seeds %':>16} {'proxy %':>8}")
    for r in rows:
        seeds = " / ".join(f"{100 * v:.2f}" for v in r["reference"])
        print(f"{r['name']:<16} {r['macs'] / 1e6:7.1f}M {100 * statistics.mean(r['reference']):10.2f} "
              f"{seeds:>16} {100 * r['scores']['(a) proxy top-1'][0]:8.2f}")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import torch

    from nasgen.data import load_dataset
    from nasgen.units import parse_macs

    torch.set_num_threads(args.threads)
    n_archs = args.n_archs or (4 if args.quick else 12)
    factor = args.reference_factor or (3 if args.quick else 5)
    out = args.out or RESULTS / ("score_fidelity_quick.json" if args.quick else "score_fidelity.json")
    roles = recipes(args.quick, factor, args.proxy_epochs, args.proxy_images)
    budget = parse_macs(args.budget)
    archs, n_feasible = stratified_archs(args.space, budget, n_archs, args.pool)
    # Measure in a fixed shuffled order, so that an interrupted run covers the whole MACs range.
    order = list(range(len(archs)))
    random.Random(0).shuffle(order)
    data = load_dataset()
    cache = Cache(out, report_only=args.report_only)
    cache.data["setup"] = {
        "quick": args.quick, "budget_macs": budget, "pool": args.pool, "feasible": n_feasible,
        "reference_factor": factor, "reference_seeds": args.reference_seeds, "threads": args.threads,
        "recipes": {role: config.model_dump() for role, config in roles.items()},
        "load_at_start": os.getloadavg(),
    } if not args.report_only else cache.data.get("setup", {})
    header = (
        f"{'quick' if args.quick else 'full'}: {len(archs)} archs ({n_archs} at MACs quantiles of {n_feasible} "
        f"feasible of {args.pool} samples <= {args.budget}, + B0); proxy {roles['proxy'].epochs} ep x "
        f"{roles['proxy'].images_per_epoch or 10_000} images; reference {factor}x, {args.reference_seeds} seeds; "
        f"{args.threads} threads"
    )
    print(header, flush=True)
    start, rows = time.perf_counter(), []
    for n, index in enumerate(order):
        if args.max_minutes is not None and time.perf_counter() - start > 60 * args.max_minutes:
            print(f"stopping: --max-minutes {args.max_minutes} reached", flush=True)
            break
        try:
            row = measure_arch(archs[index], data, roles, cache, args)
        except NotCached:
            continue
        rows.append(row)
        print(f"  [{n + 1}/{len(archs)}] {row['name']:<16} {row['macs'] / 1e6:7.1f}M  ref "
              f"{' / '.join(f'{100 * v:.2f}' for v in row['reference'])}  proxy "
              f"{100 * row['scores']['(a) proxy top-1'][0]:.2f}  load {os.getloadavg()[0]:.2f}", flush=True)
    rows.sort(key=lambda r: r["macs"])
    summary = summarize(rows) if rows else {"n_archs": 0, "scores": {}}
    if args.report_only:  # another process may be writing --out: leave it alone
        partial = {"archs": rows, "summary": summary, "setup": cache.data.get("setup"), "load": os.getloadavg()}
        out.with_suffix(".summary.json").write_text(json.dumps(partial, indent=1))
    else:
        cache.data["archs"] = rows
        cache.data["summary"] = summary
        cache.data["load_at_end"] = os.getloadavg()
        cache.save()
    if rows:
        print_table(summary, rows, header)
    return partial if args.report_only else cache.data


if __name__ == "__main__":
    main()
