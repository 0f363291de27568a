"""Why a progressive run diverges in its first stage (issue 20): first-epoch training loss of B0 under variants.

Trains EfficientNet-B0 for the first epoch of a 4-epoch run (so warm-up and cosine are those of the real run) on
a subset of the embedded Fashion-MNIST, under the full-training recipe of ``nasgen train`` and variants of it,
and prints the loss of its first batch (before any update), the mean training loss of that epoch (divergence:
above ln(num_classes) = 2.303) and the validation top-1 after it (eval mode, with and without BatchNorm
recalibration). Variants 7–8 compare the classifier initializations of ``nasgen.nn.CLASSIFIER_INITS``.

Usage:
    python benchmarks/progressive_first_epoch.py --images 4000 --threads 2
    python benchmarks/progressive_first_epoch.py --only 4,7,8 --steps   # per-step losses too
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
#: ``for_run``; None: fixed size), zero-init residual?, spec changes, classifier init)
VARIANTS = {
    "full recipe, V2-S-rescaled stage 1": ({}, "v2s", False, {}, "torchvision"),
    "+ zero-init residual": ({}, "v2s", True, {}, "torchvision"),
    "+ zero-init, no label smoothing": ({"label_smoothing": 0.0}, "v2s", True, {}, "torchvision"),
    "no RandAugment/dropout (fixed, same px)": ({}, None, False, {}, "torchvision"),
    "for_run stage 1 + zero-init": ({}, "run", True, {}, "torchvision"),
    "4, drop path 0": ({}, "run", True, {"drop_path_rate": 0.0}, "torchvision"),
    "4, drop path 0, warm-up 0.1 lr 6e-3": ({"warmup_epochs": 0.1, "lr": 6e-3}, "run", True,
                                            {"drop_path_rate": 0.0}, "torchvision"),
    "4, classifier max_fan (nasgen train)": ({}, "run", True, {}, "max_fan"),
    "4, classifier zeros": ({}, "run", True, {}, "zeros"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000, help="training images (embedded subset)")
    parser.add_argument("--resolution", type=int, default=64, help="final resolution of the 4-epoch run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="comma-separated variant indices")
    parser.add_argument("--steps", action="store_true", help="print every step's loss")
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
    for index, (name, (changes, progressive, zero_init, spec_changes, head)) in enumerate(VARIANTS.items()):
        if index not in chosen:
            continue
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(args.seed)
            model = build_model(spec.replace(**spec_changes), classifier_init=head)
        if zero_init:
            zero_init_residual(model)
        chosen_schedule = {"v2s": schedule, "run": run_schedule}.get(progressive)
        settings = progressive_settings(chosen_schedule, 4) if chosen_schedule is not None else None
        trainer = Trainer(model, train_set, val_set, base.replace(**changes), seed=args.seed, device="cpu",
                          epoch_settings=settings)
        losses: list[float] = []
        step = trainer._step  # each step's loss is computed before that step's update

        def recorded(x, y, mixup_alpha, step=step, losses=losses):
            loss = step(x, y, mixup_alpha)
            losses.append(loss.item())
            return loss

        trainer._step = recorded
        start = time.perf_counter()
        torch.manual_seed(args.seed * 1_000_003)
        loss = trainer.train_epoch(0)
        seconds = time.perf_counter() - start
        raw_top1, _ = trainer.evaluate(stage.image_size_px)
        trainer.recalibrate_bn(stage.image_size_px, 0)
        top1, _ = trainer.evaluate(stage.image_size_px)
        flag = "DIVERGED" if loss > math.log(10) else "ok"
        print(f"[{index}] {name:42s} first batch {losses[0]:.3f}, epoch loss {loss:.3f} ({flag}), val top-1 "
              f"{raw_top1:.4f} running BN / {top1:.4f} recalibrated, {seconds:.0f} s", flush=True)
        if args.steps:
            print("    steps: " + ", ".join(f"{v:.2f}" for v in losses), flush=True)


if __name__ == "__main__":
    main()
