"""Search quality (issue 27): do nasgen's samplers beat random sampling, by how much, after how many trials?

Every sampler runs through the public :func:`nasgen.search.search` (the objective, the budget check, the
recording of infeasible samples are what users get), ``--seeds`` seeds each, on one or more *arms* (an evaluator
on a space at a budget):

* ``closeness`` — stand-in: ``efficientnet-v1`` at 400M, the score is the share of the 41 dimensions equal to
  EfficientNet-B0's (1.0 exactly at B0, which is within the budget: the optimum is known);
* ``rugged`` — stand-in: ``efficientnet-v1`` at 400M, a weighted distance to a fixed random target architecture
  (within the budget), ordered dimensions penalized by how far they are, pairwise interactions between a stage's
  kernel, expansion and width, plus a deterministic hash noise smaller than the smallest penalty, so the target
  stays the unique optimum (known) while the landscape has plateaus and local optima;
* ``closeness-3`` — stand-in for CI (``--quick``): the share of three two-valued dimensions (stage 0's kernel,
  stage 1's SE ratio, the head width) equal to B0's: 1.0 on an eighth of the space, so 40 trials of any sampler
  reach it (the test checks the machinery finds and reports a known optimum, not a sampler's quality);
* ``zero-cost`` — ``zero-cost:synflow`` on the embedded data (seconds per trial on a CPU);
* ``proxy`` — the default proxy at a CI-sized recipe (2 epochs of 640 images at 28 px);
* ``supernet`` — the supernet evaluator (``--supernet-recipe``, default ``quick``): one supernet is trained once
  under ``--work`` and copied into every run directory, so each (sampler, seed) scores subnets of the same network.

Samplers: ``random``, ``tpe`` (nasgen's default: multivariate, grouped), ``tpe-independent`` (multivariate off),
``tpe-nogroup`` (multivariate, ``group`` off), ``tpe-liar`` (the default with ``constant_liar``, as workers run it),
``evolution`` (regularized evolution, P 50, S 25), ``nsga2`` (accuracy × MACs; its best is the best accuracy). TPE
variants are the search's own ``tpe`` factory swapped for the duration of one run (``sampler_override``).

Per arm and sampler (``summarize``): the best-so-far score at the trial checkpoints (mean ± sd over seeds) and at
equal wall time (the median wall time of the random runs, and its fractions); the relative improvement over random
(Yang et al., ICLR 2020, "NAS evaluation is frustratingly hard", §4.1: ``(best_method − mean best_random) /
mean best_random × 100``) with a 95 % percentile-bootstrap interval over the seeds of both; the regret against the
reference (the known optimum of a stand-in, else the best that any run or the random pool found); the share of
trials spent on infeasible samples.

``--arm infeasible`` measures the share of infeasible trials per sampler on both built-in spaces at 100M, 400M and
1G with the ``capacity`` stand-in (log MACs plus a small hash noise: bigger is better, as accuracy roughly is, so
samplers are drawn to the budget's edge), with and without ``--feasible-start`` (``search(feasible_start=...)``).

``--arm rediscover`` (issue 27 point 5) runs the supernet evaluator with ``--reward v2`` on ``efficientnet-v2`` and
``--reward mnasnet`` on ``efficientnet-v1`` and reports, per seed, the block kinds of the best architecture's
stages and its distance to EfficientNet-B0 dimension by dimension.

Each (arm, sampler, seed) is cached as one JSON file under ``--work`` once it finishes, so an interrupted run
resumes with the next missing one (the same command again only prints the tables).

Usage:
    python benchmarks/search_quality.py --quick                    # closeness-3, 4 samplers x 2 seeds x 40 trials
    python benchmarks/search_quality.py --arm closeness --arm rugged --trials 1000 --seeds 5
    python benchmarks/search_quality.py --arm infeasible --trials 200 --seeds 3
    python benchmarks/search_quality.py --arm supernet --trials 100 --seeds 2 --samplers random,tpe,evolution
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "search_quality"

SAMPLERS = ("random", "tpe", "evolution", "nsga2", "tpe-independent", "tpe-nogroup", "tpe-liar")
QUICK_SAMPLERS = ("random", "tpe", "evolution", "nsga2")
STANDIN_ARMS = ("closeness", "rugged", "closeness-3")
ARMS = (*STANDIN_ARMS, "zero-cost", "proxy", "supernet", "infeasible", "rediscover")
INFEASIBLE_SPACES = ("efficientnet-v1", "efficientnet-v2")
INFEASIBLE_BUDGETS = ("100M", "400M", "1G")
TINY_PROXY = {
    "scale_resolution_from_px": None, "resolution_px": 28, "images_per_epoch": 640, "batch_size": 32,
    "val_images": 500, "epochs": 2, "warmup_epochs": 0.3,
}
"""The proxy arm's CI-sized recipe: 2 epochs of 640 images at 28 px, batch 32 (tests/search's recipe)."""


# -- stand-in scorers ----------------------------------------------------------------------------------------------
def _hash_unit(text: str) -> float:
    """A deterministic number in [0, 1) from ``text`` (SHA-256)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def closeness_scorer(space: Any, target: Any) -> Callable[[Any], float]:
    """Share of the space's dimensions on which an architecture equals ``target`` (1.0 exactly at ``target``).

    A dimension active in one of the two only (a stage present in one) counts as different.
    """
    wanted = space.params_of(target)
    labels = set(space.all_dimensions()) & (set(space.dimensions()) | set(wanted))
    n = len(space.dimensions())

    def score(spec: Any) -> float:
        params = space.params_of(spec)
        off = sum(params.get(label) != wanted.get(label) for label in set(params) | set(wanted) if label in labels)
        return 1.0 - off / n

    return score


