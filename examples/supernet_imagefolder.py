"""A weight-sharing supernet on your own images: trained once, then many architectures scored in seconds.

To have real images without downloading anything, the script writes a tiny ImageFolder tree of Fashion-MNIST
photos from nasgen's embedded data (as examples/search_imagefolder.py does); point ``--data`` at your own tree
instead. It derives the supernet of examples/small_space.yaml, trains it once in ``OUT/run/supernet/`` (a tiny
recipe here: one epoch of a few hundred images; ``supernet_recipe("cpu")`` is the real one), scores
``--subnets`` random architectures under the MACs budget (BatchNorm recalibrated for each, top-1 on the fixed
validation split), and writes the best one's ``arch.yaml`` and inherited ``weights.safetensors``, which
``nasgen.load`` (and ``nasgen export``) read like any trained model. Run it again: the supernet is reused.

Run: ``python examples/supernet_imagefolder.py [--out runs/examples/supernet] [--per-class 30] [--subnets 20]``
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from safetensors.torch import save_file
from search_imagefolder import write_imagefolder

import nasgen
from nasgen.data import load_dataset
from nasgen.supernet import SubnetScorer, supernet_recipe, train_supernet
from nasgen.units import parse_macs

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/examples/supernet"))
    parser.add_argument("--per-class", type=int, default=30, help="images per class written to the tree")
    parser.add_argument("--data", type=Path, default=None, help="your own ImageFolder tree (skips writing one)")
    parser.add_argument("--subnets", type=int, default=20, help="random architectures to score")
    parser.add_argument("--budget", default="5M", help="MACs budget of the architectures scored")
    args = parser.parse_args()

    root = args.data
    if root is None:
        root = args.out / "images"
        print(f"wrote {write_imagefolder(root, args.per_class)} images to {root}")
    data = load_dataset(root)
    quick = supernet_recipe("quick")
    recipe = quick.replace(train=quick.train.replace(epochs=1, images_per_epoch=256, batch_size=64, val_images=None),
                           calibration_images=128)  # fmt: skip
    run = train_supernet(HERE / "small_space.yaml", data, recipe, args.out / "run", seed=0)
    print(f"supernet: {'reused' if run.reused else 'trained'} in {run.seconds:.1f} s, "
          f"{sum(p.numel() for p in run.supernet.parameters())} shared parameters, in {run.path}")

    scorer = SubnetScorer(run.supernet, data, run.recipe)
    budget, rng, scored = parse_macs(args.budget), random.Random(0), []
    while len(scored) < args.subnets:
        spec = run.supernet.sample(rng)
        if nasgen.count_cost(spec).macs <= budget:
            scored.append((scorer.score(spec), spec))
    seconds = sum(score.seconds for score, _ in scored) / len(scored)
    best_score, best = max(scored, key=lambda item: (item[0].val_top1, -nasgen.count_cost(item[1]).macs))
    print(f"scored {len(scored)} subnets, {seconds:.2f} s each at {best_score.resolution_px} px")
    print(f"best: val top-1 {best_score.val_top1:.3f}, {nasgen.count_cost(best).macs} MACs, {' '.join(best.display())}")

    model = run.supernet.extract(best)  # an ordinary nasgen EfficientNet holding the inherited weights
    folder = args.out / "best"
    folder.mkdir(parents=True, exist_ok=True)
    nasgen.save_spec(best, folder / "arch.yaml")
    save_file({name: t.contiguous() for name, t in model.state_dict().items()}, folder / "weights.safetensors")
    loaded = nasgen.load(folder)
    print(f"nasgen.load({folder}): {type(loaded).__name__} with {sum(p.numel() for p in loaded.parameters())} params")


if __name__ == "__main__":
    main()
