"""A search on your own images: an ImageFolder tree (``ROOT/<class>/<image>.png``).

To have real images without downloading anything, the script first writes a tiny ImageFolder of
Fashion-MNIST photos taken from nasgen's embedded data (``nasgen.data.load_dataset(None)``); point ``--data``
at your own tree instead. It then searches the space of examples/small_space.yaml under a small MACs budget:
2 trials, each a 1-epoch proxy training on a few hundred images (seconds on a CPU). The run directory holds
``study.db``, ``best.yaml`` and ``leaderboard.csv``; the command-line equivalent is
``nasgen search --budget 5M --space examples/small_space.yaml --data ROOT --n-trials 2 --epochs 1``.

Run: ``python examples/search_imagefolder.py [--out runs/examples/imagefolder] [--per-class 30]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

import nasgen
from nasgen.data import load_dataset

HERE = Path(__file__).parent


def write_imagefolder(root: Path, per_class: int) -> int:
    """Write ``per_class`` embedded Fashion-MNIST images of each class as PNG files; the number written."""
    data = load_dataset(None)
    written = {name: 0 for name in data.classes}
    for image, label in zip(data.images, data.labels):
        name = data.classes[int(label)]
        if written[name] < per_class:
            folder = root / name.replace("/", "-")
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image[:, :, 0]).save(folder / f"{written[name]:04d}.png")  # (H, W) grey
            written[name] += 1
    return sum(written.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/examples/imagefolder"))
    parser.add_argument("--per-class", type=int, default=30, help="images per class written to the tree")
    parser.add_argument("--data", type=Path, default=None, help="your own ImageFolder tree (skips writing one)")
    args = parser.parse_args()

    root = args.data
    if root is None:
        root = args.out / "images"
        print(f"wrote {write_imagefolder(root, args.per_class)} images to {root}")
    result = nasgen.run_search(
        "5M",
        space=HERE / "small_space.yaml",
        data=root,
        n_trials=2,
        epochs=1,
        out=args.out / "run",
        timeout=300,
        seed=0,
    )
    best = result.best_spec
    print(f"classes: {best.num_classes}")
    print(f"best: trial {result.best_trial}, val top-1 {result.best_value:.3f}, "
          f"{nasgen.count_cost(best).macs} MACs, {' '.join(best.display())}")
    print(f"best.yaml: {result.out / 'best.yaml'}")


if __name__ == "__main__":
    main()
