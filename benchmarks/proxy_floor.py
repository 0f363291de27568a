"""The proxy's resolution floor, by measurement: one small architecture (total stride 8) trained under the CPU
proxy recipe on the embedded Fashion-MNIST at several input sizes, 2 seeds each.

A space meant for small images scales its proxy resolution down from 224 px (48 px → 7 px); this prints how much
accuracy each size keeps, which is what ``PROXY_FLOOR_PX`` in ``nasgen/train/_proxy.py`` is chosen from.

    python benchmarks/proxy_floor.py [--sizes 8,12,16,20,28] [--seeds 0,1] [--epochs 3]

Results are cached in ``benchmarks/results/proxy_floor.json`` per (size, seed, epochs) so a run resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from nasgen.data import load_dataset
from nasgen.spec import spec_from_dict
from nasgen.data import split
from nasgen.nn import build_model
from nasgen.train import CPU_PROXY
from nasgen.train._proxy import zero_init_residual
from nasgen.train._trainer import train_model

ARCH = {
    "name": "floor-probe",
    "in_channels": 1,
    "resolution_px": 48,
    "stem": {"out_channels": 16, "kernel_size": 3, "stride": 2},
    "stages": [
        {"kind": "mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 16,
         "se_ratio": 0.25},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 4, "out_channels": 24,
         "se_ratio": 0.25},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 5, "stride": 2, "expand_ratio": 4, "out_channels": 40,
         "se_ratio": 0.25},
    ],
    "head_channels": 256,
    "num_classes": 10,
}
CACHE = Path(__file__).parent / "results" / "proxy_floor.json"


def _train_at(spec, data, config, px, seed):
    # evaluate_proxy would raise px to the floor under test, so the proxy's steps are taken here directly
    train, val = split(data, None, seed=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(spec.replace(resolution_px=max(px, 8), dropout=0.0, drop_path_rate=0.0))
    zero_init_residual(model)
    result = train_model(model, train, val, config, seed=seed, device="cpu")
    assert result.history[0]["resolution_px"] == px
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="8,12,16,20,28")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--epochs", type=int, default=CPU_PROXY.epochs)
    args = parser.parse_args()
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() else {}
    data = load_dataset(None)
    spec = spec_from_dict(ARCH)
    print(f"threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.2f}; {args.epochs} epochs, CPU_PROXY recipe")
    print(f"{'px':>4} {'seed':>4} {'val top-1':>9} {'wall s':>7}")
    for px in (int(v) for v in args.sizes.split(",")):
        scores = []
        for seed in (int(v) for v in args.seeds.split(",")):
            key = f"{px}/{seed}/{args.epochs}"
            if key not in cache:
                config = CPU_PROXY.replace(epochs=args.epochs, resolution_px=px, scale_resolution_from_px=None)
                start = time.perf_counter()
                result = _train_at(spec, data, config, px, seed)
                cache[key] = {"val_top1": result.val_top1, "seconds": time.perf_counter() - start,
                              "load": os.getloadavg()[0]}
                CACHE.parent.mkdir(parents=True, exist_ok=True)
                CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True))
            entry = cache[key]
            scores.append(entry["val_top1"])
            print(f"{px:>4} {seed:>4} {100 * entry['val_top1']:>8.2f}% {entry['seconds']:>7.1f}", flush=True)
        print(f"{px:>4} mean {100 * sum(scores) / len(scores):>8.2f}%", flush=True)


if __name__ == "__main__":
    main()
