"""Why a progressive run diverges in its first stage (issue 20): first-epoch training loss of B0 under variants.

Trains EfficientNet-B0 for the first epoch of a 4-epoch run (so warm-up and cosine are those of the real run) on
a subset of the embedded Fashion-MNIST, under the full-training recipe of ``nasgen train`` and variants of it,
and prints the mean training loss of that epoch (divergence: above ln(num_classes) = 2.303) and the validation
top-1 after it (eval mode, with and without BatchNorm recalibration).

Usage:
    python benchmarks/progressive_first_epoch.py --images 4000 --threads 2
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from nasgen.data import load_dataset, split
from nasgen.nn import build_model
from nasgen.spec import load_spec
from nasgen.train import TrainConfig
from nasgen.train._proxy import zero_init_residual
from nasgen.train._trainer import Trainer
from nasgen.train.progressive import ProgressiveSchedule, progressive_settings

#: name → (changes to the recipe, schedule of the first stage ("v2s": V2-S rescaled, ``for_spec``; "run":
#: ``for_run``; None: fixed size), zero-init residual?, spec changes)
VARIANTS = {
    "full recipe, V2-S-rescaled stage 1": ({}, "v2s", False, {}),
    "+ zero-init residual": ({}, "v2s", True, {}),
    "+ zero-init, no label smoothing": ({"label_smoothing": 0.0}, "v2s", True, {}),
    "no RandAugment/dropout (fixed, same px)": ({}, None, False, {}),
    "for_run stage 1 + zero-init (new default)": ({}, "run", True, {}),
    "new default, drop path 0": ({}, "run", True, {"drop_path_rate": 0.0}),
    "new default, drop path 0, warm-up 0.1 lr 6e-3": ({"warmup_epochs": 0.1, "lr": 6e-3}, "run", True,
                                                      {"drop_path_rate": 0.0}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000, help="training images (embedded subset)")
    parser.add_argument("--resolution", type=int, default=64, help="final resolution of the 4-epoch run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="comma-separated variant indices")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train_set, val_set = split(load_dataset(None))
    rng = np.random.default_rng(0)
    train_set = train_set.subset(np.sort(rng.choice(len(train_set), args.images, replace=False)), "sub")
    spec = load_spec("efficientnet-b0").replace(num_classes=10, in_channels=1, resolution_px=args.resolution)
    schedule = ProgressiveSchedule.for_spec(spec, num_stages=4)
    stage = schedule.stages(4)[0]
    print(f"B0, {len(train_set)} train / {len(val_set)} val, first stage {stage.image_size_px} px, "
          f"RandAugment {stage.randaug_magnitude}, dropout {stage.dropout}; threads {args.threads}")
    base = TrainConfig(lr=3e-3, weight_decay=0.05, warmup_epochs=1.0, label_smoothing=0.1, epochs=4,
                       resolution_px=stage.image_size_px, bn_recalibration_images=2048)  # nasgen train's defaults
    chosen = [int(i) for i in args.only.split(",")] if args.only else range(len(VARIANTS))
    run_schedule = ProgressiveSchedule.for_run(spec, epochs=4, data_px=28)
    for index, (name, (changes, progressive, zero_init, spec_changes)) in enumerate(VARIANTS.items()):
        if index not in chosen:
            continue
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(args.seed)
            model = build_model(spec.replace(**spec_changes))
        if zero_init:
            zero_init_residual(model)
        chosen_schedule = {"v2s": schedule, "run": run_schedule}.get(progressive)
        settings = progressive_settings(chosen_schedule, 4) if chosen_schedule is not None else None
        trainer = Trainer(model, train_set, val_set, base.replace(**changes), seed=args.seed, device="cpu",
                          epoch_settings=settings)
        start = time.perf_counter()
        torch.manual_seed(args.seed * 1_000_003)
        loss = trainer.train_epoch(0)
        seconds = time.perf_counter() - start
        raw_top1, _ = trainer.evaluate(stage.image_size_px)
        trainer.recalibrate_bn(stage.image_size_px, 0)
        top1, _ = trainer.evaluate(stage.image_size_px)
        flag = "DIVERGED" if loss > math.log(10) else "ok"
        print(f"[{index}] {name:42s} loss {loss:.3f} ({flag}), val top-1 {raw_top1:.4f} running BN / "
              f"{top1:.4f} recalibrated, {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
