"""Streaming memory does not grow with the dataset: RSS over an epoch stays flat while the eager decode grows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from nasgen.data._files import scan_image_folder
from nasgen.data._stream import make_loader


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _tree(root: Path, n_per_class: int) -> Path:
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = rng.integers(0, 255, size=(320, 256, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png", compress_level=0)
    return root


def test_rss_is_flat_over_an_epoch(tmp_path):
    # 320 files of 320×256 RGB: 78 MB decoded, ~25 MB per quarter of the epoch if images were kept
    files = scan_image_folder(_tree(tmp_path / "t", 160))
    order = np.random.default_rng(0).permutation(320)
    loader = make_loader(files, 64, train=True, batch_size=16, workers=0, order=order)
    rss, seen = [], 0
    for batch in loader:
        seen += len(batch.labels)
        rss.append(_rss_mb())
    assert seen == 320
    warm = max(rss[:5])  # after 80 images: allocator and transform caches warmed up
    assert max(rss) - warm < 12, (warm, max(rss))  # the remaining 240 images (59 MB decoded) leave no trace
