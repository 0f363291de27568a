"""Datasets for proxy and full training: the embedded Fashion-MNIST subset, IDX, ImageFolder, ``.npz``.

:func:`load_dataset` is the one entry point, for the Python API and the CLI alike. Small data (the embedded
subset, Fashion-MNIST, IDX, ``.npz``) lives in memory as an :class:`ImageDataset` of uint8 numpy arrays
``(N, H, W, C)``; :mod:`nasgen.data._tensors` turns them into torch tensors resized once per resolution (imported
lazily, so loading data does not import torch). A user's ImageFolder tree or ``path,label`` list is instead an
:class:`ImageFiles` — paths and labels, nothing decoded — streamed at its real resolution by DataLoader workers
(``nasgen.data._stream``) or decoded once into the proxy's cache (``proxy_cache``); ``files[i]`` and
``files.transformed(R, train=…)`` make it a torch dataset. ``load_dataset(folder, in_memory=True)`` is the eager
read. See ``docs/streaming.md``.

Example:
    >>> from nasgen.data import load_dataset, split
    >>> data = load_dataset()  # the embedded subset
    >>> train, val = split(data)
    >>> len(train), len(val), data.images.shape[1:]
    (10000, 2000, (28, 28, 1))
"""

from nasgen.data._cache import ProxyCache, proxy_cache
from nasgen.data._config import DataConfig, read_safetensors_metadata
from nasgen.data._dataset import DataReport, ImageDataset, split, stratified_order
from nasgen.data._files import ImageFiles, open_image_files
from nasgen.data._fingerprint import data_fingerprint
from nasgen.data._sources import embedded_path, load_dataset

__all__ = [
    "DataConfig",
    "DataReport",
    "ImageDataset",
    "ImageFiles",
    "ProxyCache",
    "data_fingerprint",
    "embedded_path",
    "load_dataset",
    "open_image_files",
    "proxy_cache",
    "read_safetensors_metadata",
    "split",
    "stratified_order",
    # torch side, imported on first use (loading data does not import torch)
    "channel_stats",
    "images_at",
    "labels_of",
    "normalize",
]

_TORCH_SIDE = ("channel_stats", "images_at", "labels_of", "normalize")


def __getattr__(name: str):
    # the tensor views of a dataset (nasgen/data/_tensors.py) import torch; this keeps `import nasgen.data` light
    if name in _TORCH_SIDE:
        from nasgen.data import _tensors

        return getattr(_tensors, name)
    raise AttributeError(f"module 'nasgen.data' has no attribute {name!r}")
