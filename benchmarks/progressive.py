"""Progressive learning vs fixed-size training on the full Fashion-MNIST (EfficientNetV2 §4).

Trains the same small architecture twice for the same number of epochs with ``nasgen.train.train``:
once at a fixed resolution, once with progressive learning (V2-S's schedule rescaled to that resolution:
``ProgressiveSchedule.for_spec``), and prints wall time, throughput and validation top-1 of both.

Data: the 60,000 training and 10,000 test images of Fashion-MNIST (the test images are the validation set),
from the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``) or
``$NASGEN_FASHION_MNIST``.

Usage:
    python benchmarks/progressive.py                 # 4 epochs, 28 px, 2 threads
    python benchmarks/progressive.py --epochs 8 --threads 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from nasgen.data import load_dataset, split
from nasgen.spec import loads_spec
from nasgen.train import ProgressiveSchedule, train

# A small EfficientNetV2-style network: a Fused-MBConv stage, then MBConv+SE; total stride 8;
# 516,832 MACs and 18,896 parameters at 28 px (conv + linear MACs, DESIGN.md).
ARCH = """\
name: bench-tiny
in_channels: 1
resolution_px: 28
stem: {out_channels: 16, kernel_size: 3, stride: 2}
stages:
- {kind: fused_mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 24}
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 3, out_channels: 40, se_ratio: 0.25}
head_channels: 128
num_classes: 10
dropout: 0.2
drop_path_rate: 0.0
"""

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--resolution", type=int, default=28, help="final resolution (px); 28 = native")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-images", type=int, default=None, help="subsample (quick checks only)")
    parser.add_argument("--out", type=Path, default=None, help="keep the run directories here")
    parser.add_argument(
        "--only", choices=("fixed", "progressive"), default=None,
        help="run one arm (run both arms as two processes at once so they share a busy CPU alike)",
    )  # fmt: skip
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    dataset = load_dataset("fashion-mnist", max_images=args.max_images, seed=args.seed)
    train_set, val_set = split(dataset, None if args.max_images is None else 1 / 7, seed=args.seed)
    spec = loads_spec(ARCH, file="<benchmark arch>").replace(resolution_px=args.resolution)
    schedule = ProgressiveSchedule.for_spec(spec, num_stages=min(4, args.epochs))
    sizes = [s.image_size_px for s in schedule.stages(args.epochs)]
    print(f"data: {dataset.name}, {len(train_set)} train / {len(val_set)} val images, 28x28 grey")
    print(f"arch: {spec.display()}, head {spec.head_channels}, {args.resolution} px")
    print(
        f"recipe: {args.epochs} epochs, AdamW lr 3e-3 cosine, warm-up 0.3 epoch, label smoothing 0.1, "
        f"batch {args.batch_size}, seed {args.seed}, CPU, torch threads {args.threads} "
        f"(machine shared with other jobs: wall times are upper bounds)"
    )
    print(
        f"progressive: {schedule.num_stages} stages, sizes {sizes} px, dropout {schedule.dropout}, "
        f"RandAugment magnitude {schedule.randaug_magnitude} (N={schedule.randaug_num_ops}), "
        f"mixup {schedule.mixup_alpha}"
    )
    root = args.out or Path(tempfile.mkdtemp(prefix="nasgen-bench-"))
    results = {}
    arms = [("fixed", False), ("progressive", True)]
    for name, progressive in [arm for arm in arms if args.only in (None, arm[0])]:
        start = time.perf_counter()
        result = train(
            spec, (train_set, val_set), epochs=args.epochs, out=root / name, progressive=progressive,
            warmup_epochs=0.3, batch_size=args.batch_size, seed=args.seed, device="cpu",
        )  # fmt: skip
        wall = time.perf_counter() - start
        results[name] = (wall, result)
        per_epoch = ", ".join(f"{r['image_size_px']}px {r['val_top1']:.4f}" for r in result.metrics)
        print(f"{name:>12}: {wall:7.1f} s wall, top-1 {result.val_top1:.4f}  [{per_epoch}]", flush=True)
    print()
    print(f"{'run':>12} {'wall s':>8} {'img/s':>8} {'top-1':>8}")
    for name, (wall, result) in results.items():
        mean_ips = sum(r["images_per_s"] for r in result.metrics) / len(result.metrics)
        print(f"{name:>12} {wall:8.1f} {mean_ips:8.0f} {result.val_top1:8.4f}")
    if len(results) < 2:
        return
    (fixed_wall, fixed), (prog_wall, prog) = results["fixed"], results["progressive"]
    print(
        f"progressive / fixed: wall time x{prog_wall / fixed_wall:.2f}, "
        f"top-1 {100 * (prog.val_top1 - fixed.val_top1):+.2f} points"
    )


if __name__ == "__main__":
    main()
