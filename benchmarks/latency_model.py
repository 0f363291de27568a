"""Latency model validation (issue 16): predicted vs measured time on architectures of the built-in spaces.

For each space: ``--n`` architectures sampled (``space.sample(i)``, i = 0…n−1; 1 channel, 10 classes as the
embedded data) are predicted from the per-block lookup table (``nasgen.cost.predict_latency``) and measured end
to end (``measure_latency``), for inference at batch 1 and for a training step at the proxy's batch and
resolution. The table's calibration (factor and per-part time) is fitted first on 3 *other* samples
(i = 1000…1002) of each space, so the validation set never fits it. Parts and whole networks are each timed twice, apart in time, and the faster
time kept (a shared CPU stalls now and then for seconds: one stalled part timing once made a prediction 11×
too high). Prints per-architecture rows, the median and 90th-percentile absolute error, the
table's build time and the time of one prediction from a filled table.

    python benchmarks/latency_model.py [--spaces efficientnet-v1,efficientnet-v2] [--n 20] [--max-px 224]

Inference runs at min(the architecture's resolution, ``--max-px``) to bound the run on 2 cores; the training
step at the resolution the CPU proxy trains the architecture at. Results are cached per (space, sample, mode,
threads) in ``benchmarks/results/latency_model.json``: an interrupted run resumes. Timings are only evidence
on an otherwise idle machine; the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

CACHE = Path(__file__).parent / "results" / "latency_model.json"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default="efficientnet-v1,efficientnet-v2")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--max-px", type=int, default=224)
    parser.add_argument("--modes", default="infer,train")
    args = parser.parse_args()

    import torch

    from nasgen.cost import calibrate, predict_latency
    from nasgen.nn import latency_table, measure_latency
    from nasgen.space import load_space
    from nasgen.train import CPU_PROXY, proxy_resolution
    from nasgen.spec import total_stride

    threads = torch.get_num_threads()
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() else {}
    table = latency_table("cpu", folder=CACHE.parent / "latency_tables")
    key = table.key
    print(f"{key['device_name']}, {threads} threads, torch {key['torch']}; load {os.getloadavg()[0]:.2f}")
    for space_name in args.spaces.split(","):
        space = load_space(space_name)
        for mode in args.modes.split(","):
            batch = 1 if mode == "infer" else CPU_PROXY.batch_size

            def px(spec):
                if mode == "infer":
                    return min(spec.resolution_px, args.max_px)
                return proxy_resolution(spec.resolution_px, CPU_PROXY, total_stride(spec), data_px=28)

            def sample(i):
                return space.sample(i, num_classes=10, in_channels=1)

            start = time.perf_counter()
            before = table.measured
            if not table.calibrated(mode, batch):
                # one calibration per mode and batch (what a search uses), on 3 networks of each space, at the
                # resolution the validation runs at (px)
                calibration = [load_space(name).sample(1000 + k, num_classes=10, in_channels=1)
                               for name in args.spaces.split(",") for k in range(3)]
                calibrate(table, [spec.replace(resolution_px=px(spec)) for spec in calibration], mode=mode,
                          batch=batch)
            rows, errors = [], []
            specs = [sample(i) for i in range(args.n)]
            predictions = [predict_latency(spec, table, mode=mode, batch=batch, resolution_px=px(spec))
                           for spec in specs]
            for timing in ("first", "second"):  # two passes over the networks; each one's faster time is kept
                for i, spec in enumerate(specs):
                    entry = cache.setdefault(f"{space_name}/{i}/{mode}/{threads}", {})
                    if timing not in entry:
                        entry[timing] = {"ms": measure_latency(spec, mode=mode, batch=batch,
                                                               resolution_px=px(spec)),
                                         "load": os.getloadavg()[0]}
                        CACHE.parent.mkdir(parents=True, exist_ok=True)
                        CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True))
            for i, (spec, predicted) in enumerate(zip(specs, predictions, strict=True)):
                entry = cache[f"{space_name}/{i}/{mode}/{threads}"]
                measured = min(entry["first"]["ms"], entry["second"]["ms"])
                error = 100 * (predicted.total_ms - measured) / measured
                errors.append(abs(error))
                rows.append((i, px(spec), predicted.total_ms, measured, error))
                print(f"  {space_name} {mode} #{i:2d} {px(spec):4d}px  predicted {predicted.total_ms:9.2f} ms  "
                      f"measured {measured:9.2f} ms  {error:+6.1f} %", flush=True)
            build_s = time.perf_counter() - start
            spec = sample(0)
            t0 = time.perf_counter()
            for _ in range(100):
                predict_latency(spec, table, mode=mode, batch=batch, resolution_px=px(spec))
            predict_ms = 1000 * (time.perf_counter() - t0) / 100
            print(f"{space_name} {mode} (batch {batch}): median |error| {statistics.median(errors):.1f} %, "
                  f"90th percentile {_percentile(errors, 0.9):.1f} % over {len(errors)} archs; "
                  f"calibration x{table.factor(mode, batch):.2f} + {table.per_part_ms(mode, batch):.3f} ms a part; "
                  f"{table.measured - before} parts measured, "
                  f"{build_s:.0f} s for table + measurements; one prediction {predict_ms:.2f} ms; "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
