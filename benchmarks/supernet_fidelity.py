"""Supernet fidelity (issue 26, point 5): does the supernet rank architectures as training them alone does?

On the embedded Fashion-MNIST subset (1 channel, 10 classes, the proxy's resolution rule):

* architectures stratified over the MACs range under ``--budget`` (400M on ``efficientnet-v1``), by
  ``score_fidelity.stratified_archs``: ``--n-archs`` samples at MACs quantiles of the feasible ones among ``--pool``,
  plus EfficientNet-B0;
* stand-alone = the default CPU proxy (``nasgen.train.CPU_PROXY``) trained from scratch with ``--seeds`` seeds
  (0, 1, …); its mean is the reference and its split-half Kendall τ (seed 0 against seed 1) the ceiling. These runs
  use ``score_fidelity``'s cache keys (architecture hash | recipe hash | seed) and are read from its results file
  (``--standalone-cache``, default ``benchmarks/results/score_fidelity.json``) where that holds them;
* supernet arms, each trained once by ``nasgen.supernet.train_supernet`` (resumable, under ``--work``), every
  architecture scored by ``SubnetScorer`` after BatchNorm recalibration (and without, for the main arm): the main
  arm (the ``cpu`` recipe: sandwich rule + in-place distillation); sandwich without distillation; uniform single
  path (SPOS) with as many subnet passes; half and double the epochs;
* per arm: Kendall τ-b and Spearman ρ against the stand-alone mean with bootstrap 95 % intervals over the
  architectures, precision at the top 10 % (of the top ⌈n/10⌉ by stand-alone mean, the share the score also puts
  there), beside τ(MACs), τ(params) and the ceiling; the seconds per scored subnet and per stand-alone run.

Every run is cached in the JSON (``--out``) under (architecture hash, recipe hash, seed), written after each one,
so an interrupted run resumes where it stopped; the table covers the architectures finished.

Usage:
    python benchmarks/supernet_fidelity.py --quick     # 3 archs + B0, tiny 1-epoch recipes: checks the pipeline
    python benchmarks/supernet_fidelity.py             # 30 archs + B0, 2 seeds, 5 supernet arms (hours)
    python benchmarks/supernet_fidelity.py --arms main --report-only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import score_fidelity as sf  # noqa: E402 - the stratified sample, the cache, τ and its bootstrap

RESULTS = Path(__file__).parent / "results"
ARMS = ("main", "no-distill", "uniform", "half-epochs", "double-epochs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Supernet fidelity on the embedded data (issue 26).")
    parser.add_argument("--quick", action="store_true", help="3 archs + B0, tiny recipes (pipeline check)")
    parser.add_argument("--n-archs", type=int, default=None, help="stratified archs besides B0 (30; quick 3)")
    parser.add_argument("--budget", default="400M", help="MACs budget of the stratification")
    parser.add_argument("--pool", type=int, default=3000, help="samples costed to find the feasible MACs range")
    parser.add_argument("--space", default="efficientnet-v1")
    parser.add_argument("--seeds", type=int, default=2, help="stand-alone seeds per architecture (>= 2)")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"supernet arms to run, of {', '.join(ARMS)}")
    parser.add_argument("--supernet-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="JSON cache and results")
    parser.add_argument("--standalone-cache", type=Path, default=RESULTS / "score_fidelity.json",
                        help="score_fidelity results whose stand-alone runs are reused where the recipe matches")
    parser.add_argument("--work", type=Path, default=Path("runs") / "supernet_fidelity",
                        help="where the supernets are trained (large files; runs/ is not tracked)")
    parser.add_argument("--report-only", action="store_true", help="train nothing: the table from --out")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop starting runs after this long")
    return parser.parse_args(argv)


def standalone_recipe(quick: bool):
    """The default CPU proxy (quick: 1 epoch of 512 images, 500 validation images)."""
    from nasgen.train import CPU_PROXY

    if quick:
        return CPU_PROXY.replace(epochs=1, images_per_epoch=512, warmup_epochs=1.0, val_images=500)
    return CPU_PROXY


def arm_recipes(quick: bool, names: list[str]) -> dict:
    """The supernet recipe of each arm (``main`` = the ``cpu`` preset; quick: 1 epoch of 384 images)."""
    from nasgen.supernet import supernet_recipe

    base = supernet_recipe("cpu")
    if quick:
        base = supernet_recipe("quick")
        base = base.replace(train=base.train.replace(epochs=1, images_per_epoch=384, warmup_epochs=0.5,
                                                     val_images=500), calibration_images=128)  # fmt: skip
    epochs = base.train.epochs
    arms = {
        "main": base,
        "no-distill": base.replace(distill=False),
        # SPOS with as many subnet forward/backward passes as the sandwich makes
        "uniform": base.replace(strategy="uniform", distill=False,
                                train=base.train.replace(epochs=epochs * base.subnets_per_step())),
        "half-epochs": base.replace(train=base.train.replace(epochs=max(1, epochs // 2))),
        "double-epochs": base.replace(train=base.train.replace(epochs=2 * epochs)),
    }  # fmt: skip
    unknown = [name for name in names if name not in arms]
    if unknown:
        raise SystemExit(f"error: unknown arm {unknown[0]!r}; expected some of {', '.join(ARMS)}")
    return {name: arms[name] for name in names}


def fast_scoring(recipe):
    """The same supernet scored on fewer images: 250 calibration, 1,000 validation (about 2x faster)."""
    return recipe.replace(calibration_images=min(250, recipe.calibration_images),
                          train=recipe.train.replace(val_images=min(1000, recipe.train.val_images or 2000)))


def spearman_rho(x: list[float], y: list[float]) -> float:
    """Spearman's ρ (scipy)."""
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def bootstrap(statistic, x: list[float], y: list[float], n_resamples: int = 1000, seed: int = 0):
    """Percentile 95 % interval of ``statistic(x, y)``, resampling architectures with replacement (seeded)."""
    rng = random.Random(seed)
    values = []
    for _ in range(n_resamples):
        index = [rng.randrange(len(x)) for _ in x]
        value = statistic([x[i] for i in index], [y[i] for i in index])
        if not math.isnan(value):
            values.append(value)
    values.sort()
    if not values:
        return float("nan"), float("nan")
    return values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]


