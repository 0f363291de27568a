"""The identity of a dataset by its content, not its path: what runs and supernets record and compare."""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["data_fingerprint"]


def data_fingerprint(dataset: Any, samples: int = 256) -> str:
    """The identity of a dataset by content, not path: image count and shape, classes, and a SHA-256 over the
    class names, every label and ``samples`` evenly spaced images (the same data at another path on another
    machine gives the same fingerprint).

    Returns:
        E.g. ``"12000 images 28x28x1, 10 classes, sha256 3f2a…"`` (16 hex digits).
    """
    import os

    import numpy as np

    labels = np.asarray(dataset.labels)
    count = len(labels)
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, dataset.classes)).encode())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    picks = np.linspace(0, count - 1, num=min(samples, count), dtype=np.int64)
    if hasattr(dataset, "paths"):  # streamed files (ImageFiles): the bytes of sampled files, not their paths
        for index in picks:
            with open(os.fsdecode(dataset.paths[int(index)]), "rb") as handle:
                digest.update(handle.read())
        return f"{count} image files, {len(dataset.classes)} classes, sha256 {digest.hexdigest()[:16]}"
    images = dataset.images
    for index in picks:
        digest.update(np.ascontiguousarray(np.asarray(images[int(index)])).tobytes())
    shape = "x".join(str(d) for d in np.asarray(images[0]).shape)
    return f"{count} images {shape}, {len(dataset.classes)} classes, sha256 {digest.hexdigest()[:16]}"