def rugged_scorer(space: Any, target: Any, seed: int = 27) -> Callable[[Any], float]:
    """A rugged stand-in whose unique optimum is ``target`` (see the module docstring).

    Penalty of a dimension that differs: ``w · (0.5 + 0.5 · d)``, with ``w`` in [0.5, 2] (seeded per label) and
    ``d`` the distance of the two values in the dimension's order (0…1; 1 for unordered ones or a dimension active
    in one architecture only); each stage adds ``0.5`` when its kernel and expansion both differ and another ``0.5``
    when its width and layers both differ (epistasis). The score is ``1 − penalty / max_penalty + noise`` with a
    hash noise in ``[0, 0.2 · min_penalty / max_penalty)``: any architecture but ``target`` scores below
    ``1 + noise(target)``, the optimum, which :func:`known_optimum` returns.
    """
    rng = random.Random(seed)
    dims = space.dimensions()
    weights = {label: rng.uniform(0.5, 2.0) for label in sorted(dims)}
    wanted = space.params_of(target)
    order = {label: list(dim.values()) if hasattr(dim, "values") else None for label, dim in dims.items()}
    pairs = []
    for label in dims:
        if label.endswith(".kernel_size"):
            stage = label.rsplit(".", 1)[0]
            pairs.append((f"{stage}.kernel_size", f"{stage}.expand_ratio"))
            pairs.append((f"{stage}.out_channels", f"{stage}.num_layers"))
    max_penalty = sum(weights.values()) + 0.5 * len(pairs)
    amplitude = 0.2 * (0.5 * min(weights.values())) / max_penalty

    def distance(label: str, a: Any, b: Any) -> float:
        values = order.get(label)
        if a == b:
            return 0.0
        if a is None or b is None or not values or len(values) < 2:
            return 1.0
        numeric = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        if not numeric or a not in values or b not in values:
            return 1.0
        return abs(values.index(a) - values.index(b)) / (len(values) - 1)

    def score(spec: Any) -> float:
        params = space.params_of(spec)
        penalty = 0.0
        for label, w in weights.items():
            a, b = params.get(label), wanted.get(label)
            if a != b:
                penalty += w * (0.5 + 0.5 * distance(label, a, b))
        for x, y in pairs:
            if params.get(x) != wanted.get(x) and params.get(y) != wanted.get(y):
                penalty += 0.5
        return 1.0 - penalty / max_penalty + amplitude * _hash_unit(spec.content_hash())

    score.optimum = 1.0 + amplitude * _hash_unit(target.content_hash())  # type: ignore[attr-defined]
    return score


def capacity_scorer(space: Any) -> Callable[[Any], float]:
    """Bigger is better: ``log10(MACs)`` plus a hash noise in [0, 0.01) (the infeasible arm's stand-in)."""
    from nasgen.cost import count_cost

    def score(spec: Any) -> float:
        return math.log10(max(count_cost(spec).macs, 1)) + 0.01 * _hash_unit(spec.content_hash())

    return score


def rugged_target(space: Any, budget: int, seed: int = 27) -> Any:
    """A fixed random architecture of ``space`` within ``budget`` MACs (the rugged scorer's optimum)."""
    from nasgen.cost import count_cost

    for k in range(10_000):
        spec = space.sample(seed * 100_000 + k)
        if count_cost(spec).macs <= budget and count_cost(spec).macs >= budget // 4:
            return spec
    raise RuntimeError(f"no architecture within {budget} MACs among 10,000 samples")


