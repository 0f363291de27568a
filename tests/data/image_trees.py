"""Small ImageFolder trees for the streaming tests: two learnable classes at mixed sizes, JPEG and PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

#: (width, height) of the images, cycled: different sizes and aspect ratios, none square at 64 px.
SIZES = ((96, 72), (120, 160), (200, 150), (80, 80), (144, 112))


def make_tree(root: Path, n_per_class: int = 24, seed: int = 0) -> Path:
    """``root/red/*.jpg|png`` (reddish noise) and ``root/blue/*`` (bluish noise), sizes cycling through SIZES."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(("blue", "red")):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            width, height = SIZES[i % len(SIZES)]
            pixels = rng.integers(0, 96, size=(height, width, 3), dtype=np.uint8)
            pixels[..., 0 if name == "red" else 2] += 150
            suffix = ".png" if i % 3 == 0 else ".jpg"
            Image.fromarray(pixels).save(folder / f"{name}_{i:03d}{suffix}", quality=90)
    return root
