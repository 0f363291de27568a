"""Search throughput and result quality under the default proxy (issue 3).

Runs ``nasgen.search`` on the embedded Fashion-MNIST subset with the default proxy (CPU or CUDA, chosen
automatically) and prints:

* trials per hour (all finished trials, and trained ones);
* the per-trial overhead outside training — sampling, analytic costing, building the model, storage —
  as a share of trial time (trial wall time minus the trainer's ``train_seconds``, which excludes building);
* the best proxy accuracy found within the budget, next to EfficientNet-B0's under the same proxy
  protocol (same recipe, seed, data and split) and its MACs.

Usage::

    python benchmarks/search_cpu.py                 # 400M budget, 10-minute search, then B0
    python benchmarks/search_cpu.py --quick         # 3 trials, 1 proxy epoch on 500 images (smoke test)
    python benchmarks/search_cpu.py --budget 300M --timeout 1200 --json out.json

Other processes on the machine slow training; the script prints the load average next to the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="400M", help="MACs budget (default 400M)")
    parser.add_argument("--n-trials", type=int, default=20, help="finished trials to reach (default 20)")
    parser.add_argument("--timeout", type=float, default=600.0, help="search time limit in s (default 600)")
    parser.add_argument("--seed", type=int, default=0, help="sampler and training seed")
    parser.add_argument("--quick", action="store_true", help="3 trials, 1 epoch of 500 images, 500 validation images")
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    return parser.parse_args()


def _trial_figures(study) -> dict[str, float]:
    from optuna.trial import TrialState

    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and t.datetime_complete]
    trained = [t for t in finished if t.user_attrs.get("feasible") and "reused_from" not in t.user_attrs]
    trained = [t for t in trained if "train_seconds" in t.user_attrs]
    wall = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trained]
    train = [t.user_attrs["train_seconds"] for t in trained]
    infeasible = [t for t in finished if t.user_attrs.get("feasible") is False]
    infeasible_wall = [(t.datetime_complete - t.datetime_start).total_seconds() for t in infeasible]
    return {
        "finished": len(finished),
        "trained": len(trained),
        "infeasible": len(infeasible),
        "mean_trial_s": sum(wall) / len(wall) if wall else float("nan"),
        "overhead_share": (sum(wall) - sum(train)) / sum(wall) if wall else float("nan"),
        "mean_overhead_s": (sum(wall) - sum(train)) / len(wall) if wall else float("nan"),
        "mean_infeasible_trial_s": sum(infeasible_wall) / len(infeasible_wall) if infeasible_wall else float("nan"),
    }


def main() -> None:
    args = _args()
    import nasgen
    from nasgen.cost import count_cost
    from nasgen.data import load_dataset
    from nasgen.train import default_proxy, evaluate_proxy
    from nasgen.units import parse_macs

    proxy = {"epochs": 1, "images_per_epoch": 500, "val_images": 500, "warmup_epochs": 0.3} if args.quick else {}
    n_trials = 3 if args.quick else args.n_trials
    out = args.out or Path(tempfile.mkdtemp(prefix="nasgen-bench-"))
    start = time.perf_counter()
    result = nasgen.run_search(args.budget, n_trials=n_trials, timeout=args.timeout, seed=args.seed, out=out, proxy=proxy)
    hours = (time.perf_counter() - start) / 3600
    figures = _trial_figures(result.study)

    data = load_dataset(None, seed=args.seed)
    b0 = nasgen.load_spec("efficientnet-b0").replace(num_classes=data.num_classes, in_channels=data.in_channels)
    config = default_proxy().replace(**proxy)
    b0_result = evaluate_proxy(b0, data, config, seed=args.seed)
    report = {
        "budget_macs": parse_macs(args.budget),
        "device": b0_result.device,
        "load_average_1min": os.getloadavg()[0],
        "search_hours": hours,
        "trials_per_hour": figures["finished"] / hours,
        "trained_trials_per_hour": figures["trained"] / hours,
        **figures,
        "best_val_top1": result.best_value,
        "best_macs": count_cost(result.best_spec).macs if result.best_spec is not None else None,
        "best_display": " ".join(result.best_spec.display()) if result.best_spec is not None else None,
        "b0_val_top1": b0_result.val_top1,
        "b0_macs": count_cost(b0).macs,
        "b0_train_seconds": b0_result.train_seconds,
        "out": str(out),
    }
    _print(report)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


def _print(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from nasgen.units import format_count

    table = Table(title=f"nasgen search benchmark ({report['device']}, load average {report['load_average_1min']:.1f})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("trials per hour (all finished)", f"{report['trials_per_hour']:.1f}"),
        ("trained trials per hour", f"{report['trained_trials_per_hour']:.1f}"),
        ("finished / trained / infeasible", f"{report['finished']} / {report['trained']} / {report['infeasible']}"),
        ("mean trained-trial wall time", f"{report['mean_trial_s']:.1f} s"),
        ("overhead outside training (share)", f"{100 * report['overhead_share']:.1f}%"),
        ("overhead outside training (per trial)", f"{report['mean_overhead_s']:.2f} s"),
        ("infeasible trial wall time", f"{report['mean_infeasible_trial_s']:.3f} s"),
        ("best found: val top-1", f"{100 * (report['best_val_top1'] or 0):.2f}%"),
        ("best found: MACs", format_count(report["best_macs"] or 0)),
        ("EfficientNet-B0: val top-1 (same proxy)", f"{100 * report['b0_val_top1']:.2f}%"),
        ("EfficientNet-B0: MACs", format_count(report["b0_macs"])),
        ("EfficientNet-B0: proxy train s", f"{report['b0_train_seconds']:.1f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)
    print(f"best architecture: {report['best_display']}")


if __name__ == "__main__":
    main()