def standin(arm: str) -> dict[str, Any]:
    """The stand-in arm ``arm``: its space, budget, scorer and known optimum (value and architecture hash)."""
    from nasgen.cost import count_cost
    from nasgen.space import load_space
    from nasgen.spec import load_spec
    from nasgen.units import parse_macs

    space = load_space("efficientnet-v1")
    budget = "400M"
    if arm == "closeness-3":
        target = load_spec("efficientnet-b0")
        wanted = space.params_of(target)
        labels = ("stages.0.kernel_size", "stages.1.se_ratio", "head_channels")

        def scorer(spec: Any) -> float:
            params = space.params_of(spec)
            return sum(params.get(label) == wanted[label] for label in labels) / len(labels)

        optimum = 1.0
    elif arm == "closeness":
        target = load_spec("efficientnet-b0")
        scorer, optimum = closeness_scorer(space, target), 1.0
    elif arm == "rugged":
        target = rugged_target(space, parse_macs(budget))
        scorer = rugged_scorer(space, target)
        optimum = scorer.optimum  # type: ignore[attr-defined]
    else:
        raise ValueError(f"not a stand-in arm: {arm!r}")
    assert count_cost(target).macs <= parse_macs(budget)
    assert math.isclose(scorer(target), optimum)
    return {"space": space, "space_name": "efficientnet-v1", "budget": budget, "scorer": scorer,
            "optimum": optimum, "optimum_hash": target.content_hash(), "evaluator": "stand-in:" + arm}


# -- sampler variants ----------------------------------------------------------------------------------------------
def _tpe_variant(name: str) -> Callable[[int, bool], Any] | None:
    import warnings

    import optuna

    kwargs = {"tpe": None, "tpe-independent": {"multivariate": False},
              "tpe-nogroup": {"multivariate": True, "group": False},
              "tpe-liar": {"multivariate": True, "group": True, "constant_liar": True}}[name]
    if kwargs is None:
        return None

    def factory(seed: int, parallel: bool) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, **kwargs)

    return factory


@contextlib.contextmanager
def sampler_override(name: str) -> Iterator[str]:
    """The name ``search(sampler=...)`` takes for ``name``; a TPE variant swaps the ``tpe`` factory meanwhile."""
    from nasgen.search.samplers import _factory

    if not name.startswith("tpe"):
        yield name
        return
    factory = _tpe_variant(name)
    saved = _factory._SAMPLER_FACTORIES["tpe"]
    if factory is not None:
        _factory._SAMPLER_FACTORIES["tpe"] = factory
    try:
        yield "tpe"
    finally:
        _factory._SAMPLER_FACTORIES["tpe"] = saved


# -- one run -------------------------------------------------------------------------------------------------------
def run_one(*, space: Any, budget: str, sampler: str, seed: int, n_trials: int, scorer: Callable | None = None,
            evaluator: str | None = None, proxy: Any = None, out: Path | None = None, reward: str = "accuracy",
            supernet_dir: Path | None = None, supernet_recipe: str | None = None,
            feasible_start: bool | None = None) -> dict[str, Any]:
    """One search of ``n_trials`` through :func:`nasgen.search.search`; every trial's value, feasibility and time.

    Returns:
        ``{"values": [float | None], "infeasible": [bool], "seconds": [float], "best_hash", "best_value",
        "best_params", "setup_s", "total_s"}``: ``values[i]`` is trial i's score (None when infeasible or
        failed; for NSGA-II the accuracy), ``seconds[i]`` the wall time from the call to the end of trial i.
    """
    import optuna

    from nasgen.search import search

    times: list[float] = []
    start = time.perf_counter()

    def on_trial(study: Any, trial: Any) -> None:
        times.append(time.perf_counter() - start)

    kwargs: dict[str, Any] = {}
    if scorer is not None:
        kwargs["objective"] = scorer
    if evaluator is not None:
        kwargs["evaluator"] = evaluator
    if proxy is not None:
        kwargs["proxy"] = proxy
    if supernet_recipe is not None:
        kwargs["supernet_recipe"] = supernet_recipe
    if reward != "accuracy":
        kwargs["reward"] = reward
    if feasible_start is not None:
        kwargs["feasible_start"] = feasible_start
    with contextlib.ExitStack() as stack:
        if out is None:
            out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nasgen-sq-")))
        if supernet_dir is not None and not (out / "supernet").exists():
            shutil.copytree(supernet_dir, out / "supernet")
        name = stack.enter_context(sampler_override(sampler))
        result = search(budget, space=space, sampler=name, n_trials=n_trials, seed=seed, timeout=None,
                        pruner="none", storage=optuna.storages.InMemoryStorage(), study_name=f"{sampler}-{seed}",
                        out=out, callbacks=[on_trial], **kwargs)  # fmt: skip
        values, infeasible = [], []
        for trial in sorted(result.study.trials, key=lambda t: t.number):
            over = any(v > 0 for v in (trial.constraints or {}).values())
            infeasible.append(bool(over))
            value = None
            if not over and trial.state == optuna.trial.TrialState.COMPLETE:
                value = trial.values[0] if trial.values else None
                if value is not None and not math.isfinite(value):
                    value = None
            values.append(value)
        best = result.best_spec
        from nasgen.runs import Run, baseline_key

        key = baseline_key(Run(result.study).meta)
        total = time.perf_counter() - start
    setup = total - (times[-1] - times[0]) if times else total
    return {
        "values": values, "infeasible": infeasible, "seconds": times[: len(values)],
        "best_value": result.best_value, "best_hash": None if best is None else best.content_hash(),
        "best_params": None if best is None else space.params_of(best), "setup_s": setup, "total_s": total,
        "best_kinds": None if best is None else [getattr(s, "kind", None) for s in best.stages], "key": key,
    }