def precision_at_top(score: list[float], reference: list[float], fraction: float = 0.1) -> float:
    """Of the top ⌈fraction·n⌉ architectures by ``reference``, the share that are also top by ``score``."""
    k = max(1, math.ceil(fraction * len(reference)))
    top = lambda values: set(sorted(range(len(values)), key=lambda i: -values[i])[:k])  # noqa: E731
    return len(top(score) & top(reference)) / k


class Supernets:
    """Each arm's supernet, trained on first use under ``--work`` (resumable, one folder per training recipe), and
    a scorer per arm and scoring variant."""

    def __init__(self, space, data, args) -> None:
        self.space, self.data, self.args, self.runs, self.scorers = space, data, args, {}, {}

    def scorer(self, name: str, recipe):
        from nasgen.supernet import SubnetScorer, train_supernet

        key = recipe.recipe_hash()
        if key not in self.runs:
            folder = self.args.work / f"{key}-s{self.args.supernet_seed}"
            start = time.perf_counter()
            run = train_supernet(self.space, self.data, recipe, folder, seed=self.args.supernet_seed, progress=True)
            print(f"  supernet {name}: {'reused' if run.reused else 'trained'} in {time.perf_counter() - start:.0f} s",
                  flush=True)  # fmt: skip
            self.runs[key] = run
        if name not in self.scorers:
            self.scorers[name] = SubnetScorer(self.runs[key].supernet, self.data, recipe)
        return self.runs[key], self.scorers[name]


def supernet_run(supernets: Supernets, name: str, recipe, spec, recalibrate: bool) -> dict:
    run, scorer = supernets.scorer(name, recipe)
    score = scorer.score(spec, recalibrate=recalibrate)
    return {"val_top1": score.val_top1, "val_loss": score.val_loss, "wall_s": score.seconds,
            "train_wall_s": sum(row["seconds"] for row in run.history)}  # fmt: skip


