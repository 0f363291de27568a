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

from nasgen.data._cache import DEFAULT_PROXY_IMAGES, ProxyCache, open_proxy_cache, proxy_cache
from nasgen.data._config import DataConfig, read_safetensors_metadata
from nasgen.data._dataset import DataReport, ImageDataset, split, stratified_order
from nasgen.data._files import ImageFiles, open_image_files
from nasgen.data._fingerprint import fingerprint
from nasgen.data._sources import embedded_path, load_dataset

# torch-side names, imported on first use so that loading data does not import torch
_LAZY = {
    "images_at": "nasgen.data._tensors",
    "labels_of": "nasgen.data._tensors",
    "channel_stats": "nasgen.data._tensors",
    "normalize": "nasgen.data._tensors",
    "BadImages": "nasgen.data._stream",
    "CROP_PCT": "nasgen.data._stream",
    "StreamBatch": "nasgen.data._stream",
    "make_loader": "nasgen.data._stream",
    "train_transform": "nasgen.data._stream",
    "eval_transform": "nasgen.data._stream",
    "default_loader_workers": "nasgen.data._stream",
}

__all__ = [
    *_LAZY,
    "DEFAULT_PROXY_IMAGES",
    "DataConfig",
    "DataReport",
    "ImageDataset",
    "ImageFiles",
    "ProxyCache",
    "embedded_path",
    "fingerprint",
    "load_dataset",
    "open_image_files",
    "open_proxy_cache",
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


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nasgen.data' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
