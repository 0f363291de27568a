"""Reading IDX files, the format of MNIST and Fashion-MNIST (LeCun et al., "THE MNIST DATABASE").

An IDX file is a big-endian header — two zero bytes, a type code (``0x08`` = unsigned byte), the number
of dimensions — then one big-endian ``uint32`` per dimension, then the data. Files may be gzipped.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from nasgen.errors import DataError

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_DIR", "find_idx_pair", "load_idx_folder", "read_idx"]

#: Where the Debian package ``dataset-fashion-mnist`` installs the four gzipped IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Class names of Fashion-MNIST, in label order (Xiao, Rasul & Vollgraf, 2017, Table 1).
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a numpy array.

    Args:
        path: The ``*-idx3-ubyte`` / ``*-idx1-ubyte`` file, with or without ``.gz``.

    Returns:
        The array with the shape from the header, e.g. ``(N, 28, 28)`` uint8 images or ``(N,)`` labels.

    Raises:
        DataError: The file cannot be read, is not IDX, or its size disagrees with its header.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read IDX file ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (magic bytes {raw[:4].hex() or 'missing'})")
    n_dims = raw[3]
    header_end = 4 + 4 * n_dims
    if n_dims == 0 or len(raw) < header_end:
        raise DataError(f"{path}: malformed IDX header ({n_dims} dimensions, {len(raw)} bytes)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header_end != expected:
        raise DataError(
            f"{path}: malformed IDX file: header shape {shape} needs {expected} data bytes, "
            f"found {len(raw) - header_end}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape).astype(dtype.newbyteorder("="))


def find_idx_pair(folder: Path, prefix: str) -> tuple[Path, Path] | None:
    """Find ``{prefix}-images-idx3-ubyte[.gz]`` and ``{prefix}-labels-idx1-ubyte[.gz]`` in ``folder``."""
    found = []
    for kind, dims in (("images", 3), ("labels", 1)):
        stem = f"{prefix}-{kind}-idx{dims}-ubyte"
        hits = [folder / name for name in (stem, stem + ".gz") if (folder / name).is_file()]
        if not hits:
            return None
        found.append(hits[0])
    return found[0], found[1]


def load_idx_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Load the ``train`` and ``t10k`` IDX pairs of an MNIST-style folder.

    Args:
        folder: A folder holding ``train-*`` and/or ``t10k-*`` IDX pairs.

    Returns:
        ``(images, labels, test_index)``: uint8 images ``(N, H, W)``, int64 labels ``(N,)`` (train pair first),
        and the indices of the ``t10k`` images (``None`` when there is no test pair or no train pair).

    Raises:
        DataError: No IDX pair in the folder, malformed files, or image and label counts that disagree.
    """
    parts = []
    for prefix in ("train", "t10k"):
        pair = find_idx_pair(folder, prefix)
        if pair is None:
            continue
        images, labels = read_idx(pair[0]), read_idx(pair[1])
        if images.ndim != 3 or labels.ndim != 1:
            raise DataError(
                f"{pair[0]}: expected images (N, H, W) and labels (N,), got {images.shape} and {labels.shape}"
            )
        if len(images) != len(labels):
            raise DataError(f"{pair[0]}: {len(images)} images but {len(labels)} labels in {pair[1].name}")
        parts.append((images, labels.astype(np.int64)))
    if not parts:
        raise DataError(
            f"{folder}: no IDX files (expected train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])"
        )
    if len({p[0].shape[1:] for p in parts}) != 1:
        raise DataError(f"{folder}: train and t10k images differ in size: {[p[0].shape[1:] for p in parts]}")
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    test_index = np.arange(len(parts[0][0]), len(images)) if len(parts) == 2 else None
    return images, labels, test_index
