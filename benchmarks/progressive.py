"""Progressive learning vs fixed-size training on Fashion-MNIST (EfficientNetV2 §4), the evidence of issue 20.

Three arms, each over ``--seeds`` seeds, all with ``nasgen.train.train``'s recipe (AdamW 3e-3, 1 warm-up
epoch, cosine, label smoothing 0.1, zero-init residual, the classifier drawn by ``--classifier-init``, BN
re-estimated before each evaluation):

* ``fixed``: ``--epochs`` epochs at the final size ``--resolution`` (≥ 64 px; the 28-px images are upsampled);
* ``progressive``: the same epochs with ``progressive=True`` (the schedule ``ProgressiveSchedule.for_run``
  picks from the resolution, the data's 28 px and the epochs);
* ``fixed-equal-time``: fixed-size training with the epochs that fit the progressive arm's mean wall time,
  ``floor(epochs · wall(progressive) / wall(fixed))`` (run only when that is fewer than ``--epochs``).

Each run is cached as JSON in ``benchmarks/results/progressive/<tag>/<arm>-s<seed>.json``; rerunning the same
command skips what is cached (resumable), then prints top-1 mean ± sd and wall time per arm. The tag names the
architecture, final size, epochs, images, batch and classifier initialization (runs made before
``train``'s default became ``max_fan`` are under ``…-torchvision``). ``--seed-from`` starts at a later seed, so
seeds can be added one at a time; ``--only`` runs one arm; ``--stages M`` runs the progressive arm with M stages
(arm ``progressive-mM``) instead of the rule's; ``--fixed-epochs N`` adds a fixed-size arm of N epochs (``fixed-Nep``).

Data: the 60,000 training and 10,000 test images of Fashion-MNIST (the test images are the validation set),
from ``/usr/share/datasets/fashion-mnist`` or ``$NASGEN_FASHION_MNIST``; ``--max-images`` takes a stratified
subset (6/7 train, 1/7 validation) for a reduced run on a busy CPU.

Usage:
    python benchmarks/progressive.py --max-images 7000 --epochs 4 --threads 2
    python benchmarks/progressive.py --max-images 7000 --epochs 4 --seed-from 1 --seeds 3 --only progressive
    python benchmarks/progressive.py --arch efficientnet-b0 --resolution 64 --epochs 8
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch

from nasgen.data import load_dataset, split
from nasgen.spec import load_spec, loads_spec
from nasgen.train import ProgressiveSchedule, train

RESULTS = Path(__file__).parent / "results" / "progressive"

# A small EfficientNetV2-style network: a Fused-MBConv stage, then MBConv+SE; total stride 8.
ARCH = """\
name: bench-tiny
in_channels: 1
resolution_px: 64
stem: {out_channels: 16, kernel_size: 3, stride: 2}
stages:
- {kind: fused_mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 24}
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 3, out_channels: 40, se_ratio: 0.25}
head_channels: 128
num_classes: 10
dropout: 0.2
drop_path_rate: 0.0
"""


def _run(arm: str, epochs: int, progressive: bool | ProgressiveSchedule, seed: int, args, spec, data,
         tag_dir: Path) -> dict:
    path = tag_dir / f"{arm}-s{seed}.json"
    if path.exists():
        return json.loads(path.read_text())
    with tempfile.TemporaryDirectory(prefix="nasgen-bench-") as out:
        start, cpu_start = time.perf_counter(), time.process_time()
        result = train(spec, data, epochs=epochs, out=out, progressive=progressive, batch_size=args.batch_size,
                       seed=seed, device="cpu", classifier_init=args.classifier_init)  # fmt: skip
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    record = {
        "arm": arm, "seed": seed, "epochs": epochs, "wall_s": wall, "cpu_s": cpu, "val_top1": result.val_top1,
        "sizes": [int(r["image_size_px"]) for r in result.metrics],
        "train_loss": [r["train_loss"] for r in result.metrics], "val_top1_per_epoch": [r["val_top1"] for r in result.metrics],
        "threads": args.threads, "classifier_init": args.classifier_init,
    }  # fmt: skip
    tag_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    return record


def _line(arm: str, records: list[dict]) -> str:
    top1 = [100 * r["val_top1"] for r in records]
    wall = [r["wall_s"] for r in records]
    sd = statistics.stdev(top1) if len(top1) > 1 else float("nan")
    wsd = statistics.stdev(wall) if len(wall) > 1 else float("nan")
    cpu = [r["cpu_s"] for r in records if "cpu_s" in r]
    cpu_text = f"{statistics.mean(cpu):.0f}" if cpu else "n/a"
    return (f"| {arm} | {records[0]['epochs']} | {records[0]['sizes']} | {len(records)} | "
            f"{statistics.mean(top1):.2f} ± {sd:.2f} | {statistics.mean(wall):.0f} ± {wsd:.0f} | {cpu_text} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default=None, help="built-in name or YAML (default: bench-tiny)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--resolution", type=int, default=64, help="final resolution (px), at least 64")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. SEEDS-1")
    parser.add_argument("--seed-from", type=int, default=0, help="skip the seeds below this one")
    parser.add_argument("--classifier-init", default="max_fan", choices=("torchvision", "max_fan", "zeros"),
                        help="nasgen.nn.CLASSIFIER_INITS (default: nasgen.train.train's)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-images", type=int, default=None, help="stratified subset (reduced run)")
    parser.add_argument("--only", choices=("fixed", "progressive", "fixed-equal-time"), default=None)
    parser.add_argument("--stages", type=int, default=None,
                        help="M: the progressive arm uses M stages instead of the rule's min(4, epochs); cached as "
                             "arm progressive-mM beside the others")
    parser.add_argument("--fixed-epochs", type=int, default=None,
                        help="also run fixed-size training with this many epochs (arm fixed-Nep), e.g. the whole "
                             "number of epochs just above the progressive arm's time, when the equal-time arm's "
                             "floor() falls below it")
    args = parser.parse_args()
    if args.resolution < 64:
        parser.error("--resolution must be at least 64 (the issue's final size)")
    torch.set_num_threads(args.threads)
    dataset = load_dataset("fashion-mnist", max_images=args.max_images, seed=0)
    data = split(dataset, None if args.max_images is None else 1 / 7, seed=0)
    base = loads_spec(ARCH, file="<benchmark arch>") if args.arch is None else load_spec(args.arch)
    spec = base.replace(resolution_px=args.resolution)
    tag = (f"{spec.name}-{args.resolution}px-{args.epochs}ep-{args.max_images or 'full'}-b{args.batch_size}"
           f"-{args.classifier_init}")  # fmt: skip
    tag_dir = RESULTS / tag
    schedule = ProgressiveSchedule.for_run(spec, epochs=args.epochs, data_px=28, num_stages=args.stages)
    progressive_arm = "progressive" if args.stages is None else f"progressive-m{args.stages}"
    print(f"data: {len(data[0])} train / {len(data[1])} val images (28x28 grey, upsampled); arch {spec.name} at "
          f"{args.resolution} px; {args.epochs} epochs; classifier {args.classifier_init}; threads {args.threads}; "
          f"cache {tag_dir}")
    print(f"progressive schedule: sizes {[s.image_size_px for s in schedule.stages(args.epochs)]}, dropout "
          f"{schedule.dropout}, RandAugment {schedule.randaug_magnitude} x{schedule.randaug_num_ops}", flush=True)
    results: dict[str, list[dict]] = {}
    seeds = range(args.seed_from, args.seeds)
    for seed in seeds:  # seed by seed, so an interrupted run leaves both arms comparable
        for arm, progressive in (("fixed", False), (progressive_arm, True if args.stages is None else schedule)):
            if args.only not in (None, arm.split("-m")[0]):
                continue
            record = _run(arm, args.epochs, progressive, seed, args, spec, data, tag_dir)
            results.setdefault(arm, []).append(record)
            print(f"{arm} seed {seed}: top-1 {record['val_top1']:.4f}, {record['wall_s']:.0f} s", flush=True)
    if args.fixed_epochs is not None:
        for seed in seeds:
            record = _run(f"fixed-{args.fixed_epochs}ep", args.fixed_epochs, False, seed, args, spec, data, tag_dir)
            print(f"fixed-{args.fixed_epochs}ep seed {seed}: top-1 {record['val_top1']:.4f}, {record['wall_s']:.0f} s",
                  flush=True)
    if args.only in (None, "fixed-equal-time") and args.stages is None and args.fixed_epochs is None:
        walls = {arm: [json.loads(p.read_text())["wall_s"] for p in tag_dir.glob(f"{arm}-s*.json")]
                 for arm in ("fixed", "progressive")}  # fmt: skip
        if walls["fixed"] and walls["progressive"]:
            # CPU seconds when recorded: on a shared machine they follow the work, wall seconds the neighbours.
            times = {arm: [json.loads(p.read_text()).get("cpu_s") for p in tag_dir.glob(f"{arm}-s*.json")]
                     for arm in ("fixed", "progressive")}  # fmt: skip
            if all(t and None not in t for t in times.values()):
                walls = times
            ratio = statistics.mean(walls["progressive"]) / statistics.mean(walls["fixed"])
            equal = math.floor(args.epochs * ratio)
            print(f"time(progressive) / time(fixed) = {ratio:.2f} → equal-time fixed arm: {equal} epochs")
            if 1 <= equal < args.epochs:
                for seed in seeds:
                    record = _run("fixed-equal-time", equal, False, seed, args, spec, data, tag_dir)
                    results.setdefault("fixed-equal-time", []).append(record)
                    print(f"fixed-equal-time seed {seed}: top-1 {record['val_top1']:.4f}, {record['wall_s']:.0f} s",
                          flush=True)
    print()
    print("| arm | epochs | sizes px | seeds | top-1 % mean ± sd | wall s mean ± sd | CPU s mean |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    arms = sorted({p.name.rsplit("-s", 1)[0] for p in tag_dir.glob("*-s*.json")},
                  key=lambda a: (a != "fixed", a.startswith("fixed-"), a))  # every cached arm and seed
    for arm in arms:
        records = sorted((json.loads(p.read_text()) for p in tag_dir.glob(f"{arm}-s*.json")), key=lambda r: r["seed"])
        if records:
            print(_line(arm, records))


if __name__ == "__main__":
    main()
