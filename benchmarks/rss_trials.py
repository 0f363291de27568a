"""Memory over a long search: the process's resident set size after each of 100 real trials (issue 18).

A real search (the efficientnet-v1 space, the embedded Fashion-MNIST subset, real proxy training) with the
proxy shortened so that 100 trials fit in minutes on 2 cores: 1 epoch of ``--images`` class-balanced training
images, ``--val-images`` validation images, the CPU proxy's 32 px (scaled per architecture). Everything else is
what ``nasgen search`` does in one process: sampling, costing, building, training, evaluating, recording in
``study.db``, progress lines. After each finished trial a callback reads the resident set size from
``/proc/self/statm`` (Linux) — no garbage collection forced, as a user's process would see it.

Prints RSS at trials 1, 5, 10, 25, 50, 75, 100 and the drift after warm-up: (RSS at the last trial − RSS at
trial ``--warmup``) / RSS at trial ``--warmup`` (target ≤ 5 %, issue 18), plus the largest RSS seen. The
per-trial figures are written to ``--json`` (default ``benchmarks/results/rss_trials.json``).

Not resumable on purpose: a resumed process starts with another heap, so its figures would not continue the
first one's. A run takes about 5–10 minutes on an idle 2-core CPU.

Usage (from a source checkout, prefix ``PYTHONPATH=.:plugins``):
    python benchmarks/rss_trials.py [--trials 100] [--warmup 10] [--images 256] [--val-images 200]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def rss_mb() -> float:
    """Resident set size of this process in MB (10⁶ bytes), from ``/proc/self/statm``."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10, help="trial after which the drift is measured")
    parser.add_argument("--images", type=int, default=256, help="training images per proxy epoch")
    parser.add_argument("--val-images", type=int, default=200)
    parser.add_argument("--budget", default="400M")
    parser.add_argument("--trim", action="store_true",
                        help="before each reading: gc.collect() and glibc malloc_trim(0) (the live set, not the heap)")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "rss_trials.json")
    args = parser.parse_args()

    import optuna
    import torch

    from nasgen.search import search
    from nasgen.train import CPU_PROXY

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    proxy = CPU_PROXY.model_copy(update={"epochs": 1, "images_per_epoch": args.images,
                                         "val_images": args.val_images})
    rows: list[dict[str, float]] = []
    start = time.perf_counter()

    def record(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if args.trim:
            import ctypes
            import gc

            gc.collect()
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        rows.append({"trial": len(rows) + 1, "number": trial.number, "state": trial.state.name,
                     "rss_mb": rss_mb(), "seconds": time.perf_counter() - start})

    before = rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        search(args.budget, data=None, n_trials=args.trials, timeout=None, seed=0, sampler="random",
               out=Path(tmp) / "run", proxy=proxy, callbacks=[record])
    evaluated = sum(r["state"] == "COMPLETE" for r in rows)
    print(f"{len(rows)} trials ({evaluated} trained, the rest infeasible or pruned) in {rows[-1]['seconds']:.0f} s; "
          f"torch {torch.__version__.split('+')[0]}, {torch.get_num_threads()} threads; "
          f"load {os.getloadavg()[0]:.2f} at the end")
    print(f"RSS before the search {before:.0f} MB")
    for k in (1, 5, 10, 25, 50, 75, 100):
        if k <= len(rows):
            print(f"  after trial {k:3d}: {rows[k - 1]['rss_mb']:7.1f} MB")
    warm, last = rows[min(args.warmup, len(rows)) - 1]["rss_mb"], rows[-1]["rss_mb"]
    peak = max(r["rss_mb"] for r in rows)
    drift = 100 * (last - warm) / warm
    print(f"drift after warm-up (trial {args.warmup} → {len(rows)}): {last - warm:+.1f} MB ({drift:+.1f} %); "
          f"largest {peak:.1f} MB; target ≤ 5 %: {'met' if drift <= 5 else 'NOT met'}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows, "before_mb": before, "drift_percent": drift,
                                     "load_end": os.getloadavg()[0]}, indent=1))


if __name__ == "__main__":
    main()