# -- statistics ----------------------------------------------------------------------------------------------------
def best_so_far(values: list[float | None]) -> list[float | None]:
    """Running maximum of the feasible values (None until the first one)."""
    out: list[float | None] = []
    best: float | None = None
    for v in values:
        if v is not None and (best is None or v > best):
            best = v
        out.append(best)
    return out


def best_at(run: dict[str, Any], n: int) -> float | None:
    """Best feasible value among the first ``n`` trials of ``run``."""
    curve = best_so_far(run["values"][:n])
    return curve[-1] if curve else None


def best_by_time(run: dict[str, Any], seconds: float) -> float | None:
    """Best feasible value among the trials finished within ``seconds`` of the call."""
    kept = [v for v, t in zip(run["values"], run["seconds"], strict=False) if t <= seconds]
    return best_at({"values": kept}, len(kept)) if kept else None


def relative_improvement(method: list[float], baseline: list[float], *, n_resamples: int = 2000,
                         seed: int = 0) -> tuple[float, float, float]:
    """Yang et al. (ICLR 2020, §4.1): ``(mean(method) − mean(baseline)) / mean(baseline) × 100`` (percent), with a
    95 % percentile-bootstrap interval resampling the seeds of both groups independently (seeded)."""
    def ri(m: list[float], b: list[float]) -> float:
        mb = statistics.mean(b)
        return (statistics.mean(m) - mb) / abs(mb) * 100.0

    rng = random.Random(seed)
    draws = sorted(ri([rng.choice(method) for _ in method], [rng.choice(baseline) for _ in baseline])
                   for _ in range(n_resamples))  # fmt: skip
    return ri(method, baseline), draws[int(0.025 * n_resamples)], draws[int(0.975 * n_resamples) - 1]


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(runs: dict[str, dict[int, dict[str, Any]]], checkpoints: list[int], reference: float,
              optimum_hash: str | None = None) -> dict[str, Any]:
    """Per sampler: best at the checkpoints and at equal time, RI over random, regret, infeasible share."""
    random_runs = list(runs.get("random", {}).values())
    t_equal = statistics.median(r["seconds"][-1] for r in random_runs) if random_runs else None
    rows: dict[str, Any] = {}
    for sampler, by_seed in runs.items():
        seeds = sorted(by_seed)
        row: dict[str, Any] = {"seeds": seeds, "trials": {}, "time": {}}
        for n in checkpoints:
            bests = [best_at(by_seed[s], n) for s in seeds if len(by_seed[s]["values"]) >= n]
            bests = [b for b in bests if b is not None]
            if not bests:
                continue
            cell: dict[str, Any] = {"n": len(bests), "mean": _mean_sd(bests)[0], "sd": _mean_sd(bests)[1],
                                    "regret": reference - statistics.mean(bests)}  # fmt: skip
            base = [best_at(r, n) for r in random_runs if len(r["values"]) >= n]
            base = [b for b in base if b is not None]
            if len(base) >= 2 and len(bests) >= 2:
                cell["ri"], cell["ri_low"], cell["ri_high"] = relative_improvement(bests, base)
            if optimum_hash is not None:
                cell["found_optimum"] = sum(_found(by_seed[s], n, reference) for s in seeds)
            row["trials"][str(n)] = cell
        if t_equal is not None:
            for frac in (0.25, 1.0):
                t = t_equal * frac
                bests = [b for b in (best_by_time(by_seed[s], t) for s in seeds) if b is not None]
                base = [b for b in (best_by_time(r, t) for r in random_runs) if b is not None]
                if not bests:
                    continue
                cell = {"seconds": t, "mean": _mean_sd(bests)[0], "sd": _mean_sd(bests)[1],
                        "trials_done": statistics.mean(sum(x <= t for x in by_seed[s]["seconds"]) for s in seeds)}
                if len(base) >= 2 and len(bests) >= 2:
                    cell["ri"], cell["ri_low"], cell["ri_high"] = relative_improvement(bests, base)
                row["time"][f"{frac:g}"] = cell
        shares = [sum(by_seed[s]["infeasible"]) / len(by_seed[s]["infeasible"]) for s in seeds]
        row["infeasible_share"] = _mean_sd(shares)
        row["seconds_per_run"] = _mean_sd([by_seed[s]["total_s"] for s in seeds])
        rows[sampler] = row
    return {"reference": reference, "equal_time_s": t_equal, "samplers": rows}


