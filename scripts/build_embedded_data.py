"""Build nasgen's embedded dataset: a stratified, seeded subset of Fashion-MNIST.

Reads the four gzipped IDX files of the Debian package ``dataset-fashion-mnist`` (default folder
``/usr/share/datasets/fashion-mnist``) and writes ``nasgen/data/_embedded/fashion_mnist_subset.npz``:

* ``train_images`` ``(10000, 28, 28)`` uint8 — 1,000 per class, drawn from the 60,000 training images;
* ``val_images`` ``(2000, 28, 28)`` uint8 — 200 per class, drawn from the 10,000 test images, so that the
  validation images never overlap the training images of the full dataset either;
* ``train_labels`` / ``val_labels`` ``(N,)`` uint8, ``train_index`` / ``val_index`` (positions in the source
  files), ``classes`` (names in label order) and ``seed``.

Why 10,000 + 2,000: the file must stay under ~6 MB inside the wheel (this size is 5.3 MB compressed), and the
default CPU proxy sees about 30,000 training images in its time budget, so more distinct training images
would barely be seen (docs/proxy.md). 2,000 validation images give a top-1 standard error of ~0.8 points at
85%, which is below the seed noise the proxy aims for.

Fashion-MNIST is © Zalando SE, MIT licence (see ``NOTICE`` and ``nasgen/data/_embedded/LICENSE``).

Usage:
    python scripts/build_embedded_data.py [--source DIR] [--out FILE] [--seed 0] [--train-per-class 1000]
        [--val-per-class 200]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nasgen.data._idx import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, find_idx_pair, read_idx

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "nasgen" / "data" / "_embedded" / "fashion_mnist_subset.npz"


def stratified_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``per_class`` indices of every class without replacement, returned in a seeded shuffled order."""
    picked = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < per_class:
            raise SystemExit(f"class {cls} has only {len(members)} images, {per_class} requested")
        picked.append(rng.choice(members, size=per_class, replace=False))
    return rng.permutation(np.concatenate(picked))


def build_arrays(source: Path, *, seed: int, train_per_class: int, val_per_class: int) -> dict[str, np.ndarray]:
    """Return the arrays of the embedded file (deterministic for a given source and arguments)."""
    arrays: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(seed)
    for prefix, name, per_class in (("train", "train", train_per_class), ("t10k", "val", val_per_class)):
        pair = find_idx_pair(source, prefix)
        if pair is None:
            raise SystemExit(f"{source}: no {prefix}-images/labels IDX files; install dataset-fashion-mnist")
        images, labels = read_idx(pair[0]), read_idx(pair[1])
        index = stratified_indices(labels, per_class, rng)
        arrays[f"{name}_images"] = np.ascontiguousarray(images[index], dtype=np.uint8)
        arrays[f"{name}_labels"] = labels[index].astype(np.uint8)
        arrays[f"{name}_index"] = index.astype(np.int32)
    arrays["classes"] = np.array(FASHION_MNIST_CLASSES)
    arrays["seed"] = np.array(seed, dtype=np.int64)
    return arrays


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, build the arrays and write the compressed ``.npz``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=FASHION_MNIST_DIR, help="folder of the IDX files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .npz")
    parser.add_argument("--seed", type=int, default=0, help="seed of the stratified draw")
    parser.add_argument("--train-per-class", type=int, default=1000, help="training images per class")
    parser.add_argument("--val-per-class", type=int, default=200, help="validation images per class")
    args = parser.parse_args(argv)
    arrays = build_arrays(
        args.source, seed=args.seed, train_per_class=args.train_per_class, val_per_class=args.val_per_class
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    size_mb = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({len(arrays['train_labels'])} train + {len(arrays['val_labels'])} val, {size_mb:.2f} MB)")


if __name__ == "__main__":
    main()
