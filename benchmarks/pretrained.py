"""Does fine-tuning pay? Pretrained B0 against training from scratch on classes it never saw (issue 28).

Fashion-MNIST split by class: data set A = classes 0–4 (T-shirt/top, trouser, pullover, dress, coat), data set
B = classes 5–9 (sandal, shirt, sneaker, bag, ankle boot). One B0 is pretrained on A (``pretrain``, seed 0,
``--pretrain-epochs``); then on B, each over ``--seeds`` seeds and all with ``nasgen.train.train``'s recipe
(AdamW, warm-up, cosine, label smoothing 0.1, BN re-estimated before each evaluation):

* ``finetune``: B0 from the pretrained weights (``init=``: every tensor but the classifier; the body at
  ``lr × pretrained_lr_ratio``, the config's default 0.1), ``--epochs`` epochs;
* ``finetune-full-lr``: the same with ``pretrained_lr_ratio=1`` (body and head at ``lr``);
* ``scratch``: B0 from scratch, the same epochs;
* ``scratch-equal-time``: from scratch for the epochs that fit ``finetune``'s mean training time (run only when
  that differs from ``--epochs``: both arms train the same network, so it rarely does);
* ``scratch-total-time``: from scratch for the epochs that fit pretraining + fine-tuning (what it costs to make
  the weights yourself);
* ``inherit``: a smaller architecture, at most half of B0's MACs, fine-tuned from B0's pretrained weights cut
  to it by Once-for-All slicing (``init="inherit:…"``), ``--epochs`` epochs; ``inherit-full-lr`` likewise at
  ``pretrained_lr_ratio=1``;
* ``inherit-scratch``: that architecture from scratch, the same epochs.

The smaller architecture is ``--searched FILE`` (e.g. a search's ``best.yaml``), else the first architecture of
the built-in ``efficientnet-v1`` space sampled with seeds 0, 1, … that B0 holds (a sub-architecture: no wider,
deeper or larger-kernel stage) and that costs at most half of B0's MACs at the benchmark's resolution.

Every run is resumable: its run directory (``--work``, default ``runs/bench-pretrained/<tag>/``, git-ignored)
keeps ``nasgen train``'s checkpoint, and its result is cached as JSON in
``benchmarks/results/pretrained/<tag>/<arm>-s<seed>.json``; rerunning the same command skips what is done and
prints the table. Times are the runs' training seconds (``FullTrainResult.train_seconds``) and the process's CPU
seconds; the equal-time arms are sized by CPU seconds on the CPU (on a shared machine the wall clock follows the
neighbours) and by training seconds on a GPU. A run resumed after an interruption records the CPU seconds of
its last session only. ``--quick`` is a
smoke run (700 images, 32 px, 1 epoch, 1 seed) that checks the script, not a measurement.

Usage:
    python benchmarks/pretrained.py --quick
    python benchmarks/pretrained.py --resolution 64 --pretrain-epochs 10 --epochs 5 --seeds 3 --threads 16
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from nasgen.cost import count_cost
from nasgen.data import ImageDataset, load_dataset, split
from nasgen.errors import NasgenError
from nasgen.nn import build_model, inherit_state_dict
from nasgen.space import load_space
from nasgen.spec import ArchSpec, load_spec
from nasgen.train import inherit_stage_map, train

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pretrained"
CLASSES_A, CLASSES_B = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)


def _classes(dataset: ImageDataset, keep: tuple[int, ...], name: str) -> ImageDataset:
    """The images of classes ``keep``, relabelled 0 … len(keep) − 1."""
    mask = np.isin(dataset.labels, keep)
    relabel = {old: new for new, old in enumerate(keep)}
    labels = np.array([relabel[int(label)] for label in dataset.labels[mask]], dtype=np.int64)
    return ImageDataset(dataset.images[mask], labels, [dataset.classes[i] for i in keep], name)


def _data(max_images: int | None) -> dict[str, tuple[ImageDataset, ImageDataset]]:
    dataset = load_dataset("fashion-mnist", max_images=max_images, seed=0)
    train_set, val_set = split(dataset, None if max_images is None else 1 / 7, seed=0)
    return {part: (_classes(train_set, keep, f"fashion-mnist {part} train"),
                   _classes(val_set, keep, f"fashion-mnist {part} val"))
            for part, keep in (("A", CLASSES_A), ("B", CLASSES_B))}  # fmt: skip


def _searched(b0: ArchSpec, args) -> ArchSpec:
    if args.searched is not None:
        return load_spec(args.searched).replace(resolution_px=args.resolution)
    space, limit = load_space("efficientnet-v1"), count_cost(b0).macs / 2
    state = build_model(b0).state_dict()
    for seed in range(10_000):
        candidate = space.sample(seed, num_classes=b0.num_classes, in_channels=b0.in_channels,
                                 name=f"v1-sample-{seed}").replace(resolution_px=args.resolution)  # fmt: skip
        if count_cost(candidate).macs > limit:
            continue
        try:  # what `init="inherit:…"` does: B0's weights must hold every tensor of the candidate
            inherit_state_dict(b0, state, candidate, stage_map=inherit_stage_map(b0, candidate), copy=False)
        except NasgenError:
            continue
        return candidate
    raise SystemExit("no sample of efficientnet-v1 within half of B0's MACs that B0 holds")


def _run(arm: str, seed: int, epochs: int, spec: ArchSpec, data, args, tag: str, **settings) -> dict:
    path = RESULTS / tag / f"{arm}-s{seed}.json"
    if path.exists():
        return json.loads(path.read_text())
    out = args.work / tag / f"{arm}-s{seed}"
    cpu_start = time.process_time()
    result = train(spec, data, epochs=epochs, out=out, seed=seed, device=args.device, batch_size=args.batch_size,
                   lr=args.lr, **settings)  # fmt: skip
    record = {
        "arm": arm, "seed": seed, "epochs": epochs, "train_s": result.train_seconds, "val_top1": result.val_top1,
        "cpu_s": time.process_time() - cpu_start, "device": str(args.device or "default"),
        "val_top1_per_epoch": [row["val_top1"] for row in result.metrics], "arch": spec.name,
        "macs": count_cost(result.spec).macs, "params": count_cost(result.spec).params, "threads": args.threads,
        "init": result.init.lines() if result.init is not None else None, "out": str(out),
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    print(f"{arm} seed {seed}: top-1 {record['val_top1']:.4f}, {record['train_s']:.0f} s", flush=True)
    return record


def _records(tag: str, arm: str) -> list[dict]:
    """The cached records of ``arm`` (``inherit-s0.json``, never ``inherit-scratch-s0.json``), by seed."""
    paths = [p for p in (RESULTS / tag).glob(f"{arm}-s*.json") if p.stem[len(arm) + 2:].isdigit()]
    return sorted((json.loads(p.read_text()) for p in paths), key=lambda record: record["seed"])


def _mean(records: list[dict], key: str) -> float:
    return statistics.mean(r[key] for r in records)


def _table(tag: str) -> None:
    print("\n| arm | architecture | MACs | epochs | seeds | top-1 % mean ± sd | train s mean | CPU s mean |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    order = ["pretrain", "finetune", "finetune-full-lr", "scratch", "scratch-equal-time", "scratch-total-time",
             "inherit", "inherit-full-lr", "inherit-scratch"]  # fmt: skip
    for arm in order:
        records = _records(tag, arm)
        if not records:
            continue
        top1 = [100 * r["val_top1"] for r in records]
        sd = f"{statistics.stdev(top1):.2f}" if len(top1) > 1 else "n/a"
        print(f"| {arm} | {records[0]['arch']} | {records[0]['macs'] / 1e6:.1f}M | {records[0]['epochs']} | "
              f"{len(records)} | {statistics.mean(top1):.2f} ± {sd} | {_mean(records, 'train_s'):.0f} | "
              f"{_mean(records, 'cpu_s'):.0f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="efficientnet-b0", help="the pretrained architecture (built-in or YAML)")
    parser.add_argument("--searched", type=Path, default=None, help="the smaller architecture for inherit (YAML)")
    parser.add_argument("--resolution", type=int, default=64, help="training resolution (px); 28-px images upsampled")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5, help="epochs of every run on data set B")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. SEEDS-1 of the runs on B")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (the head's when fine-tuning)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-images", type=int, default=None, help="stratified subset of Fashion-MNIST")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--device", default=None, help="cpu / cuda (default: CUDA when available)")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-pretrained", help="run directories")
    parser.add_argument("--quick", action="store_true", help="smoke run: 700 images, 32 px, 1 epoch, 1 seed")
    args = parser.parse_args()
    if args.quick:
        args.max_images, args.resolution, args.pretrain_epochs, args.epochs, args.seeds = 700, 32, 1, 1, 1
    torch.set_num_threads(args.threads)
    data = _data(args.max_images)
    b0 = load_spec(args.arch).replace(resolution_px=args.resolution, in_channels=1, num_classes=len(CLASSES_B))
    small = _searched(b0, args)
    tag = (f"{b0.name}-{args.resolution}px-pre{args.pretrain_epochs}-ep{args.epochs}-{args.max_images or 'full'}"
           f"-b{args.batch_size}-lr{args.lr:g}{'-quick' if args.quick else ''}")  # fmt: skip
    print(f"data: A {len(data['A'][0])} train / {len(data['A'][1])} val, B {len(data['B'][0])} / {len(data['B'][1])};"
          f" {b0.name} {count_cost(b0).macs / 1e6:.1f}M MACs, {small.name} {count_cost(small).macs / 1e6:.1f}M MACs "
          f"({' '.join(small.display())}) at {args.resolution} px; threads {args.threads}; cache {RESULTS / tag}",
          flush=True)  # fmt: skip
    pretrain = _run("pretrain", 0, args.pretrain_epochs, b0, data["A"], args, tag)
    weights = Path(pretrain["out"]) / "weights.safetensors"
    for seed in range(args.seeds):  # seed by seed, so an interrupted run leaves the arms comparable
        _run("finetune", seed, args.epochs, b0, data["B"], args, tag, init=str(weights))
        _run("finetune-full-lr", seed, args.epochs, b0, data["B"], args, tag, init=str(weights),
             pretrained_lr_ratio=1.0)  # fmt: skip
        _run("scratch", seed, args.epochs, b0, data["B"], args, tag)
        _run("inherit", seed, args.epochs, small, data["B"], args, tag, init=f"inherit:{weights.parent}")
        _run("inherit-full-lr", seed, args.epochs, small, data["B"], args, tag, init=f"inherit:{weights.parent}",
             pretrained_lr_ratio=1.0)  # fmt: skip
        _run("inherit-scratch", seed, args.epochs, small, data["B"], args, tag)
    done = {arm: _records(tag, arm) for arm in ("finetune", "scratch")}
    # CPU seconds on the CPU (a shared machine's wall clock follows its neighbours), training seconds on a GPU
    clock = "cpu_s" if args.device == "cpu" or (args.device is None and not torch.cuda.is_available()) else "train_s"
    per_epoch = _mean(done["scratch"], clock) / args.epochs
    for arm, seconds in (("scratch-equal-time", _mean(done["finetune"], clock)),
                         ("scratch-total-time", pretrain[clock] + _mean(done["finetune"], clock))):
        epochs = max(1, math.floor(seconds / per_epoch))
        print(f"{arm}: {seconds:.0f} {clock} fit {epochs} epochs from scratch ({per_epoch:.0f} per epoch)", flush=True)
        if epochs != args.epochs:
            for seed in range(args.seeds):
                _run(arm, seed, epochs, b0, data["B"], args, tag)
    _table(tag)


if __name__ == "__main__":
    main()