def _found(run: dict[str, Any], n: int, optimum: float) -> bool:
    best = best_at(run, n)
    return best is not None and math.isclose(best, optimum, rel_tol=0, abs_tol=1e-12)


def curve(runs: dict[int, dict[str, Any]], grid: list[int]) -> dict[str, list[float | None]]:
    """Mean, min and max over seeds of the best-so-far at each trial count of ``grid`` (the seeds' spread)."""
    mean, low, high = [], [], []
    for n in grid:
        vals = [b for b in (best_at(r, n) for r in runs.values() if len(r["values"]) >= n) if b is not None]
        mean.append(statistics.mean(vals) if vals else None)
        low.append(min(vals) if vals else None)
        high.append(max(vals) if vals else None)
    return {"trials": grid, "mean": mean, "min": low, "max": high}


# -- the cache -----------------------------------------------------------------------------------------------------
def cell_path(work: Path, arm: str, sampler: str, seed: int, n_trials: int) -> Path:
    return work / arm / f"{sampler}-seed{seed}-n{n_trials}.json"


def cached(path: Path, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``path``'s JSON, or ``compute()`` written there atomically (one cell per file: a killed run resumes)."""
    if path.exists():
        return json.loads(path.read_text())
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)
    return result


def random_pool(arm: dict[str, Any], n: int, seed: int = 0) -> dict[str, Any]:
    """The best of ``n`` random architectures within the budget, scored directly (no study)."""
    from nasgen.cost import count_cost
    from nasgen.units import parse_macs

    budget = parse_macs(arm["budget"])
    best, feasible = None, 0
    for k in range(n):
        spec = arm["space"].sample(10_000_000 + seed * n + k)
        if count_cost(spec).macs > budget:
            continue
        feasible += 1
        value = arm["scorer"](spec)
        best = value if best is None else max(best, value)
    return {"n": n, "feasible": feasible, "best": best}


