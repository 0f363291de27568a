"""Export of EfficientNet-B0 (224 px) in every format: file sizes and export time per format.

The B0 weights are seeded ones (BatchNorm statistics from one batch) written to a scratch training
directory first (``arch.yaml`` + ``weights.safetensors``), so the ``weights`` format is exported too.
Each repeat is a full ``nasgen.export`` into a fresh directory; the table gives each file's size in
bytes and the median wall seconds of its format (TorchScript and ONNX include their round-trip check
against eager eval on a ``(2, 3, 224, 224)`` input), plus the shared set-up (building the model and
loading its weights) and the process CPU seconds of a whole export divided by the torch threads (close
to the wall time of an idle machine when this one is shared).

Usage (from a source checkout without installing, prefix ``PYTHONPATH=.``):
    python benchmarks/export.py                      # 3 repeats, torch's default threads
    python benchmarks/export.py --repeats 5 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

import nasgen
from nasgen.nn import build_model
from nasgen.spec import load_spec, save_spec
from nasgen.units import format_bytes


def _training_dir(root: Path, seed: int) -> Path:
    """Seeded B0 weights whose BatchNorm statistics come from one training-mode batch, so that eval
    outputs are O(1) (an untrained net in eval mode shrinks them to ~1e-14) and the checks mean something."""
    spec = load_spec("efficientnet-b0")
    folder = root / "train"
    folder.mkdir()
    torch.manual_seed(seed)
    model = build_model(spec)
    for norm in model.modules():
        if isinstance(norm, torch.nn.BatchNorm2d):
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average: one batch gives its statistics exactly
    with torch.no_grad():
        model.train()(torch.randn(8, 3, 224, 224))
    save_spec(spec, folder / "arch.yaml")
    save_file(model.state_dict(), str(folder / "weights.safetensors"))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="full exports to take the median of")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="nasgen-bench-export-") as scratch:
        root = Path(scratch)
        source = _training_dir(root, seed=0)
        seconds: dict[str, list[float]] = {}
        setup, cpu = [], []
        for repeat in range(args.repeats):
            start = time.process_time()
            result = nasgen.export(source, root / f"out{repeat}")
            cpu.append((time.process_time() - start) / threads)
            setup.append(result.setup_seconds)
            for name, value in result.seconds.items():
                seconds.setdefault(name, []).append(value)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"EfficientNet-B0, 224 px, torch {torch.__version__}, {threads} threads, {args.repeats} repeats, "
        f"load average {load:.1f}"
    )
    print(f"{'format':<12} {'file':<20} {'bytes':>12} {'size':>10} {'median s':>9}")
    for name, file in result.files.items():
        print(
            f"{name:<12} {file.path.name:<20} {file.bytes:>12,} {format_bytes(file.bytes):>10} "
            f"{statistics.median(seconds[name]):>9.2f}"
        )
    print(f"{'set-up':<12} {'(build + weights)':<20} {'':>12} {'':>10} {statistics.median(setup):>9.2f}")
    total = sum(statistics.median(values) for values in seconds.values()) + statistics.median(setup)
    print(f"whole export: {total:.2f} s wall (median sum), {statistics.median(cpu):.2f} s CPU / thread")
    for name, check in result.checks.items():
        print(
            f"check {name}: max |diff| vs eager {check['max_abs_diff']:.2g} (largest logit "
            f"{check['max_abs_expected']:.3g}, relative {check['relative_diff']:.2g})"
        )


if __name__ == "__main__":
    main()