def measure_arch(arch: dict, data, standalone, arms: dict, supernets: Supernets, cache, reused, args) -> dict:
    spec, key = arch["spec"], arch["hash"]
    h = sf.recipe_hash(standalone)
    runs = []
    for seed in range(args.seeds):
        run_key = f"{key}|{h}|{seed}"
        if run_key in reused and run_key not in cache.data["runs"]:
            cache.data["runs"][run_key] = reused[run_key]
        runs.append(cache.get(run_key, lambda seed=seed: sf.train_run(spec, data, standalone, seed)))
    scores = {}
    for name, recipe in arms.items():
        variants = [("", recipe, True)]
        if name == "main":  # scoring ablations: the same trained supernet
            variants += [(", no recalibration", recipe, False), (", fast scoring", fast_scoring(recipe), True)]
        for suffix, scoring, recalibrate in variants:
            run_key = (f"{key}|supernet-{scoring.recipe_hash()}-c{scoring.calibration_images}-"
                       f"v{scoring.train.val_images}-{int(recalibrate)}|{args.supernet_seed}")  # fmt: skip
            result = cache.get(run_key, lambda r=scoring, n=name + suffix, c=recalibrate:
                               supernet_run(supernets, n, r, spec, c))  # fmt: skip
            scores[f"supernet {name}{suffix}"] = (result["val_top1"], result["wall_s"])
    scores["MACs"] = (arch["macs"], 0.0)
    scores["params"] = (arch["params"], 0.0)
    return {"name": arch["name"], "hash": key, "macs": arch["macs"], "params": arch["params"],
            "display": arch["display"], "standalone": [r["val_top1"] for r in runs],
            "standalone_wall_s": [r["wall_s"] for r in runs], "scores": scores}  # fmt: skip


def summarize(rows: list[dict]) -> dict:
    reference = [statistics.mean(r["standalone"]) for r in rows]
    summary: dict = {"n_archs": len(rows), "scores": {}}
    if len(rows) >= 3 and len(rows[0]["standalone"]) >= 2:
        halves = ([r["standalone"][0] for r in rows], [r["standalone"][1] for r in rows])
        summary["split_half_tau"] = sf.kendall_tau(*halves)
        summary["split_half_tau_95"] = bootstrap(sf.kendall_tau, *halves)
    summary["standalone_wall_s_mean"] = statistics.mean(s for r in rows for s in r["standalone_wall_s"])
    for name in rows[0]["scores"]:
        values = [r["scores"][name][0] for r in rows]
        enough = len(rows) >= 3
        summary["scores"][name] = {
            "tau": sf.kendall_tau(values, reference) if enough else float("nan"),
            "tau_95": bootstrap(sf.kendall_tau, values, reference) if enough else (float("nan"),) * 2,
            "rho": spearman_rho(values, reference) if enough else float("nan"),
            "rho_95": bootstrap(spearman_rho, values, reference) if enough else (float("nan"),) * 2,
            "precision_top10": precision_at_top(values, reference),
            "wall_s_mean": statistics.mean(r["scores"][name][1] for r in rows),
        }
    return summary


def print_table(summary: dict, rows: list[dict], header: str) -> None:
    print("\n" + header)
    print(f"architectures finished: {summary['n_archs']}; stand-alone run {summary['standalone_wall_s_mean']:.1f} s "
          "on average")  # fmt: skip
    if "split_half_tau" in summary:
        low, high = summary["split_half_tau_95"]
        print(f"ceiling: split-half tau of the stand-alone runs (seed 0 vs 1) = {summary['split_half_tau']:.3f} "
              f"[{low:.2f}, {high:.2f}]")  # fmt: skip
    print(f"{'score':<42} {'tau':>6} {'95% bootstrap':>15} {'rho':>6} {'95% bootstrap':>15} {'P@10%':>6} "
          f"{'s/arch':>7}")  # fmt: skip
    for name, s in summary["scores"].items():
        print(f"{name:<42} {s['tau']:6.3f} {'[%.2f, %.2f]' % tuple(s['tau_95']):>15} {s['rho']:6.3f} "
              f"{'[%.2f, %.2f]' % tuple(s['rho_95']):>15} {s['precision_top10']:6.2f} {s['wall_s_mean']:7.2f}")
    main = [name for name in rows[0]["scores"] if name.startswith("supernet main")]
    print(f"\n{'arch':<16} {'MACs':>8} {'alone mean %':>12} {'seeds %':>14} " + " ".join(f"{m[9:]:>14}" for m in main))
    for r in rows:
        seeds = " / ".join(f"{100 * v:.1f}" for v in r["standalone"])
        cells = " ".join(f"{100 * r['scores'][m][0]:14.2f}" for m in main)
        print(f"{r['name']:<16} {r['macs'] / 1e6:7.1f}M {100 * statistics.mean(r['standalone']):12.2f} {seeds:>14} "
              f"{cells}")  # fmt: skip