# -- arms ----------------------------------------------------------------------------------------------------------
def quality_arm(arm_name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    samplers = args.samplers
    n_trials = args.trials
    supernet_dir = None
    if arm_name in STANDIN_ARMS:
        arm = standin(arm_name)
        common = {"space": arm["space"], "budget": arm["budget"], "scorer": arm["scorer"]}
    else:
        from nasgen.space import load_space

        space = load_space("efficientnet-v1")
        arm = {"space": space, "space_name": "efficientnet-v1", "budget": args.budget, "optimum": None,
               "optimum_hash": None}  # fmt: skip
        if arm_name == "zero-cost":
            arm["evaluator"] = "zero-cost:synflow"
            common = {"space": space, "budget": args.budget, "evaluator": "zero-cost:synflow"}
        elif arm_name == "proxy":
            arm["evaluator"] = "proxy"
            common = {"space": space, "budget": args.budget, "evaluator": "proxy", "proxy": TINY_PROXY}
        else:
            arm["evaluator"] = f"supernet:{args.supernet_recipe}"
            supernet_dir = train_shared_supernet_for(work, space, "efficientnet-v1", args.supernet_recipe, args.budget)
            common = {"space": space, "budget": args.budget, "evaluator": "supernet",
                      "supernet_recipe": args.supernet_recipe, "supernet_dir": supernet_dir}  # fmt: skip
    runs: dict[str, dict[int, dict[str, Any]]] = {}
    for sampler in samplers:
        for seed in range(args.seeds):
            path = cell_path(work, arm_name, sampler, seed, n_trials)
            done = path.exists()
            t0 = time.perf_counter()
            run = cached(path, lambda s=sampler, sd=seed: run_one(sampler=s, seed=sd, n_trials=n_trials, **common))
            runs.setdefault(sampler, {})[seed] = run
            if not done:
                print(f"  {arm_name} {sampler} seed {seed}: best {best_at(run, n_trials)} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
    write_random_baseline(work / arm_name, runs.get("random", {}))
    pool = None
    if arm_name in STANDIN_ARMS:
        pool = cached(work / arm_name / f"pool-{args.pool}.json", lambda: random_pool(arm, args.pool))
    found = [v for by_seed in runs.values() for r in by_seed.values() for v in r["values"] if v is not None]
    candidates = [x for x in (arm.get("optimum"), pool and pool["best"], max(found, default=None)) if x is not None]
    reference = max(candidates)
    checkpoints = sorted({n for n in (10, 30, 100, 300, 1000, n_trials) if n <= n_trials})
    summary = summarize(runs, checkpoints, reference, arm.get("optimum_hash"))
    grid = sorted({*range(1, n_trials + 1, max(1, n_trials // 50)), n_trials})
    summary["curves"] = {s: curve(by_seed, grid) for s, by_seed in runs.items()}
    summary.update({"arm": arm_name, "space": arm["space_name"], "budget": arm["budget"],
                    "evaluator": arm["evaluator"], "optimum": arm.get("optimum"), "pool": pool,
                    "n_trials": n_trials, "checkpoints": checkpoints})  # fmt: skip
    return summary


def write_random_baseline(folder: Path, random_runs: dict[int, dict[str, Any]]) -> Path | None:
    """The random runs as a stored baseline (``nasgen.runs.write_baseline``): copied into a run directory of the
    same space, budget and evaluator, ``nasgen report`` draws its band. None when the runs carry no key."""
    from nasgen.runs import write_baseline

    keyed = [(seed, r) for seed, r in sorted(random_runs.items()) if r.get("key")]
    if not keyed:
        return None
    return write_baseline(folder / "baseline-random.json", sampler="random", key=keyed[0][1]["key"],
                          runs=[{"seed": seed, "best": best_so_far(r["values"])} for seed, r in keyed])  # fmt: skip


def infeasible_arm(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The infeasible share per sampler, space and budget, without and with the feasible start."""
    from nasgen.space import load_space

    table: dict[str, Any] = {}
    modes = ("before", "after") if args.feasible_start in ("both", "after") else ("before",)
    if args.feasible_start == "after":
        modes = ("after",)
    for space_name in INFEASIBLE_SPACES:
        space = load_space(space_name)
        scorer = capacity_scorer(space)
        for budget in INFEASIBLE_BUDGETS:
            for mode in modes:
                for sampler in args.samplers:
                    shares, bests = [], []
                    for seed in range(args.seeds):
                        key = f"{space_name}-{budget}-{mode}"
                        path = cell_path(work, f"infeasible/{key}", sampler, seed, args.trials)
                        done = path.exists()

                        def compute(s=sampler, sd=seed, m=mode, b=budget, sp=space) -> dict[str, Any]:
                            try:
                                return run_one(space=sp, budget=b, sampler=s, seed=sd, n_trials=args.trials,
                                               scorer=scorer, feasible_start=True if m == "after" else None)  # fmt: skip
                            except Exception as exc:  # e.g. a budget below the space's smallest architecture
                                return {"error": f"{type(exc).__name__}: {exc}"}

                        run = cached(path, compute)
                        if "error" in run:
                            table.setdefault(space_name, {}).setdefault(budget, {}).setdefault(mode, {})[sampler] = {
                                "error": run["error"]}
                            break
                        shares.append(sum(run["infeasible"]) / len(run["infeasible"]))
                        bests.append(best_at(run, args.trials))
                        if not done:
                            print(f"  infeasible {key} {sampler} seed {seed}: {shares[-1]:.0%}", flush=True)
                    if shares:
                        table.setdefault(space_name, {}).setdefault(budget, {}).setdefault(mode, {})[sampler] = {
                            "share": _mean_sd(shares), "seeds": len(shares), "best": bests}
    return {"arm": "infeasible", "n_trials": args.trials, "table": table}


def rediscover_arm(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Supernet + ``v2`` reward on efficientnet-v2 (Fused-MBConv early?), ``mnasnet`` on v1 (distance to B0)."""
    from nasgen.space import load_space
    from nasgen.spec import load_spec

    out: dict[str, Any] = {"arm": "rediscover", "n_trials": args.trials, "cases": {}}
    for space_name, reward in (("efficientnet-v2", "v2"), ("efficientnet-v1", "mnasnet")):
        space = load_space(space_name)
        supernet = train_shared_supernet_for(work, space, space_name, args.supernet_recipe, args.budget)
        case: dict[str, Any] = {"space": space_name, "reward": reward, "budget": args.budget, "seeds": {}}
        for sampler in args.samplers:
            for seed in range(args.seeds):
                path = cell_path(work, f"rediscover/{space_name}-{reward}", sampler, seed, args.trials)
                run = cached(path, lambda s=sampler, sd=seed, sp=space, net=supernet, rw=reward: run_one(
                    space=sp, budget=args.budget, sampler=s, seed=sd, n_trials=args.trials,
                    evaluator="supernet", supernet_recipe=args.supernet_recipe, supernet_dir=net, reward=rw))
                entry: dict[str, Any] = {"best_value": run["best_value"], "kinds": run["best_kinds"]}
                if space_name == "efficientnet-v2" and run["best_kinds"]:
                    entry["fused_early_mbconv_after"] = fused_then_mbconv(run["best_kinds"])
                if space_name == "efficientnet-v1" and run["best_params"]:
                    b0 = space.params_of(load_spec("efficientnet-b0"))
                    best = run["best_params"]
                    entry["dims_off_b0"] = sorted(label for label in set(best) | set(b0)
                                                  if best.get(label) != b0.get(label))  # fmt: skip
                case["seeds"][f"{sampler}-{seed}"] = entry
        out["cases"][f"{space_name}-{reward}"] = case
    return out


def fused_then_mbconv(kinds: list[str | None]) -> bool:
    """The V2-S pattern: one or more Fused-MBConv stages first, then only MBConv stages (at least one of each)."""
    k = [x for x in kinds if x is not None]
    n_fused = next((i for i, x in enumerate(k) if x != "fused_mbconv"), len(k))
    return 0 < n_fused < len(k) and all(x == "mbconv" for x in k[n_fused:])


def train_shared_supernet_for(work: Path, space: Any, name: str, recipe: str, budget: str) -> Path:
    """Train (once; a killed training resumes) the supernet every run of the space copies:
    ``<work>/supernet-<space>-<recipe>/supernet`` (one trial of a search, which trains it first)."""
    import optuna

    from nasgen.search import search

    run_dir = work / f"supernet-{name}-{recipe}"
    if not (run_dir / "supernet" / "supernet.safetensors").exists():
        print(f"training the shared supernet of {name} ({recipe}) …", flush=True)
        search(budget, space=space, evaluator="supernet", supernet_recipe=recipe, n_trials=1, timeout=None,
               storage=optuna.storages.InMemoryStorage(), out=run_dir, pruner="none")  # fmt: skip
    return run_dir / "supernet"


# -- printing ------------------------------------------------------------------------------------------------------
def _fmt(cell: dict[str, Any] | None, key: str = "mean") -> str:
    if not cell:
        return "—"
    return f"{cell[key]:.4f} ± {cell['sd']:.4f}"


def _fmt_ri(cell: dict[str, Any] | None) -> str:
    if not cell or "ri" not in cell:
        return "—"
    return f"{cell['ri']:+.1f} % [{cell['ri_low']:+.1f}, {cell['ri_high']:+.1f}]"


def markdown_quality(summary: dict[str, Any]) -> str:
    cps = [str(n) for n in summary["checkpoints"] if n in (100, 300, 1000) or n == summary["n_trials"]]
    cps = list(dict.fromkeys(cps))
    head = (f"### {summary['arm']}: {summary['space']} at {summary['budget']}, {summary['evaluator']} "
            f"({summary['n_trials']} trials; reference {summary['reference']:.4f}"
            + (f", known optimum {summary['optimum']:.4f}" if summary.get("optimum") is not None else "")
            + (f"; random pool of {summary['pool']['n']}: best {summary['pool']['best']:.4f}"
               if summary.get("pool") else "") + ")\n\n")  # fmt: skip
    cols = [f"best @ {n}" for n in cps] + [f"RI vs random @ {n} (95 %)" for n in cps] + [f"regret @ {cps[-1]}"]
    if summary.get("optimum") is not None:
        cols.append(f"seeds at optimum @ {cps[-1]}")
    t = summary.get("equal_time_s")
    if t:
        cols += [f"best @ {t:.0f} s (equal time: random's median)", "RI @ equal time", "trials @ equal time"]
    cols += ["infeasible share", "s / run"]
    lines = ["| sampler | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for sampler, row in summary["samplers"].items():
        cells = [_fmt(row["trials"].get(n)) for n in cps]
        last = row["trials"].get(cps[-1])
        cells += [_fmt_ri(row["trials"].get(n)) for n in cps]
        cells.append("—" if not last else f"{last['regret']:.4f}")
        if summary.get("optimum") is not None:
            cells.append("—" if not last else f"{last.get('found_optimum', 0)}/{len(row['seeds'])}")
        if t:
            eq = row["time"].get("1")
            cells += [_fmt(eq), _fmt_ri(eq), "—" if not eq else f"{eq['trials_done']:.0f}"]
        share = row["infeasible_share"]
        cells += [f"{share[0]:.1%} ± {share[1]:.1%}", f"{row['seconds_per_run'][0]:.0f}"]
        lines.append(f"| {sampler} ({len(row['seeds'])} seeds) | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def markdown_infeasible(result: dict[str, Any]) -> str:
    lines = [f"### Infeasible share ({result['n_trials']} trials; capacity stand-in; mean ± sd over seeds)\n",
             "| space | budget | mode | " + " | ".join(_infeasible_samplers(result)) + " |",
             "|---|---|---|" + "---|" * len(_infeasible_samplers(result))]
    for space, by_budget in result["table"].items():
        for budget, by_mode in by_budget.items():
            for mode, by_sampler in by_mode.items():
                cells = []
                for s in _infeasible_samplers(result):
                    c = by_sampler.get(s)
                    if c is None:
                        cells.append("—")
                    elif "error" in c:
                        cells.append("refused: " + c["error"].split(":", 1)[-1].strip()[:60])
                    else:
                        cells.append(f"{c['share'][0]:.1%} ± {c['share'][1]:.1%}")
                lines.append(f"| {space} | {budget} | {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _infeasible_samplers(result: dict[str, Any]) -> list[str]:
    names: dict[str, None] = {}
    for by_budget in result["table"].values():
        for by_mode in by_budget.values():
            for by_sampler in by_mode.values():
                names.update(dict.fromkeys(by_sampler))
    return list(names)


def markdown_rediscover(result: dict[str, Any]) -> str:
    lines = [f"### Rediscovery ({result['n_trials']} trials per seed; supernet)\n"]
    for key, case in result["cases"].items():
        lines.append(f"**{key}** at {case['budget']}:\n")
        for seed, e in case["seeds"].items():
            extra = ""
            if "fused_early_mbconv_after" in e:
                extra = f"Fused early, MBConv after: {e['fused_early_mbconv_after']}; kinds {e['kinds']}"
            if "dims_off_b0" in e:
                extra = f"{len(e['dims_off_b0'])} dimensions off B0: {', '.join(e['dims_off_b0'])}"
            lines.append(f"- {seed}: reward {e['best_value']}; {extra}")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arm", action="append", choices=ARMS, help="arms to run (repeatable; default closeness, closeness-3 with --quick)")
    parser.add_argument("--samplers", default=None, help=f"comma-separated, of {', '.join(SAMPLERS)}")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--budget", default="400M", help="MACs budget of the zero-cost/proxy/supernet arms")
    parser.add_argument("--pool", type=int, default=None, help="random pool size of the stand-in arms")
    parser.add_argument("--supernet-recipe", default="quick", choices=("quick", "cpu", "gpu"))
    parser.add_argument("--feasible-start", default="both", choices=("before", "after", "both"),
                        help="infeasible arm: without the feasible start, with it, or both")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--quick", action="store_true", help="closeness-3, random/tpe/evolution/nsga2, 2 seeds, 40 trials")
    parser.add_argument("--work", type=Path, default=RESULTS, help="cache folder (one JSON per arm/sampler/seed)")
    args = parser.parse_args(argv)
    args.arm = args.arm or (["closeness-3"] if args.quick else ["closeness"])
    args.samplers = (args.samplers.split(",") if args.samplers else
                     list(QUICK_SAMPLERS if args.quick else SAMPLERS))  # fmt: skip
    unknown = [s for s in args.samplers if s not in SAMPLERS]
    if unknown:
        parser.error(f"--samplers: unknown {', '.join(unknown)} (known: {', '.join(SAMPLERS)})")
    args.seeds = args.seeds or (2 if args.quick else 5)
    args.trials = args.trials or (40 if args.quick else 1000)
    args.pool = args.pool or (200 if args.quick else 20000)
    import torch

    torch.set_num_threads(args.threads)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"threads": args.threads, "load": os.getloadavg(), "arms": {}}
    text = []
    for arm in args.arm:
        if arm == "infeasible":
            res = infeasible_arm(args, work)
            text.append(markdown_infeasible(res))
        elif arm == "rediscover":
            res = rediscover_arm(args, work)
            text.append(markdown_rediscover(res))
        else:
            res = quality_arm(arm, args, work)
            text.append(markdown_quality(res))
        results["arms"][arm] = res
    report = "\n".join(text)
    print(report)
    stem = "quick" if args.quick else "-".join(args.arm)
    (work / f"summary-{stem}.json").write_text(json.dumps(results, indent=1))
    (work / f"summary-{stem}.md").write_text(report)
    return results


if __name__ == "__main__":
    main()