def _reusable(path: Path) -> dict:
    """The stand-alone runs another benchmark's cache holds (read only)."""
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get("runs", {})


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import torch

    from nasgen.data import load_dataset
    from nasgen.space import load_space
    from nasgen.units import parse_macs

    torch.set_num_threads(args.threads)
    if args.seeds < 2:
        raise SystemExit("error: --seeds must be at least 2 (the split-half ceiling needs two)")
    n_archs = args.n_archs or (3 if args.quick else 30)
    out = args.out or RESULTS / ("supernet_fidelity_quick.json" if args.quick else "supernet_fidelity.json")
    standalone = standalone_recipe(args.quick)
    arms = arm_recipes(args.quick, [a for a in args.arms.split(",") if a])
    pool = min(args.pool, 300) if args.quick else args.pool
    archs, n_feasible = sf.stratified_archs(args.space, parse_macs(args.budget), n_archs, pool)
    order = list(range(len(archs)))
    random.Random(0).shuffle(order)  # an interrupted run still covers the whole MACs range
    data = load_dataset()
    cache = sf.Cache(out, report_only=args.report_only)
    reused = {} if args.quick else _reusable(args.standalone_cache)
    supernets = Supernets(load_space(args.space), data, args)
    if not args.report_only:
        cache.data["setup"] = {
            "quick": args.quick, "budget": args.budget, "pool": pool, "feasible": n_feasible,
            "seeds": args.seeds, "threads": args.threads, "standalone": standalone.model_dump(),
            "arms": {name: recipe.model_dump() for name, recipe in arms.items()}, "load_at_start": os.getloadavg(),
        }  # fmt: skip
    header = (f"{'quick' if args.quick else 'full'}: {len(archs)} archs ({n_archs} at MACs quantiles of {n_feasible} "
              f"feasible of {pool} <= {args.budget}, + B0); stand-alone {standalone.epochs} ep x "
              f"{standalone.images_per_epoch or 10_000} images, {args.seeds} seeds; arms {', '.join(arms)}; "
              f"{args.threads} threads")  # fmt: skip
    print(header, flush=True)
    start, rows = time.perf_counter(), []
    for n, index in enumerate(order):
        if args.max_minutes is not None and time.perf_counter() - start > 60 * args.max_minutes:
            print(f"stopping: --max-minutes {args.max_minutes} reached", flush=True)
            break
        try:
            row = measure_arch(archs[index], data, standalone, arms, supernets, cache, reused, args)
        except sf.NotCached:
            continue
        rows.append(row)
        main_score = row["scores"].get("supernet main", (float("nan"),))[0]
        print(f"  [{n + 1}/{len(archs)}] {row['name']:<16} {row['macs'] / 1e6:7.1f}M  alone "
              f"{' / '.join(f'{100 * v:.2f}' for v in row['standalone'])}  supernet {100 * main_score:.2f}  "
              f"load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    rows.sort(key=lambda r: r["macs"])
    summary = summarize(rows) if rows else {"n_archs": 0, "scores": {}}
    if not args.report_only:
        cache.data.update(archs=rows, summary=summary, load_at_end=os.getloadavg())
        cache.save()
    if rows:
        print_table(summary, rows, header)
    return {"archs": rows, "summary": summary}


if __name__ == "__main__":
    main()
